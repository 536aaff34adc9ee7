"""Runs executed by real `manage.py db_worker` processes on the test database."""

import os
import signal
import time

from scripts_api.models import Run, RunStatus
from tests.conftest import wait_for
from users.roles import Level

FAST_LEASE = {"RUN_LEASE_SECONDS": "2", "RUN_HEARTBEAT_SECONDS": "0.5"}


def test_a_worker_runs_a_script_submitted_with_wait(catalog, users, bearer_client, start_worker):
    start_worker()
    client = bearer_client(users[Level.WRITE])
    params = {"customer": "ACME", "plan": "starter", "seats": 2, "start_date": "2025-06-01"}
    response = client.post(
        "/api/scripts/price-quote/runs/?wait=20", {"params": params}, format="json"
    )
    assert response.status_code == 200, response.json()
    run = response.json()
    assert run["status"] == "succeeded", run
    assert run["result"]["total"] == 240.0
    stored = Run.objects.get(pk=run["id"])
    assert stored.worker_id and stored.started_at <= stored.finished_at


def test_a_run_not_finished_within_wait_answers_202_with_its_current_state(
    catalog, users, bearer_client, start_worker
):
    worker = start_worker()
    wait_for(lambda: b"Starting worker" in worker.log_path.read_bytes())
    client = bearer_client(users[Level.WRITE])
    response = client.post(
        "/api/scripts/sleepy/runs/?wait=2", {"params": {"seconds": 10}}, format="json"
    )
    assert response.status_code == 202
    # Queued when the wait began, running when it ended: the answer says where it is now.
    assert response.json()["status"] == "running"
    run_id = response.json()["id"]
    assert client.get(f"/api/runs/{run_id}/?wait=1").json()["status"] == "running"


def test_cancelling_a_running_run_stops_it_within_a_second(
    catalog, users, bearer_client, start_worker
):
    start_worker()
    client = bearer_client(users[Level.WRITE])
    run_id = client.post("/api/scripts/sleepy/runs/", {}, format="json").json()["id"]
    wait_for(lambda: Run.objects.get(pk=run_id).status == RunStatus.RUNNING)
    asked = time.monotonic()
    assert client.post(f"/api/runs/{run_id}/cancel/").status_code == 202
    run = client.get(f"/api/runs/{run_id}/?wait=5").json()
    assert run["status"] == "cancelled"
    assert time.monotonic() - asked < 1.5
    assert client.post(f"/api/runs/{run_id}/cancel/").status_code == 409


def test_a_run_over_its_time_is_timed_out(catalog, users, bearer_client, start_worker):
    (catalog / "slow.py").write_text(
        '"""Slow"""\nimport time\nPOLICY = "authenticated"\nTIMEOUT_SECONDS = 1\n'
        "def main():\n    time.sleep(10)\n"
    )
    from scripts_api.services import scripts_sync

    scripts_sync()
    start_worker()
    client = bearer_client(users[Level.READ_ONLY])
    run = client.post("/api/scripts/slow/runs/?wait=10", {}, format="json").json()
    assert run["status"] == "timed_out"
    assert run["error"] == "The script ran longer than 1 s."


def test_a_worker_killed_mid_run_leaves_the_run_failed_not_running(
    catalog, users, bearer_client, start_worker
):
    doomed = start_worker(**FAST_LEASE)
    client = bearer_client(users[Level.WRITE])
    run_id = client.post("/api/scripts/sleepy/runs/", {}, format="json").json()["id"]
    wait_for(lambda: Run.objects.get(pk=run_id).status == RunStatus.RUNNING)
    os.killpg(doomed.pid, signal.SIGKILL)
    doomed.wait()
    start_worker(**FAST_LEASE)  # a surviving worker's reaper notices the expired lease
    killed_at = time.monotonic()
    run = wait_for(
        lambda: (r := Run.objects.get(pk=run_id)).status != RunStatus.RUNNING and r, timeout=30
    )
    assert run.status == RunStatus.FAILED
    assert "stopped renewing its lease" in run.error
    assert run.finished_at is not None
    assert time.monotonic() - killed_at < 60


def test_an_idle_worker_is_woken_by_a_new_run_instead_of_polling(
    catalog, users, bearer_client, start_worker
):
    worker = start_worker("--interval", "60")
    wait_for(lambda: b"Starting worker" in worker.log_path.read_bytes())
    time.sleep(0.5)  # the worker has polled once and now sleeps for up to a minute
    client = bearer_client(users[Level.READ_ONLY])
    started = time.monotonic()
    response = client.post("/api/scripts/hello/runs/?wait=10", {}, format="json")
    assert response.status_code == 200
    assert response.json()["status"] == "succeeded"
    assert time.monotonic() - started < 5


def test_a_worker_started_before_the_migrations_waits_for_them(transactional_db):
    import threading

    from django.db import connection
    from django.db.migrations.recorder import MigrationRecorder

    from scripts_api.management.commands.db_worker import wait_for_migrations

    recorder = MigrationRecorder(connection)
    missing = list(recorder.migration_qs.filter(app="scripts_api").values_list("app", "name"))
    recorder.migration_qs.filter(app="scripts_api").delete()
    waiter = threading.Thread(target=wait_for_migrations, kwargs={"poll_seconds": 0.05})
    try:
        waiter.start()
        time.sleep(0.5)
        assert waiter.is_alive()  # still waiting, not crashed
    finally:
        for app, name in missing:
            recorder.record_applied(app, name)
    waiter.join(timeout=10)
    assert not waiter.is_alive()
