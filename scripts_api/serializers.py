"""Shapes of the script and run endpoints (API.md: Scripts)."""

from django.urls import reverse
from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from scripts_api.models import Run, RunStatus, Script
from simple_rbas.api import MAX_DATABASE_INTEGER


class ScriptSerializer(serializers.ModelSerializer):
    """API.md's `Script`."""

    class Meta:
        model = Script
        fields = [
            "slug",
            "title",
            "description",
            "policy",
            "params_schema",
            "timeout_seconds",
            "version",
            "updated_at",
        ]
        read_only_fields = fields


class RunArtifactSerializer(serializers.Serializer):
    """A file of a run. Once `expired` (removed by retention, the run itself is kept), its `url`
    answers 410."""

    name = serializers.CharField()
    size = serializers.IntegerField()
    url = serializers.CharField()
    expired = serializers.BooleanField()


class RunSummarySerializer(serializers.Serializer):
    """API.md's `RunSummary`: a `Run` without `stdout`, `stderr` and `result`, so that a list
    stays small whatever the runs printed (`params` take at most 64 KiB as JSON, and `error` is
    one short line)."""

    id = serializers.UUIDField(read_only=True)
    script = serializers.CharField(source="script.slug", read_only=True)
    script_version = serializers.CharField(read_only=True)
    user = serializers.IntegerField(source="user_id", read_only=True)
    params = serializers.JSONField(read_only=True)
    status = serializers.CharField(read_only=True)
    exit_code = serializers.IntegerField(read_only=True, allow_null=True)
    error = serializers.CharField(read_only=True)
    artifacts = serializers.SerializerMethodField()
    created_at = serializers.DateTimeField(read_only=True)
    started_at = serializers.DateTimeField(read_only=True, allow_null=True)
    finished_at = serializers.DateTimeField(read_only=True, allow_null=True)
    duration_ms = serializers.IntegerField(read_only=True, allow_null=True)

    # The columns these fields read: the run list loads nothing else.
    columns = (
        "script__slug", "script_version", "user", "params", "status", "exit_code", "error",
        "artifacts", "created_at", "started_at", "finished_at",
    )  # fmt: skip

    @extend_schema_field(RunArtifactSerializer(many=True))
    def get_artifacts(self, run: Run) -> list[dict]:
        request = self.context.get("request")
        items = []
        for artifact in run.artifacts:
            url = reverse("run-artifact", kwargs={"pk": run.pk, "name": artifact["name"]})
            items.append(
                {
                    "name": artifact["name"],
                    "size": artifact["size"],
                    "url": request.build_absolute_uri(url) if request else url,
                    "expired": bool(artifact.get("expired")),
                }
            )
        return items


class RunSerializer(RunSummarySerializer):
    """API.md's `Run` (declared field by field: it is on the hot path of every run)."""

    result = serializers.JSONField(read_only=True)
    stdout = serializers.CharField(read_only=True)
    stderr = serializers.CharField(read_only=True)
    progress = serializers.FloatField(read_only=True, allow_null=True)
    progress_message = serializers.CharField(read_only=True)


class RunRequestSerializer(serializers.Serializer):
    """Body of `POST /api/scripts/<slug>/runs/`; the parameters are checked against the script."""

    params = serializers.JSONField(required=False, default=dict)


class WaitSerializer(serializers.Serializer):
    """`?wait=N`: seconds to wait for the run to finish."""

    wait = serializers.IntegerField(min_value=0, max_value=30, required=False, default=0)


class RunFilterSerializer(serializers.Serializer):
    """Query parameters of the run list."""

    script = serializers.SlugField(required=False)
    status = serializers.ChoiceField(choices=RunStatus.choices, required=False)
    # Within the database's integers: a larger id is a 400, not an overflow in the query.
    user = serializers.IntegerField(min_value=1, max_value=MAX_DATABASE_INTEGER, required=False)


class RunOutputQuerySerializer(serializers.Serializer):
    """Query of `GET /api/runs/<id>/output/`: offsets in characters of the stored text, and
    seconds to wait for something new."""

    stdout_after = serializers.IntegerField(
        min_value=0, max_value=MAX_DATABASE_INTEGER, required=False, default=0
    )
    stderr_after = serializers.IntegerField(
        min_value=0, max_value=MAX_DATABASE_INTEGER, required=False, default=0
    )
    wait = serializers.IntegerField(min_value=0, max_value=30, required=False, default=0)


class RunOutputSerializer(serializers.Serializer):
    """A run's output after the offsets asked for, the offsets to ask for next, and where the
    run is (docs/api.md: Live output)."""

    status = serializers.CharField()
    finished = serializers.BooleanField()
    stdout = serializers.CharField()
    stderr = serializers.CharField()
    stdout_offset = serializers.IntegerField()
    stderr_offset = serializers.IntegerField()
    progress = serializers.FloatField(allow_null=True)
    progress_message = serializers.CharField()
