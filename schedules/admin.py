"""Schedules in Django's admin, read-mostly: the API applies the rules."""

from django.contrib import admin

from schedules.models import Schedule, ScheduleTick


@admin.register(Schedule)
class ScheduleAdmin(admin.ModelAdmin):
    list_display = ["id", "script", "cron", "timezone", "run_as", "source", "paused", "next_run_at"]
    list_filter = ["source", "paused"]
    readonly_fields = ["next_run_at", "last_tick_at", "created_at", "updated_at"]


@admin.register(ScheduleTick)
class ScheduleTickAdmin(admin.ModelAdmin):
    list_display = ["schedule", "tick_at", "status", "run"]
    list_filter = ["status"]

    def has_change_permission(self, request, obj=None) -> bool:
        return False
