"""Periodic cleanup in one place: the jobs `manage.py cleanup` runs at start-up, and the queue
workers' housekeeping every CLEANUP_INTERVAL_SECONDS (one worker across all pods per interval)."""

import io
import logging
from datetime import timedelta

from django.conf import settings
from django.core.management import call_command
from django.utils import timezone

from scripts_api.models import Housekeeping

logger = logging.getLogger(__name__)

# Jobs on the shared database: one worker runs them per interval, whichever pod it is in.
SHARED_JOBS: list[tuple[str, ...]] = [
    ("purge_login_sessions",),  # login sessions past their expiry
    ("clearsessions",),  # Django's sessions (the admin's)
    ("cleartokens",),  # django-oauth-toolkit's expired and revoked tokens and grants
    # Queue bookkeeping only: the runs themselves (and their history) are kept.
    ("prune_db_task_results", "--min-age-days", "7"),
    ("prune_artifacts",),  # past RUN_ARTIFACTS_RETENTION_DAYS or over the total cap
    ("prune_audit",),  # past AUDIT_RETENTION_DAYS
    # Commands of the apps built on this one, named, never imported (imports point down).
    ("prune_notifications",),  # ended deliveries past NOTIFICATION_RETENTION_DAYS
    ("prune_schedule_ticks",),  # ticks past SCHEDULE_TICK_RETENTION_DAYS
]
# Jobs on this host's disk: every worker host runs them for itself.
HOST_JOBS: list[tuple[str, ...]] = [("prune_environments",)]
NAME = "cleanup"


def run_jobs(jobs: list[tuple[str, ...]]) -> list[str]:
    """Run each management command of `jobs`, one failure not stopping the others; return the
    names of those that failed (logged with their traceback)."""
    failed = []
    for name, *args in jobs:
        output = io.StringIO()
        try:
            call_command(name, *args, stdout=output, stderr=output)
        except Exception:
            logger.exception("Cleanup job %s failed.", name)
            failed.append(name)
        else:
            logger.info("Cleanup job %s: %s", name, output.getvalue().strip() or "done")
    return failed


def mark_started(now=None) -> None:
    """Record that the shared jobs just ran (so the workers wait a whole interval)."""
    Housekeeping.objects.update_or_create(
        name=NAME, defaults={"last_started_at": now or timezone.now()}
    )


def claim_interval(now=None) -> bool:
    """Whether this caller is the one to run the shared jobs now: a conditional UPDATE on one
    row, which of concurrent callers only one can win (the row lock serialises them, and the
    losers see the new time), on SQLite and PostgreSQL alike."""
    now = now or timezone.now()
    due = now - timedelta(seconds=settings.CLEANUP_INTERVAL_SECONDS)
    Housekeeping.objects.get_or_create(name=NAME, defaults={"last_started_at": due})
    claimed = Housekeeping.objects.filter(name=NAME, last_started_at__lte=due).update(
        last_started_at=now
    )
    return claimed == 1


def run_if_due() -> bool:
    """Run the shared jobs if no worker did in the last interval; return whether this one did."""
    if not claim_interval():
        return False
    run_jobs(SHARED_JOBS)
    return True
