"""Periodic cleanup in one place: `manage.py cleanup` runs every job, and running workers run
the shared ones every CLEANUP_INTERVAL_SECONDS, one worker per interval across all of them."""

import io
import itertools
import json
import uuid
from datetime import timedelta

import pytest
from django.core.management import call_command
from django.db import connection
from django.utils import timezone
from django_tasks_db.models import DBTaskResult

from audit.models import AuditEvent
from scripts_api import cleanup
from scripts_api.models import Housekeeping
from tests.conftest import wait_for
from tests.threads import run_together
from users.models import LoginSession
from users.roles import Level


def leftovers(user) -> dict[str, object]:
    """An expired login session, a queue row finished 8 days ago, an audit event 400 days old
    (past the default retention), and a fresh one of each that must stay."""
    now = timezone.now()
    for expires in (now - timedelta(hours=1), now + timedelta(hours=1)):
        LoginSession.objects.create(id=uuid.uuid4(), user=user, refresh_jti="j", expires_at=expires)
    for finished in (now - timedelta(days=8), now):
        DBTaskResult.objects.create(
            status="SUCCESSFUL", finished_at=finished, started_at=finished, run_after=finished,
            args_kwargs={"args": [], "kwargs": {}}, task_path="users.tasks.nothing",
            queue_name="default", backend_name="default", priority=0,
        )  # fmt: skip
    for age in (400, 1):
        AuditEvent.objects.create(created_at=now - timedelta(days=age), event="auth.login")
    return {
        "sessions": LoginSession.objects.filter(expires_at__lte=now),
        "queue": DBTaskResult.objects.filter(finished_at__lte=now - timedelta(days=7)),
        "audit": AuditEvent.objects.filter(created_at__lte=now - timedelta(days=365)),
    }


def assert_only_the_old_are_gone(user) -> None:
    assert LoginSession.objects.filter(user=user).count() == 1
    assert DBTaskResult.objects.filter(task_path="users.tasks.nothing").count() == 1
    assert AuditEvent.objects.filter(event="auth.login").count() == 1


def test_the_cleanup_command_runs_every_job(users, settings, tmp_path):
    settings.SCRIPT_ENVIRONMENTS_DIR = tmp_path
    user = users[Level.WRITE]
    leftovers(user)
    out = io.StringIO()
    call_command("cleanup", stdout=out)
    assert "Cleanup done." in out.getvalue()
    assert_only_the_old_are_gone(user)
    # It counts as the interval's cleanup: workers wait a whole interval after it.
    assert not cleanup.claim_interval()


def test_one_failing_job_does_not_stop_the_others(users, monkeypatch, caplog):
    user = users[Level.WRITE]
    leftovers(user)
    monkeypatch.setattr(cleanup, "SHARED_JOBS", [("no_such_command",), *cleanup.SHARED_JOBS])
    with pytest.raises(Exception, match="no_such_command"):
        call_command("cleanup", stdout=io.StringIO())
    assert_only_the_old_are_gone(user)


def test_the_interval_is_claimed_once_until_it_has_passed(db, settings):
    settings.CLEANUP_INTERVAL_SECONDS = 60
    now = timezone.now()
    assert cleanup.claim_interval(now)
    assert not cleanup.claim_interval(now + timedelta(seconds=59))
    assert cleanup.claim_interval(now + timedelta(seconds=60))
    assert Housekeeping.objects.get().last_started_at == now + timedelta(seconds=60)


@pytest.mark.skipif(connection.vendor != "postgresql", reason="PostgreSQL only")
def test_of_many_concurrent_claims_on_postgresql_exactly_one_wins(transactional_db, settings):
    settings.CLEANUP_INTERVAL_SECONDS = 60
    cleanup.mark_started(timezone.now() - timedelta(hours=1))
    for _ in range(3):
        outcomes = run_together(*[cleanup.claim_interval] * 8)
        assert outcomes.count(True) == 1, outcomes
        cleanup.mark_started(timezone.now() - timedelta(hours=1))


def cleanup_times(*workers) -> list[float]:
    """When each worker logged that it ran the periodic cleanup (seconds, from its JSON log)."""
    times = []
    for worker in workers:
        for line in worker.log_path.read_text().splitlines():
            if line.startswith("{") and "Ran the periodic cleanup jobs." in line:
                stamp = json.loads(line)["time"]
                times.append(timezone.datetime.fromisoformat(stamp).timestamp())
    return sorted(times)


def test_a_running_worker_cleans_up_without_a_restart(users, start_worker):
    user = users[Level.WRITE]
    worker = start_worker(CLEANUP_INTERVAL_SECONDS="1", RUN_LEASE_SECONDS="1.5")
    wait_for(lambda: cleanup_times(worker), timeout=30)  # its first round, on an empty table
    old = leftovers(user)  # appear while the worker runs
    wait_for(lambda: not any(rows.exists() for rows in old.values()), timeout=30)
    assert_only_the_old_are_gone(user)


@pytest.mark.skipif(connection.vendor != "postgresql", reason="PostgreSQL only")
def test_two_workers_on_postgresql_clean_up_once_per_interval(users, start_worker):
    interval = 2
    settings_env = {"CLEANUP_INTERVAL_SECONDS": str(interval), "RUN_LEASE_SECONDS": "1.5"}
    workers = [start_worker(**settings_env), start_worker(**settings_env)]
    wait_for(lambda: len(cleanup_times(*workers)) >= 5, timeout=60)
    times = cleanup_times(*workers)
    gaps = [later - earlier for earlier, later in itertools.pairwise(times)]
    # Claims are at least an interval apart; the log line follows the jobs (tolerance).
    assert min(gaps) > interval - 0.5, gaps
