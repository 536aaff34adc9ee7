"""Cron schedules of script runs, and one row per tick that says what happened at it."""

from django.conf import settings
from django.db import models
from django.utils.timezone import now


class Source(models.TextChoices):
    """Where a schedule is defined: the API (and the web app) or the script's own file."""

    API = "api", "API"
    FILE = "file", "Script file"


class ScheduleQuerySet(models.QuerySet):
    def due(self, now):
        """Schedules not paused whose next tick is at or before `now`."""
        return self.filter(paused=False, next_run_at__lte=now)


class Schedule(models.Model):
    """Run `script` as `run_as` with `params` at every tick of `cron` in `timezone`."""

    script = models.ForeignKey(
        "scripts_api.Script", on_delete=models.CASCADE, related_name="schedules"
    )
    cron = models.CharField(max_length=200)
    timezone = models.CharField(max_length=64)
    params = models.JSONField(default=dict, blank=True)
    run_as = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="scheduled_runs"
    )
    # Who created it (null for a script file's schedule, or once that user is deleted).
    owner = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="schedules_owned",
    )
    source = models.CharField(max_length=8, choices=Source.choices, default=Source.API)
    paused = models.BooleanField(default=False)
    next_run_at = models.DateTimeField(db_index=True)
    last_tick_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(default=now)
    updated_at = models.DateTimeField(default=now)

    objects = ScheduleQuerySet.as_manager()

    class Meta:
        ordering = ["id"]
        constraints = [
            # A script file declares at most one schedule.
            models.UniqueConstraint(
                fields=["script"],
                condition=models.Q(source="file"),
                name="schedules_one_file_schedule_per_script",
            )
        ]

    def __str__(self) -> str:
        return f"{self.script.slug} at {self.cron} ({self.timezone})"


class TickStatus(models.TextChoices):
    """What happened at a tick."""

    FIRED = "fired", "Fired: a run was queued"
    SKIPPED = "skipped", "Skipped: no run (see the reason)"
    MISSED = "missed", "Missed: the service was down; a later tick ran instead"


class ScheduleTick(models.Model):
    """One tick of a schedule; the unique (schedule, tick_at) makes it fire exactly once."""

    schedule = models.ForeignKey(Schedule, on_delete=models.CASCADE, related_name="ticks")
    tick_at = models.DateTimeField()
    status = models.CharField(max_length=8, choices=TickStatus.choices)
    reason = models.TextField(blank=True)
    # The run it queued: what tells a run that it came from a schedule (`schedule_of_run`).
    run = models.OneToOneField(
        "scripts_api.Run",
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="schedule_tick",
    )
    recorded_at = models.DateTimeField(default=now)

    class Meta:
        ordering = ["-tick_at"]
        constraints = [
            models.UniqueConstraint(
                fields=["schedule", "tick_at"], name="schedules_one_tick_per_time"
            )
        ]

    def __str__(self) -> str:
        return f"{self.schedule_id} at {self.tick_at:%Y-%m-%d %H:%M}Z: {self.status}"
