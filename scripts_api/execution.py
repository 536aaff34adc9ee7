"""A run's life on a worker: claim it, hold its lease, run the sandbox, record the outcome.

A worker rides out database outages of any length: the lease monitor keeps the script running
while the database is unreachable (and renews the lease as soon as it answers again), and the
outcome is recorded once the database answers, however long that takes. A worker that dies
instead leaves a run whose lease expires: `runs_reap_expired` ends it as failed.
"""

import atexit
import contextlib
import dataclasses
import logging
import os
import queue
import socket
import tempfile
import threading
import time
from collections.abc import Callable
from datetime import timedelta
from pathlib import Path

from django.conf import settings
from django.db import DatabaseError, transaction
from django.db.models import F
from django.utils import timezone
from django_tasks import TaskResultStatus
from django_tasks_db.models import DBTaskResult

from scripts_api import artifacts, dependencies, lifecycle, versions
from scripts_api.models import ACTIVE_STATUSES, Run, RunStatus
from scripts_api.params import date_params
from scripts_api.sandbox import LiveOutput, Outcome, RunSpec, SandboxError, get_sandbox
from scripts_api.signals import announce_finished
from scripts_api.wakeup import notify_finished
from simple_rbas.database import (
    UNAVAILABLE,
    Backoff,
    call_until_available,
    discard_connection,
    is_unavailable,
    storable,
)
from vault import masking
from vault import services as vault_services

logger = logging.getLogger(__name__)

# How often a running run's cancel flag is read: cancelling takes effect within about this.
CANCEL_POLL_SECONDS = 0.25
# A running run's output and progress are stored at most this often (about twice a second).
LIVE_STORE_SECONDS = 0.5
# A run's `error` is one line for people; the details are in its stderr.
MAX_ERROR_LENGTH = 2000
WORKER_ID = f"{socket.gethostname()}:{os.getpid()}"[:64]


class LeaseMonitor:
    """Polled by the sandbox while a run executes: renews the lease, reports a cancel request
    ("cancelled") or a lease taken away ("lost"), and stores the output so far (`on_output`
    hands it over) at most every LIVE_STORE_SECONDS. While the database is unreachable the run
    goes on: the monitor retries with growing delays and renews the lease once it answers."""

    def __init__(self, run_id, worker_id: str, secrets: dict[str, str] | None = None) -> None:
        self.run_id, self.worker_id = run_id, worker_id
        self.secrets = secrets or {}  # masked in the output stored while the run goes on
        self.checked_at = self.renewed_at = time.monotonic()
        self.retry_at = 0.0
        self.backoff = Backoff(first=CANCEL_POLL_SECONDS, longest=5.0)
        self.unreachable_since: float | None = None
        self.live: LiveOutput | None = None
        self.stored_version, self.stored_at = 0, float("-inf")
        self.live_failed = False

    def on_output(self, live: LiveOutput) -> None:
        """The sandbox's callback: keep the newest output, to be stored by the next poll."""
        self.live = live

    def __call__(self) -> str | None:
        now = time.monotonic()
        if now < self.retry_at:
            return None
        try:
            verdict = self._check(now)
        except UNAVAILABLE as error:
            if not is_unavailable(error):
                raise
            if self.unreachable_since is None:
                self.unreachable_since = now
                logger.warning(
                    "Run %s goes on while the database is unreachable (%s).", self.run_id, error
                )
            discard_connection()
            self.retry_at = now + self.backoff.next()
            return None
        if self.unreachable_since is not None:
            logger.warning(
                "Run %s: the database answers again after %.1f s.",
                self.run_id,
                now - self.unreachable_since,
            )
            self.unreachable_since = None
            self.backoff.reset()
        if verdict is None:
            self._store_live(now)
        return verdict

    def _store_live(self, now: float) -> None:
        """Store the output so far if it changed and the last store is old enough; a database
        error skips this update (the outcome recorded at the end wins), never the run."""
        live = self.live
        if live is None or live.version == self.stored_version:
            return
        if now - self.stored_at < LIVE_STORE_SECONDS:
            return
        self.stored_at = now
        try:
            _store_live_output(
                run_id=self.run_id,
                worker_id=self.worker_id,
                stdout=live.stdout,
                stderr=live.stderr,
                progress=live.progress,
                secrets=self.secrets,
            )
        except DatabaseError as error:
            if not self.live_failed:  # tried again with the next poll due, said once
                logger.warning("Run %s: its live output was not stored (%s).", self.run_id, error)
            self.live_failed = True
            if is_unavailable(error):
                discard_connection()
            return
        self.stored_version = live.version

    def _check(self, now: float) -> str | None:
        if now - self.renewed_at >= settings.RUN_HEARTBEAT_SECONDS:
            renewed = Run.objects.filter(
                pk=self.run_id, status=RunStatus.RUNNING, worker_id=self.worker_id
            ).update(heartbeat_at=timezone.now())
            if not renewed:
                return "lost"  # the lease was taken away: stop, nothing will be recorded
            self.renewed_at = now
        if now - self.checked_at < CANCEL_POLL_SECONDS:
            return None
        row = Run.objects.filter(pk=self.run_id).values("status", "cancel_requested_at").first()
        self.checked_at = now
        if row is None or row["status"] != RunStatus.RUNNING:
            return "lost"
        return "cancelled" if row["cancel_requested_at"] else None


