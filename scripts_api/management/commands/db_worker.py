"""`manage.py db_worker`: django-tasks-db's worker, adapted to running scripts.

Compared with the library's command, this one
- claims a run together with its queue task, in one transaction, so that a worker killed at
  any moment leaves either a queued run (claimed by nobody) or a running one whose lease
  expires; never a run stuck as queued behind a task that nobody runs; the run is read in that
  transaction too, and its task is marked finished in the commit that records its outcome
  (one transaction to start a run, one to end it);
- rides out database outages of any length: it backs off, reconnects (its LISTEN connection
  too) and resumes claiming, and the run in progress goes on and is recorded once the
  database answers;
- sleeps on a wake-up (`scripts_api.wakeup`) between polls instead of a fixed interval, so a
  queued run starts within milliseconds while an idle worker barely touches the database;
  `--interval` becomes the longest sleep between polls (default 0.5 s);
- starts the sandbox server before the first task, so the first run does not pay for it;
- runs a housekeeping thread that ends as failed the runs whose worker died mid-run;
- waits for the database and its migrations instead of crashing when started before them.
"""

import logging
import threading
import time

from django.conf import settings
from django.db import (
    DatabaseError,
    OperationalError,
    close_old_connections,
    connection,
    transaction,
)
from django_tasks_db.management.commands import db_worker
from django_tasks_db.models import DBTaskResult
from django_tasks_db.utils import exclusive_transaction, is_locked_database_exception

from scripts_api import cleanup
from scripts_api.execution import (
    WORKER_ID,
    run_abandon,
    run_claim,
    run_claimed,
    run_execute,
    runs_reap_expired,
    tasks_reap_orphans,
)
from scripts_api.sandbox import get_sandbox
from scripts_api.signals import worker_started
from scripts_api.tasks import execute_run
from scripts_api.wakeup import Waker
from simple_rbas.database import (
    UNAVAILABLE,
    Backoff,
    call_until_available,
    discard_connection,
    is_unavailable,
)
from simple_rbas.health import pending_migrations

logger = logging.getLogger(__name__)
DEFAULT_INTERVAL_SECONDS = 0.5


def wait_for_migrations(poll_seconds: float = 2.0) -> None:
    """Return once the database answers and has every migration. A worker may start before
    the web has migrated (as in the stack, where both start together): it waits, not crashes."""
    said = None
    while True:
        try:
            pending = pending_migrations()
        except DatabaseError as error:
            pending, reason = -1, f"the database does not answer ({error})"
        else:
            reason = f"{pending} migrations are not applied yet"
        finally:
            connection.close()
        if pending == 0:
            return
        if reason != said:
            logger.warning("Waiting: %s.", reason)
            said = reason
        time.sleep(poll_seconds)


class Housekeeper:
    """Every third of a lease: end the runs whose lease expired, and the queue tasks their
    dead workers left running; every CLEANUP_INTERVAL_SECONDS, the shared cleanup jobs (one
    worker of all runs them: `scripts_api.cleanup`) and this host's own (its unused script
    environments).

    After the database was unreachable, it waits one more lease before reaping: live workers
    could not renew their leases either, and need a heartbeat's time to do so.
    """

    def __init__(self) -> None:
        self.period = max(settings.RUN_LEASE_SECONDS / 3, 0.5)
        self.quiet_until = 0.0
        # run_web.sh cleans up at start; a worker pod started alone asks the database at once.
        self.cleanup_at = time.monotonic()
        self.host_cleanup_at = time.monotonic() + settings.CLEANUP_INTERVAL_SECONDS

    def forever(self) -> None:
        """Run until the process exits (a daemon thread)."""
        stop = threading.Event()
        while not stop.wait(self.period):
            self.once()

    def once(self) -> None:
        """One round; any failure is logged and the next round tries again."""
        try:
            close_old_connections()
            if time.monotonic() < self.quiet_until:
                return
            reaped = runs_reap_expired()
            if reaped:
                logger.warning("Ended %d runs whose worker stopped renewing the lease.", reaped)
            tasks_reap_orphans()
            self.clean_up()
        except UNAVAILABLE as error:
            if not is_unavailable(error):
                logger.exception("Housekeeping failed; it will try again.")
                return
            logger.warning("Housekeeping: the database is unreachable (%s).", error)
            self.quiet_until = time.monotonic() + settings.RUN_LEASE_SECONDS
        except Exception:
            logger.exception("Housekeeping failed; it will try again.")
        finally:
            discard_connection()

    def clean_up(self) -> None:
        """The periodic cleanup: asking the database whether it is due costs one UPDATE, so
        it is asked at most once a minute (or once an interval, if shorter)."""
        interval = settings.CLEANUP_INTERVAL_SECONDS
        if time.monotonic() >= self.cleanup_at:
            self.cleanup_at = time.monotonic() + min(interval, 60)
            if cleanup.run_if_due():
                logger.info("Ran the periodic cleanup jobs.")
        if time.monotonic() >= self.host_cleanup_at:
            self.host_cleanup_at = time.monotonic() + interval
            cleanup.run_jobs(cleanup.HOST_JOBS)


