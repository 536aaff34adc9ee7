"""A run's life on a worker: claim it, hold its lease, run the sandbox, record the outcome."""

import logging
import os
import shutil
import socket
import tempfile
import time
from pathlib import Path

from django.conf import settings
from django.db import transaction
from django.utils import timezone

from scripts_api import artifacts
from scripts_api.models import Run, RunStatus
from scripts_api.params import date_params
from scripts_api.sandbox import Outcome, RunSpec, SandboxError, get_sandbox

logger = logging.getLogger(__name__)

# How often a running run's cancel flag is read: cancelling takes effect within about this.
CANCEL_POLL_SECONDS = 0.25
WORKER_ID = f"{socket.gethostname()}:{os.getpid()}"[:64]


class LeaseMonitor:
    """Polled by the sandbox while a run executes: renews the lease, reports a cancel request."""

    def __init__(self, run_id, worker_id: str) -> None:
        self.run_id, self.worker_id = run_id, worker_id
        self.checked_at = self.renewed_at = time.monotonic()

    def __call__(self) -> str | None:
        now = time.monotonic()
        if now - self.renewed_at >= settings.RUN_HEARTBEAT_SECONDS:
            self.renewed_at = now
            renewed = Run.objects.filter(
                pk=self.run_id, status=RunStatus.RUNNING, worker_id=self.worker_id
            ).update(heartbeat_at=timezone.now())
            if not renewed:
                return "lost"
        if now - self.checked_at < CANCEL_POLL_SECONDS:
            return None
        self.checked_at = now
        row = Run.objects.filter(pk=self.run_id).values("status", "cancel_requested_at").first()
        if row is None or row["status"] != RunStatus.RUNNING:
            return "lost"  # the lease was taken away: stop, nothing will be recorded
        return "cancelled" if row["cancel_requested_at"] else None


def run_execute(*, run_id, worker_id: str = WORKER_ID) -> str:
    """Execute a queued run and record how it ended; returns the final status.

    A run that is no longer queued (cancelled, or already taken) is left alone.
    """
    now = timezone.now()
    claimed = Run.objects.filter(
        pk=run_id, status=RunStatus.QUEUED, cancel_requested_at__isnull=True
    ).update(status=RunStatus.RUNNING, started_at=now, heartbeat_at=now, worker_id=worker_id)
    if not claimed:
        return "skipped"
    run = Run.objects.select_related("script").get(pk=run_id)
    script = run.script
    spec = RunSpec(
        source=script.source,
        filename=script.filename,
        params=run.params,
        date_params=date_params(script.params_schema),
        timeout_seconds=script.timeout_seconds,
        memory_mb=script.memory_mb,
    )
    workdir = Path(tempfile.mkdtemp(prefix="rbas-run-"))
    found, notes = [], []
    try:
        try:
            if not script.is_published:
                outcome = Outcome(
                    "failed", None, "The script is no longer published.", "", "", None
                )
            else:
                outcome = get_sandbox().run(spec, workdir, LeaseMonitor(run.pk, worker_id))
                found, notes = artifacts.collect(workdir / "output")
        except (SandboxError, OSError) as error:  # OSError: the working folder
            logger.exception("Sandbox failure for run %s", run.pk)
            outcome = Outcome("failed", None, str(error), "", "", None)
        recorded = _record(run, worker_id, outcome, found, notes)
    finally:
        shutil.rmtree(workdir, ignore_errors=True)
    return outcome.status if recorded else "lost"


def _record(run: Run, worker_id: str, outcome: Outcome, found, notes) -> bool:
    """Store the outcome and artifacts, unless the run's lease was lost meanwhile (then it was
    already ended as failed, and nothing is kept)."""
    stderr = outcome.stderr + "".join(f"\n[artifact {note}]" for note in notes)
    with transaction.atomic():
        recorded = Run.objects.filter(
            pk=run.pk, status=RunStatus.RUNNING, worker_id=worker_id
        ).update(
            status=outcome.status,
            result=outcome.result,
            stdout=outcome.stdout,
            stderr=stderr,
            exit_code=outcome.exit_code,
            error=outcome.error,
            artifacts=[{"name": f.name, "size": f.size} for f in found],
            script_version=run.script.version,
            finished_at=timezone.now(),
            heartbeat_at=None,
        )
        if recorded:
            artifacts.store(run.pk, found)
    return bool(recorded)


def runs_reap_expired() -> int:
    """End as failed the running runs whose worker stopped renewing their lease."""
    now = timezone.now()
    return Run.objects.lease_expired(now).update(
        status=RunStatus.FAILED,
        error=(
            "The worker running this run stopped responding (it was killed or its node was "
            f"lost) and did not renew its lease for {settings.RUN_LEASE_SECONDS:g} s."
        ),
        finished_at=now,
    )