def _store_live_output(
    *,
    run_id,
    worker_id: str,
    stdout: str,
    stderr: str,
    progress: dict | None,
    secrets: dict[str, str] | None = None,
) -> bool:
    """Store a running run's output so far and its progress, provided `worker_id` still holds
    its lease (a lost lease never overwrites); the one place live output is written. The run's
    secret values are masked, and a possible start of one is held back until it is whole."""
    secrets = secrets or {}
    fields = {
        "stdout": storable(masking.mask_growing(stdout, secrets)),
        "stderr": storable(masking.mask_growing(stderr, secrets)),
    }
    if progress is not None:
        progress = {**progress, "message": masking.mask(progress["message"], secrets)}
    fields.update(_progress_fields(progress))
    updated = Run.objects.filter(pk=run_id, status=RunStatus.RUNNING, worker_id=worker_id).update(
        **fields, output_version=F("output_version") + 1
    )
    return bool(updated)


def _progress_fields(progress: dict | None) -> dict:
    if progress is None:
        return {"progress": None, "progress_message": ""}
    return {"progress": progress["fraction"], "progress_message": storable(progress["message"])}


def run_claim(*, run_id, worker_id: str) -> bool:
    """Mark a queued run as running on `worker_id`, starting its lease; False when it is not
    queued (cancelled, or taken). Workers call it in the transaction that claims the run's task,
    so that a worker killed right after the claim leaves a lease that expires, not a run that
    stays queued."""
    now = timezone.now()
    claimed = Run.objects.filter(
        pk=run_id, status=RunStatus.QUEUED, cancel_requested_at__isnull=True
    ).update(status=RunStatus.RUNNING, started_at=now, heartbeat_at=now, worker_id=worker_id)
    return bool(claimed)


def run_claimed(*, run_id, worker_id: str) -> Run | None:
    """The run `worker_id` claimed (`run_claim`), with its script; None when it holds no such
    run. A worker reads it in the transaction that claims it, rather than once more after."""
    return (
        Run.objects.select_related("script")
        .filter(pk=run_id, status=RunStatus.RUNNING, worker_id=worker_id)
        .first()
    )


def run_execute(
    *,
    run_id,
    worker_id: str = WORKER_ID,
    claimed: bool = False,
    run: Run | None = None,
    on_recorded: Callable[[str], None] | None = None,
) -> str:
    """Execute a run and record how it ended; returns the final status, "skipped" for a run
    that is not this worker's to run (cancelled, or taken), "lost" when its lease was taken away.

    `claimed`: the caller already claimed the run for `worker_id` (`run_claim`); `run`: the
    run it read then (`run_claimed`), not read again. `on_recorded(status)` is called inside
    the transaction that records the outcome, so that what it writes (the worker marks the
    run's queue task finished) commits with it, or not at all.
    """

    def load() -> Run | None:
        if not claimed:
            run_claim(run_id=run_id, worker_id=worker_id)
        return run_claimed(run_id=run_id, worker_id=worker_id)

    if run is None:
        run = call_until_available(load, what=f"starting run {run_id}")
    if run is None:
        return "skipped"
    workdir = _folders.take()
    found = []
    try:
        outcome, found, notes = _execute(run, worker_id, workdir)
        recorded = call_until_available(
            lambda: _record(run, worker_id, outcome, found, notes, on_recorded),
            what=f"recording run {run.pk}",
        )
    finally:
        artifacts.release(found)
        _folders.discard(workdir)
    return recorded or "lost"


