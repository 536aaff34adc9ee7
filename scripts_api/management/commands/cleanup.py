"""`manage.py cleanup`: every periodic cleanup job, at once (run_web.sh runs it at start-up)."""

from django.core.management.base import BaseCommand, CommandError

from scripts_api import cleanup


class Command(BaseCommand):
    help = (
        "Remove expired sessions and OAuth tokens, old queue rows, artifacts and audit events "
        "past their retention, and this host's unused script environments. The queue workers "
        "run the shared jobs every CLEANUP_INTERVAL_SECONDS."
    )

    def handle(self, *args, **options):
        cleanup.mark_started()
        failed = cleanup.run_jobs(cleanup.SHARED_JOBS + cleanup.HOST_JOBS)
        if failed:
            raise CommandError(f"Cleanup jobs failed: {', '.join(failed)} (see the log).")
        self.stdout.write("Cleanup done.")
