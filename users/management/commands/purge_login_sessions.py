"""Delete login sessions that can no longer be used (expired, or revoked long enough ago)."""

from datetime import timedelta

from django.core.management.base import BaseCommand
from django.db.models import Q
from django.utils import timezone

from users.models import LoginSession


class Command(BaseCommand):
    help = "Delete expired login sessions and those revoked more than --keep-days ago."

    def add_arguments(self, parser):
        parser.add_argument(
            "--keep-days",
            type=int,
            default=30,
            help="Keep revoked sessions this many days, for auditing (default 30).",
        )

    def handle(self, *args, keep_days: int, **options):
        now = timezone.now()
        deleted, _ = LoginSession.objects.filter(
            Q(expires_at__lte=now) | Q(revoked_at__lte=now - timedelta(days=keep_days))
        ).delete()
        self.stdout.write(f"Deleted {deleted} ended login sessions.")
