"""`manage.py prune_schedule_ticks`: remove ticks past SCHEDULE_TICK_RETENTION_DAYS."""

from datetime import timedelta

from django.conf import settings
from django.core.management.base import BaseCommand
from django.utils import timezone

from schedules.models import ScheduleTick


class Command(BaseCommand):
    help = (
        "Delete schedule ticks recorded more than SCHEDULE_TICK_RETENTION_DAYS ago (0 keeps "
        "them forever). Their runs stay; a schedule's next tick is always later than these, "
        "so no tick can fire twice."
    )

    def handle(self, *args, **options):
        days = settings.SCHEDULE_TICK_RETENTION_DAYS
        deleted = 0
        if days:
            before = timezone.now() - timedelta(days=days)
            deleted, _ = ScheduleTick.objects.filter(recorded_at__lt=before).delete()
        self.stdout.write(f"Removed {deleted} schedule ticks past their retention.")
