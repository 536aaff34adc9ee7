"""Django admin for schedules and their ticks: read-only. Schedules change through the API
(which applies the assignment rules and validation) or their script files; ticks are a record."""

from django.contrib import admin

from schedules.models import Schedule, ScheduleTick
from scripts_api.admin import ReadOnlyAdmin


@admin.register(Schedule)
class ScheduleAdmin(ReadOnlyAdmin):
    list_display = ["id", "script", "cron", "timezone", "run_as", "source", "paused", "next_run_at"]
    list_filter = ["source", "paused"]


@admin.register(ScheduleTick)
class ScheduleTickAdmin(ReadOnlyAdmin):
    list_display = ["schedule", "tick_at", "status", "run"]
    list_filter = ["status"]
