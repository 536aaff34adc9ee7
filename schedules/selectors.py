"""Read-side queries over schedules."""

from datetime import UTC
from zoneinfo import ZoneInfo

from schedules.models import Schedule, ScheduleTick
from scripts_api.cron import ticks_after

RECENT_TICKS = 10
NEXT_RUNS = 5


def schedule_list():
    """Every schedule, with what its representation reads."""
    return Schedule.objects.select_related("script", "run_as", "owner")


def schedule_get(pk: int) -> Schedule | None:
    """One schedule, or None."""
    return schedule_list().filter(pk=pk).first()


def schedules_of_script(slug: str):
    """The schedules of the script `slug`, soonest first."""
    return schedule_list().filter(script__slug=slug).order_by("next_run_at")


def next_runs(schedule: Schedule, count: int = NEXT_RUNS) -> list[dict]:
    """The next `count` ticks from next_run_at: `at` in UTC and `local` in the schedule's zone
    (ISO 8601); none while paused."""
    if schedule.paused:
        return []
    zone = ZoneInfo(schedule.timezone)
    first = schedule.next_run_at.astimezone(UTC)
    times = [first, *ticks_after(schedule.cron, schedule.timezone, first, count - 1)]
    return [
        {
            "at": at.isoformat().replace("+00:00", "Z"),
            "local": at.astimezone(zone).isoformat(),
        }
        for at in times
    ]


def recent_ticks(schedule: Schedule, count: int = RECENT_TICKS):
    """The schedule's latest ticks, newest first, with their runs."""
    return ScheduleTick.objects.filter(schedule=schedule).select_related("run")[:count]


def schedule_of_run(run) -> Schedule | None:
    """The schedule that queued `run`, or None for a run someone started (for notifications)."""
    tick = ScheduleTick.objects.filter(run=run).select_related("schedule").first()
    return tick.schedule if tick else None
