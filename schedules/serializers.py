"""Shapes of the schedules endpoints."""

from drf_spectacular.utils import extend_schema_field, inline_serializer
from rest_framework import serializers

from schedules import selectors
from schedules.models import Schedule, ScheduleTick

NEXT_RUN = inline_serializer(
    "ScheduleNextRun",
    {"at": serializers.DateTimeField(), "local": serializers.CharField()},
    many=True,
)


class TickSerializer(serializers.ModelSerializer):
    """A tick: fired (with its run), skipped (with why) or missed."""

    run = serializers.UUIDField(source="run.pk", default=None, read_only=True, allow_null=True)
    run_status = serializers.CharField(
        source="run.status", default=None, read_only=True, allow_null=True
    )

    class Meta:
        model = ScheduleTick
        fields = ["tick_at", "status", "reason", "run", "run_status", "recorded_at"]
        read_only_fields = fields


class ScheduleSerializer(serializers.ModelSerializer):
    """A schedule, with its next five ticks and its latest ticks."""

    script = serializers.CharField(source="script.slug", read_only=True)
    run_as = serializers.CharField(source="run_as.username", read_only=True)
    owner = serializers.CharField(
        source="owner.username", default=None, read_only=True, allow_null=True
    )
    next_runs = serializers.SerializerMethodField()
    recent_ticks = serializers.SerializerMethodField()

    class Meta:
        model = Schedule
        fields = [
            "id",
            "script",
            "cron",
            "timezone",
            "params",
            "run_as",
            "owner",
            "source",
            "paused",
            "next_run_at",
            "next_runs",
            "last_tick_at",
            "recent_ticks",
            "created_at",
            "updated_at",
        ]
        read_only_fields = fields

    @extend_schema_field(NEXT_RUN)
    def get_next_runs(self, schedule: Schedule) -> list[dict]:
        """The next five ticks (none while paused), in UTC and in the schedule's zone."""
        return selectors.next_runs(schedule)

    @extend_schema_field(TickSerializer(many=True))
    def get_recent_ticks(self, schedule: Schedule) -> list[dict]:
        """The latest ticks, newest first."""
        return TickSerializer(selectors.recent_ticks(schedule), many=True).data


class ScheduleWriteSerializer(serializers.Serializer):
    """Create (or, partially, change) a schedule; the services check the rest."""

    script = serializers.SlugField(max_length=100)
    cron = serializers.CharField(max_length=200)
    timezone = serializers.CharField(max_length=64, required=False)
    params = serializers.DictField(required=False, default=dict)
    run_as = serializers.CharField(
        max_length=150, required=False, help_text="A username; default: you."
    )
    paused = serializers.BooleanField(required=False, default=False)
