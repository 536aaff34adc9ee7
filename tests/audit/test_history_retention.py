"""`manage.py cleanup` also keeps the other apps' histories bounded: notification deliveries
and schedule ticks past their retention go, their runs and anything still pending stay."""

import io
from datetime import UTC, datetime, timedelta

import pytest
from django.core.management import call_command
from django.utils import timezone

from notifications.models import Delivery
from schedules.models import Schedule, ScheduleTick, TickStatus
from scripts_api.models import Run, Script
from users.roles import Level

pytestmark = pytest.mark.django_db


def aged(days: float):
    return timezone.now() - timedelta(days=days)


@pytest.fixture
def run(catalog, users):
    return Run.objects.create(
        script=Script.objects.get(slug="hello"), script_version="v", user=users[Level.WRITE]
    )


def delivery(run, status, days_ago):
    return Delivery.objects.create(
        user=run.user, run=run, reason="run failed", channel="email", target="w@example.com",
        status=status, created_at=aged(days_ago), updated_at=aged(days_ago),
    )  # fmt: skip


def test_cleanup_removes_ended_deliveries_past_their_retention(run, settings):
    settings.NOTIFICATION_RETENTION_DAYS = 30
    old_done = [delivery(run, status, 31) for status in ("delivered", "failed", "skipped")]
    old_pending = delivery(run, "pending", 31)  # still being retried: never removed
    recent = delivery(run, "delivered", 29)
    out = io.StringIO()
    call_command("cleanup", stdout=out)
    assert set(Delivery.objects.values_list("pk", flat=True)) == {old_pending.pk, recent.pk}
    assert not Delivery.objects.filter(pk__in=[d.pk for d in old_done]).exists()
    assert Run.objects.filter(pk=run.pk).exists()


def test_cleanup_removes_schedule_ticks_past_their_retention_and_keeps_their_runs(
    run, users, settings
):
    settings.SCHEDULE_TICK_RETENTION_DAYS = 30
    schedule = Schedule.objects.create(
        script=run.script, cron="0 * * * *", timezone="UTC", run_as=users[Level.WRITE],
        owner=users[Level.OWNER], next_run_at=datetime(2099, 1, 1, tzinfo=UTC),
    )  # fmt: skip
    old = ScheduleTick.objects.create(
        schedule=schedule, tick_at=aged(40), status=TickStatus.FIRED, run=run, recorded_at=aged(40)
    )
    recent = ScheduleTick.objects.create(
        schedule=schedule, tick_at=aged(1), status=TickStatus.MISSED, recorded_at=aged(1)
    )
    call_command("cleanup", stdout=io.StringIO())
    assert list(ScheduleTick.objects.values_list("pk", flat=True)) == [recent.pk]
    assert not ScheduleTick.objects.filter(pk=old.pk).exists()
    assert Run.objects.filter(pk=run.pk).exists()
    assert Schedule.objects.filter(pk=schedule.pk).exists()


def test_a_retention_of_zero_keeps_everything(run, users, settings):
    settings.NOTIFICATION_RETENTION_DAYS = 0
    settings.SCHEDULE_TICK_RETENTION_DAYS = 0
    kept = delivery(run, "delivered", 3650)
    call_command("prune_notifications", stdout=io.StringIO())
    call_command("prune_schedule_ticks", stdout=io.StringIO())
    assert Delivery.objects.filter(pk=kept.pk).exists()
