"""Workers SIGKILLed at the dangerous moments of a run's life: every accepted run still ends
(or runs) within a lease and a little more, and nothing stays counted as active."""

import random
import signal
import time

import pytest
from django_tasks_db.models import DBTaskResult

from scripts_api.models import Run
from tests.conftest import wait_for
from users.roles import Level

LEASE_SECONDS = 2
FAST_LEASE = {"RUN_LEASE_SECONDS": str(LEASE_SECONDS), "RUN_HEARTBEAT_SECONDS": "0.5"}
# API.md and the issue: within RUN_LEASE_SECONDS + 30 s, whatever was killed when.
DEADLINE = LEASE_SECONDS + 30


def finished(run_id):
    return lambda: (run := Run.objects.get(pk=run_id)).is_finished and run


@pytest.mark.parametrize(
    ("point", "ending"),
    [
        # Killed before the claim commits: the run is still queued, and another worker runs it.
        ("claiming", "succeeded"),
        # Killed right after the claim: the run's lease expires and it ends as failed.
        ("claimed", "failed"),
        # Killed after recording the outcome: the outcome stands.
        ("recorded", "succeeded"),
    ],
)
def test_a_worker_killed_at_any_moment_leaves_no_run_stuck(
    point, ending, catalog, users, bearer_client, start_worker
):
    user = users[Level.WRITE]
    doomed = start_worker(crash_at=point, **FAST_LEASE)
    client = bearer_client(user)
    run_id = client.post("/api/scripts/hello/runs/", {}, format="json").json()["id"]
    assert doomed.wait(timeout=30) == -signal.SIGKILL
    start_worker(**FAST_LEASE)
    run = wait_for(finished(run_id), timeout=DEADLINE)
    assert run.status == ending
    if ending == "failed":
        assert "stopped renewing its lease" in run.error
    # Nothing is left behind: no queue task claimed for good, no run counted as active.
    wait_for(lambda: not DBTaskResult.objects.running().exists(), timeout=DEADLINE)
    assert not Run.objects.filter(user=user).active().exists()
    again = client.post("/api/scripts/hello/runs/?wait=20", {}, format="json")
    assert again.json()["status"] == "succeeded"


def test_runs_survive_workers_killed_at_random_moments(
    catalog, users, bearer_client, start_worker, settings
):
    settings.MAX_ACTIVE_RUNS_PER_USER = 10
    client = bearer_client(users[Level.WRITE])
    rng = random.Random(12)  # noqa: S311 - timing jitter for a test
    run_ids = []
    for _ in range(6):
        worker = start_worker(**FAST_LEASE)
        response = client.post(
            "/api/scripts/sleepy/runs/", {"params": {"seconds": 0.2}}, format="json"
        )
        run_ids.append(response.json()["id"])
        time.sleep(rng.uniform(0.05, 1.0))
        worker.send_signal(signal.SIGKILL)
        worker.wait()
    start_worker(**FAST_LEASE)
    for run_id in run_ids:
        run = wait_for(finished(run_id), timeout=DEADLINE)
        assert run.status in ("succeeded", "failed"), run.error
    wait_for(lambda: not DBTaskResult.objects.running().exists(), timeout=DEADLINE)