class RunFolders:
    """Run folders made and removed on a thread of their own, off the path of runs: on some
    disks (ext4 mounted with `discard`) a folder's removal takes milliseconds. `take` hands out
    a fresh, empty folder (with its `output` and `tmp`), made in advance when possible; a
    folder given to `discard` is removed soon after (every process of its run is dead), and
    at the latest when the process exits."""

    def __init__(self) -> None:
        self._ready: queue.SimpleQueue[Path] = queue.SimpleQueue()
        self._chores: queue.SimpleQueue[Path | None] = queue.SimpleQueue()
        self._lock = threading.Lock()
        self._thread: threading.Thread | None = None

    @staticmethod
    def _make() -> Path:
        folder = Path(tempfile.mkdtemp(prefix="rbas-run-"))
        (folder / "output").mkdir()
        (folder / "tmp").mkdir()
        return folder

    def take(self) -> Path:
        self._start()
        try:
            folder = self._ready.get_nowait()
        except queue.Empty:
            folder = self._make()
        self._chores.put(None)  # make the next one
        return folder

    def discard(self, folder: Path) -> None:
        self._start()
        self._chores.put(folder)

    def _start(self) -> None:
        with self._lock:
            if self._thread is None:
                self._thread = threading.Thread(target=self._work, name="run-folders", daemon=True)
                self._thread.start()
                atexit.register(self.drain)

    def _work(self) -> None:
        while True:
            self._do(self._chores.get())

    def _do(self, chore: Path | None) -> None:
        try:
            if chore is not None:
                lifecycle.remove_tree(chore)
            elif self._ready.qsize() < 1:
                self._ready.put(self._make())
        except OSError:
            logger.exception("A run folder could not be made or removed")

    def drain(self) -> None:
        """Remove the folders still to remove, and those made in advance (at exit)."""
        for pending in (self._chores, self._ready):
            while True:
                try:
                    folder = pending.get_nowait()
                except queue.Empty:
                    break
                if folder is not None:
                    with contextlib.suppress(OSError):
                        lifecycle.remove_tree(folder)


_folders = RunFolders()


def _execute(run: Run, worker_id: str, workdir: Path):
    """Run the script in the sandbox: its outcome and the artifacts to keep. Never raises
    (but for SystemExit and KeyboardInterrupt): a failure of the worker is the run's outcome."""
    if not run.script.is_published:
        return _failed("The script is no longer published."), [], []
    script = versions.version_to_run(run)
    run.script_version = script.version  # what `_save` records: the version that ran
    try:
        # Exactly the declared secrets, checked again: one may have changed since the queueing.
        secret_values = call_until_available(
            lambda: vault_services.secrets_for_run(
                user=run.user, names=script.secrets, run_id=run.pk
            ),
            what=f"reading the secrets of run {run.pk}",
        )
    except vault_services.SecretUnavailable as error:
        return _failed(f"The run cannot have its secrets: {error}"), [], []
    except Exception as error:
        logger.exception("Run %s: its secrets could not be read", run.pk)
        return _failed(f"The worker could not read the run's secrets: {_describe(error)}"), [], []
    monitor = LeaseMonitor(run.pk, worker_id, secrets=secret_values)
    try:
        with contextlib.ExitStack() as held:
            environment = ""
            if script.dependencies:
                try:
                    environment = str(
                        held.enter_context(_environment(run, script, worker_id, monitor))
                    )
                except dependencies.Stopped as stop:
                    return _stopped(stop.verdict), [], []
                except dependencies.EnvironmentFailed as error:
                    return _failed(f"dependencies failed: {error}"), [], []
            spec = RunSpec(
                source=script.source,
                filename=script.filename,
                params=run.params,
                date_params=date_params(script.params_schema),
                timeout_seconds=script.timeout_seconds,
                memory_mb=script.memory_mb,
                run_id=str(run.pk),
                env=secret_values,
                environment=environment,
            )
            outcome = get_sandbox().run(spec, workdir, monitor, on_output=monitor.on_output)
            outcome = _masked(outcome, secret_values)
        # Every process of the run is dead by now (the sandbox server sees to it).
        found, notes = artifacts.collect(workdir)
    except (SandboxError, OSError) as error:  # OSError: the working folder
        logger.exception("Sandbox failure for run %s", run.pk)
        return _failed(f"The sandbox failed: {error}"), [], []
    except Exception as error:
        logger.exception("Run %s failed on its worker", run.pk)
        return _failed(f"The worker failed while running the script: {_describe(error)}"), [], []
    return outcome, found, notes


