"""`manage.py prune_notifications`: remove finished deliveries past NOTIFICATION_RETENTION_DAYS."""

from datetime import timedelta

from django.conf import settings
from django.core.management.base import BaseCommand
from django.utils import timezone

from notifications.models import Delivery


class Command(BaseCommand):
    help = (
        "Delete the deliveries that ended (delivered, failed, skipped) more than "
        "NOTIFICATION_RETENTION_DAYS ago (0 keeps them forever); pending ones are never removed."
    )

    def handle(self, *args, **options):
        days = settings.NOTIFICATION_RETENTION_DAYS
        deleted = 0
        if days:
            ended = Delivery.objects.exclude(status=Delivery.Status.PENDING)
            before = timezone.now() - timedelta(days=days)
            deleted, _ = ended.filter(updated_at__lt=before).delete()
        self.stdout.write(f"Removed {deleted} notification deliveries past their retention.")
