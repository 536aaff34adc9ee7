"""Signals other apps listen to. scripts_api sends them and never imports the listeners."""

import logging

from django.db import transaction
from django.dispatch import Signal

# Sent once per run that reached a final status (succeeded, failed, timed_out, cancelled),
# after the commit that stored it, with `run_id`. Receivers run in the process that ended the
# run (a worker, or a web process for a cancel or a reap) and must not raise.
run_finished = Signal()

# Sent by `scripts_sync` inside its transaction, after the Script table was brought in line:
# `specs` (the catalog's `ScriptSpec` of every file published now) and `kept` (the slugs whose
# new content was rejected: they stay at their last good version, and so do their schedules).
# A receiver may return lines for `sync_scripts` to print.
scripts_synced = Signal()

# Sent by `manage.py db_worker` once it is ready to run tasks, before its loop starts: an app
# with periodic work (the schedules' tick loop) starts its own daemon thread here.
worker_started = Signal()

logger = logging.getLogger(__name__)


def announce_finished(run_id) -> None:
    """Send `run_finished` for `run_id` once the current transaction commits (at once outside
    one). A receiver that fails is logged, never raised to the worker or the request."""
    transaction.on_commit(lambda: _send(run_id))


def _send(run_id) -> None:
    for receiver, outcome in run_finished.send_robust(sender="scripts_api", run_id=run_id):
        if isinstance(outcome, Exception):
            logger.error(
                "A run_finished receiver (%s) failed for run %s: %r", receiver, run_id, outcome
            )