def _masked(outcome: Outcome, values: dict[str, str]) -> Outcome:
    """`outcome` with every secret value in its output, error and result masked, before
    anything is stored or logged (see `vault.masking`)."""
    if not values:
        return outcome
    status, error = outcome.status, masking.mask(outcome.error, values)
    try:
        result = masking.mask_json(outcome.result, values)
    except RecursionError:
        status, result = RunStatus.FAILED, None
        error = "The result is nested too deeply to be checked for secrets."
    return dataclasses.replace(
        outcome,
        status=status,
        result=result,
        error=error,
        stdout=masking.mask(outcome.stdout, values),
        stderr=masking.mask(outcome.stderr, values),
        progress=outcome.progress
        and {**outcome.progress, "message": masking.mask(outcome.progress["message"], values)},
    )


@contextlib.contextmanager
def _environment(run: Run, script, worker_id: str, monitor: LeaseMonitor):
    """The script's environment, prepared first if needed: meanwhile the run says `preparing`,
    and once the script starts, its `started_at` (and time limit) count from then."""
    building = []

    def on_build() -> None:
        if not building:
            building.append(True)
            Run.objects.filter(pk=run.pk, status=RunStatus.RUNNING, worker_id=worker_id).update(
                stage="preparing"
            )

    with dependencies.environment_use(
        requirements=script.dependencies, should_stop=monitor, on_build=on_build
    ) as folder:
        if building:
            Run.objects.filter(pk=run.pk, status=RunStatus.RUNNING, worker_id=worker_id).update(
                stage="", started_at=timezone.now()
            )
        yield folder


def _stopped(verdict: str) -> Outcome:
    """The outcome of a run cancelled (or whose lease was lost) before its script started."""
    if verdict == "cancelled":
        return Outcome("cancelled", None, "The run was cancelled.", "", "", None)
    return _failed("The run's lease was lost while its environment was prepared.")


def _failed(error: str) -> Outcome:
    return Outcome("failed", None, error, "", "", None)


def _describe(error: BaseException) -> str:
    return f"{type(error).__name__}: {error}" if str(error) else type(error).__name__


def _record(
    run: Run, worker_id: str, outcome: Outcome, found, notes, on_recorded=None
) -> str | None:
    """Store the outcome and artifacts and return the status stored; None when the run's lease
    was lost meanwhile (then it was already ended as failed, and nothing is kept). An outcome
    the database refuses is replaced by a failure that says why; an unreachable database
    propagates (the caller retries)."""
    stderr = outcome.stderr + "".join(f"\n[artifact {note}]" for note in notes)
    status, result, reason = outcome.status, outcome.result, outcome.error
    if storable(result) != result:
        # Printed text may show U+FFFD for what no database stores; a result must not change.
        status, result = RunStatus.FAILED, None
        reason = "The result holds text no database can store (a NUL or a lone surrogate)."
    fields = {
        "status": status,
        "result": result,
        "stdout": storable(outcome.stdout),
        "stderr": storable(stderr),
        "exit_code": outcome.exit_code,
        "error": storable(reason[:MAX_ERROR_LENGTH]),
        "artifacts": [{"name": f.name, "size": f.size} for f in found],
        **_progress_fields(outcome.progress),
    }
    try:
        return fields["status"] if _save(run, worker_id, fields, found, on_recorded) else None
    except DatabaseError as error:
        if is_unavailable(error):
            raise  # the caller retries until the database answers
        logger.exception("The outcome of run %s could not be stored", run.pk)
        fields = {
            "status": RunStatus.FAILED,
            "result": None,
            "stdout": "",
            "stderr": "",
            "exit_code": outcome.exit_code,
            "error": storable(
                f"The run ended ({outcome.status}) but the database refused to store its "
                f"outcome: {_describe(error)}"[:MAX_ERROR_LENGTH]
            ),
            "artifacts": [],
        }
        return fields["status"] if _save(run, worker_id, fields, [], on_recorded) else None


