"""`manage.py db_worker`: django-tasks-db's worker, adapted to running scripts.

Compared with the library's command, this one
- sleeps on a wake-up (`scripts_api.wakeup`) between polls instead of a fixed interval, so a
  queued run starts within milliseconds while an idle worker barely touches the database;
  `--interval` becomes the longest sleep between polls (default 0.5 s);
- starts the sandbox server before the first task, so the first run does not pay for it;
- runs a lease reaper thread that ends as failed the runs whose worker died mid-run;
- waits for the database and its migrations instead of crashing when started before them.
Claiming, running and recording tasks are the library's own (`Worker.run_task`, `claim`).
"""

import logging
import threading
import time

from django.conf import settings
from django.db import DatabaseError, OperationalError, close_old_connections, connection
from django_tasks_db.management.commands import db_worker
from django_tasks_db.models import DBTaskResult
from django_tasks_db.utils import exclusive_transaction, is_locked_database_exception

from scripts_api.execution import runs_reap_expired
from scripts_api.sandbox import get_sandbox
from scripts_api.wakeup import Waker
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


def reap_forever() -> None:
    """Every third of a lease, end the runs whose lease expired."""
    period = max(settings.RUN_LEASE_SECONDS / 3, 0.5)
    stop = threading.Event()
    while not stop.wait(period):
        try:
            close_old_connections()
            reaped = runs_reap_expired()
            if reaped:
                logger.warning("Ended %d runs whose worker stopped renewing the lease.", reaped)
        except Exception:
            logger.exception("The lease reaper failed; it will try again.")
        finally:
            connection.close()


class RunWorker(db_worker.Worker):
    """The library's worker, sleeping on a `Waker` between polls."""

    def __init__(self, *, waker: Waker, **kwargs) -> None:
        super().__init__(**kwargs)
        self.waker = waker

    def claim_next(self) -> DBTaskResult | None:
        """Claim the next ready task of this worker's queues, if any."""
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
                return task_result
        except OperationalError as error:
            if is_locked_database_exception(error):
                return None  # another worker holds the lock; try again soon
            raise

    def run(self) -> None:
        """Claim and run tasks until stopped; sleep on the waker when the queue is empty."""
        logger.info("Starting worker worker_id=%s", self.worker_id)
        while self.running:
            close_old_connections()
            task_result = self.claim_next()
            if task_result is not None:
                self.run_task(task_result)
                if self.max_tasks is not None and self._run_tasks >= self.max_tasks:
                    return
                continue
            if self.batch:
                return
            self.waker.wait(self.interval)


class Command(db_worker.Command):
    help = "Run a worker that executes queued script runs (django-tasks-db's db_worker)."

    def add_arguments(self, parser) -> None:
        super().add_arguments(parser)
        parser.set_defaults(interval=DEFAULT_INTERVAL_SECONDS, reload=False)

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
        threading.Thread(target=reap_forever, name="lease-reaper", daemon=True).start()
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
