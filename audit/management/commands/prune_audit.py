"""`manage.py prune_audit`: remove audit events past AUDIT_RETENTION_DAYS."""

from django.core.management.base import BaseCommand

from audit import services


class Command(BaseCommand):
    help = "Delete audit events older than AUDIT_RETENTION_DAYS (0 keeps them forever)."

    def handle(self, *args, **options):
        deleted = services.prune()
        self.stdout.write(f"Removed {deleted} audit events past their retention.")