def _save(run: Run, worker_id: str, fields: dict, found, on_recorded=None) -> bool:
    with transaction.atomic():
        recorded = Run.objects.filter(
            pk=run.pk, status=RunStatus.RUNNING, worker_id=worker_id
        ).update(
            **fields,
            script_version=run.script_version,
            finished_at=timezone.now(),
            heartbeat_at=None,
            stage="",
        )
        if recorded:
            artifacts.store(run.pk, found)
            if on_recorded is not None:
                on_recorded(fields["status"])
    if recorded:
        notify_finished(run.pk)
        announce_finished(run.pk)
        return True
    # A retry after a commit whose acknowledgement was lost finds the run already recorded.
    return Run.objects.filter(
        pk=run.pk, worker_id=worker_id, status=fields["status"], error=fields["error"]
    ).exists()


def run_abandon(*, run_id, worker_id: str, reason: str) -> bool:
    """End a run this worker holds as failed with `reason` (the worker is stopping mid-run)."""
    now = timezone.now()
    ended = Run.objects.filter(pk=run_id, status=RunStatus.RUNNING, worker_id=worker_id).update(
        status=RunStatus.FAILED, error=reason, finished_at=now, heartbeat_at=None, stage=""
    )
    if ended:
        announce_finished(run_id)
    return bool(ended)


def runs_reap_expired(*, lease_seconds: float | None = None) -> int:
    """End as failed the running runs whose worker stopped renewing their lease (by default
    RUN_LEASE_SECONDS)."""
    lease = settings.RUN_LEASE_SECONDS if lease_seconds is None else lease_seconds
    now = timezone.now()
    reaped = 0
    # One row at a time: each run that this call ends, and only those, is announced.
    for run_id in Run.objects.lease_expired(now, lease).values_list("pk", flat=True):
        ended = (
            Run.objects.lease_expired(now, lease)
            .filter(pk=run_id)
            .update(
                status=RunStatus.FAILED,
                error=(
                    f"The worker running this run stopped renewing its lease for {lease:g} s: it "
                    "was killed, its node was lost, or it could not reach the database. The "
                    "script's outcome is unknown."
                ),
                finished_at=now,
                heartbeat_at=None,
                stage="",
            )
        )
        if ended:
            announce_finished(run_id)
        reaped += ended
    return reaped


class WorkerLost(Exception):
    """The worker holding a queue task died before marking it finished."""


def tasks_reap_orphans() -> int:
    """Mark as failed the queue tasks still `RUNNING` whose run has ended (their worker died
    between recording the run and finishing the task): queue bookkeeping only.

    A task that is not a run (an email) and has run longer than a lease lost its worker: it
    is queued again. Those tasks are safe to repeat, and a link sent twice beats one lost.
    """
    cutoff = timezone.now() - timedelta(seconds=settings.RUN_LEASE_SECONDS)
    reaped = 0
    for task in DBTaskResult.objects.running().filter(started_at__lt=cutoff):
        run_id = task.args_kwargs.get("kwargs", {}).get("run_id")
        if run_id is None:
            requeued = DBTaskResult.objects.filter(
                pk=task.pk, status=task.status, started_at=task.started_at
            ).update(status=TaskResultStatus.READY, started_at=None)
            if requeued:
                logger.warning("Task %s lost its worker: queued again.", task.task_path)
            reaped += requeued
            continue
        status = Run.objects.filter(pk=run_id).values_list("status", flat=True).first()
        if status in ACTIVE_STATUSES:
            continue
        task.set_failed(WorkerLost(f"The worker died before finishing this task; run {status}."))
        reaped += 1
    return reaped
