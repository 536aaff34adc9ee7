"""`manage.py db_worker`: django-tasks-db's worker, plus what a worker of runs needs.

On top of the library's worker this starts the sandbox server before the first task (so the
first run does not pay for it), and a lease reaper thread that ends as failed the runs whose
worker died mid-run (SIGKILL, lost node). Its default polling interval is short, because a run
request waits for it.
"""

import logging
import threading

from django.conf import settings
from django.db import close_old_connections, connection
from django_tasks_db.management.commands import db_worker

from scripts_api.execution import runs_reap_expired
from scripts_api.sandbox import get_sandbox

logger = logging.getLogger(__name__)
DEFAULT_INTERVAL_SECONDS = 0.05


def reap_forever(stop: threading.Event) -> None:
    """Every third of a lease, end the runs whose lease expired."""
    period = max(settings.RUN_LEASE_SECONDS / 3, 0.5)
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


class Command(db_worker.Command):
    help = "Run a worker that executes queued script runs (django-tasks-db's db_worker)."

    def add_arguments(self, parser) -> None:
        super().add_arguments(parser)
        parser.set_defaults(interval=DEFAULT_INTERVAL_SECONDS)

    def handle(self, *args, **options) -> None:
        get_sandbox().start()
        threading.Thread(
            target=reap_forever, args=(threading.Event(),), name="lease-reaper", daemon=True
        ).start()
        try:
            super().handle(*args, **options)
        finally:
            get_sandbox().close()