class RunWorker(db_worker.Worker):
    """The library's worker, claiming runs with their tasks and riding out database outages."""

    def __init__(self, *, waker: Waker, **kwargs) -> None:
        super().__init__(**kwargs)
        self.waker = waker

    def claim_next(self) -> DBTaskResult | None:
        """Claim the next ready task of this worker's queues, and its run, if any."""
        tasks = DBTaskResult.objects.ready().filter(backend_name=self.backend_name)
        if not self.process_all_queues:
            tasks = tasks.filter(queue_name__in=self.queue_names)
        if self.excluded_queue_names:
            tasks = tasks.exclude(queue_name__in=self.excluded_queue_names)
        try:
            with exclusive_transaction(tasks.db):
                task_result = tasks.get_locked()
                if task_result is not None:
                    task_result.claim(self.worker_id)
                    if task_result.task_path == execute_run.module_path:
                        run_id = _run_id(task_result)
                        run_claim(run_id=run_id, worker_id=self.worker_id)
                        # Read in the same transaction: the run need not be read again.
                        task_result.claimed_run = run_claimed(
                            run_id=run_id, worker_id=self.worker_id
                        )
                return task_result
        except OperationalError as error:
            if is_locked_database_exception(error):
                return None  # another worker holds the lock; try again soon
            raise

    def run_task(self, task_result: DBTaskResult) -> None:
        """Execute a claimed task; a run's task is marked finished once the database answers."""
        if task_result.task_path != execute_run.module_path:
            return super().run_task(task_result)
        run_id = _run_id(task_result)
        finished = []

        def finish_with_the_run(status: str) -> None:
            """The task is marked finished in the commit that records the run's outcome."""
            task_result.set_successful(status)
            transaction.on_commit(lambda: finished.append(True))

        try:
            status = run_execute(
                run_id=run_id,
                worker_id=self.worker_id,
                claimed=True,
                run=getattr(task_result, "claimed_run", None),
                on_recorded=finish_with_the_run,
            )
        except BaseException as error:  # stopped by a second signal, or a bug
            reason = "The worker was stopped while running this run."
            if isinstance(error, Exception):
                logger.exception("The worker failed on run %s", run_id)
                reason = f"The worker failed while running this run: {type(error).__name__}."
            try:
                run_abandon(run_id=run_id, worker_id=self.worker_id, reason=reason)
                task_result.set_failed(error)
            except DatabaseError:
                logger.warning("Run %s is left to the lease reaper.", run_id)
            if not isinstance(error, Exception):
                raise
        else:
            if not finished:  # skipped, its lease lost, or the commit's answer lost
                call_until_available(
                    lambda: task_result.set_successful(status),
                    what=f"finishing the task of {run_id}",
                )
        finally:
            self._run_tasks += 1

    def run(self) -> None:
        """Claim and run tasks until stopped; sleep on the waker when the queue is empty, and
        back off while the database is unreachable."""
        logger.info("Starting worker worker_id=%s", self.worker_id)
        backoff, unreachable_since = Backoff(first=0.1, longest=5.0), None
        while self.running:
            # A signal while claiming or running lets the run finish (see `shutdown`).
            self.running_task = True
            try:
                close_old_connections()
                task_result = self.claim_next()
            except UNAVAILABLE as error:
                self.running_task = False
                if not is_unavailable(error):
                    raise
                if unreachable_since is None:
                    unreachable_since = time.monotonic()
                    logger.warning("The database is unreachable (%s); backing off.", error)
                discard_connection()
                time.sleep(backoff.next())
                continue
            if unreachable_since is not None:
                logger.warning(
                    "The database answers again after %.1f s; claiming resumes.",
                    time.monotonic() - unreachable_since,
                )
                backoff.reset()
                unreachable_since = None
            try:
                if task_result is not None:
                    self.run_task(task_result)
            finally:
                self.running_task = False
            if task_result is not None:
                if self.max_tasks is not None and self._run_tasks >= self.max_tasks:
                    return
                continue
            if self.batch:
                return
            self.waker.wait(self.interval)


def _run_id(task_result: DBTaskResult) -> str:
    return task_result.args_kwargs["kwargs"]["run_id"]


class Command(db_worker.Command):
    help = "Run a worker that executes queued script runs (django-tasks-db's db_worker)."

    def add_arguments(self, parser) -> None:
        super().add_arguments(parser)
        parser.set_defaults(interval=DEFAULT_INTERVAL_SECONDS, reload=False, worker_id=WORKER_ID)

    def handle(self, *, verbosity, queue_name, exclude_queues, reload, **options) -> None:
        self.configure_logging(verbosity)
        if reload:
            logger.warning("--reload is not supported by this worker; ignoring it.")
        wait_for_migrations()
        waker = Waker()
        sandbox = get_sandbox()
        sandbox.start()
        if sandbox.landlock_abi:
            logger.info("Sandbox ready: Landlock ABI %d confines scripts.", sandbox.landlock_abi)
        else:
            logger.warning(
                "This kernel has no Landlock: scripts run with limits and a minimal environment "
                "but can read what this user can (SANDBOX_ISOLATION=required refuses that)."
            )
        housekeeper = Housekeeper()
        threading.Thread(target=housekeeper.forever, name="housekeeping", daemon=True).start()
        worker_started.send(sender=self.__class__)
        worker = RunWorker(
            waker=waker,
            queue_names=queue_name.split(","),
            excluded_queue_names=exclude_queues.split(",") if exclude_queues else [],
            interval=options["interval"],
            batch=options["batch"],
            backend_name=options["backend_name"],
            startup_delay=options["startup_delay"],
            max_tasks=options["max_tasks"],
            worker_id=options["worker_id"],
        )
        worker.configure_signals()
        try:
            worker.run()
        finally:
            sandbox.close()
            waker.close()
