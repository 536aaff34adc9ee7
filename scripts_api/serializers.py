"""Shapes of the script and run endpoints (API.md: Scripts)."""

from django.urls import NoReverseMatch, reverse
from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from scripts_api.dependencies import dependencies_state
from scripts_api.models import (
    EnvironmentStatus,
    RejectedFile,
    Run,
    RunStatus,
    Script,
    ScriptVersion,
)
from simple_rbas.api import MAX_DATABASE_INTEGER
from users import roles


class ScriptDependenciesSerializer(serializers.Serializer):
    """A script's PEP 723 dependencies and the state of their environment (`none`: no
    dependencies; `failed`: `error` holds uv's message)."""

    requirements = serializers.ListField(child=serializers.CharField())
    requires_python = serializers.CharField()
    status = serializers.ChoiceField(choices=EnvironmentStatus.choices)
    error = serializers.CharField()


class ScriptSerializer(serializers.ModelSerializer):
    """API.md's `Script`, plus the names of the secrets it declares (never their values)."""

    secrets = serializers.ListField(child=serializers.CharField(), read_only=True)

    dependencies = serializers.SerializerMethodField()

    @extend_schema_field(ScriptDependenciesSerializer)
    def get_dependencies(self, script: Script) -> dict:
        return dependencies_state(script)

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
            "secrets",
            "problems",
            "dependencies",
        ]
        read_only_fields = fields

    problems = serializers.SerializerMethodField()

    @extend_schema_field(serializers.ListField(child=serializers.DictField()))
    def get_problems(self, script: Script) -> list[dict]:
        """Why the file's newest content was rejected ({"message", "version", "since"}), for
        callers under the `admin` policy; always empty for everyone else."""
        request = self.context.get("request")
        user = getattr(request, "user", None)
        if user is None or not user.is_authenticated:
            return []
        if not roles.allows("admin", *roles.request_levels(request)):
            return []
        return script.problems


class ScriptVersionSerializer(serializers.ModelSerializer):
    """One published version of a script, as the list shows it (no source)."""

    current = serializers.SerializerMethodField()
    url = serializers.SerializerMethodField()

    class Meta:
        model = ScriptVersion
        fields = [
            "version",
            "current",
            "title",
            "description",
            "policy",
            "params_schema",
            "timeout_seconds",
            "created_at",
            "published_at",
            "url",
        ]
        read_only_fields = fields

    def get_current(self, version: ScriptVersion) -> bool:
        return version.version == self.context["script"].version

    def get_url(self, version: ScriptVersion) -> str:
        return _absolute(
            self.context.get("request"), _version_path(self.context["script"].slug, version.version)
        )


class ScriptVersionDetailSerializer(ScriptVersionSerializer):
    """One version with its source; `diff` is the unified diff from `?compare=<version>`'s
    source to this one (null without `compare`)."""

    diff = serializers.SerializerMethodField()

    class Meta(ScriptVersionSerializer.Meta):
        fields = [*ScriptVersionSerializer.Meta.fields, "filename", "source", "diff"]
        read_only_fields = fields

    def get_diff(self, version: ScriptVersion) -> str | None:
        return self.context.get("diff")


class RejectedFileSerializer(serializers.ModelSerializer):
    """A file of the scripts folder the last sync rejected. `published`: a script of that slug
    is published (at its last good version, the rejected edit being its problem); false for a
    file that never passed."""

    file = serializers.CharField(source="filename", read_only=True)
    published = serializers.SerializerMethodField()

    class Meta:
        model = RejectedFile
        fields = ["file", "slug", "message", "version", "since", "published"]
        read_only_fields = fields

    def get_published(self, rejected: RejectedFile) -> bool:
        return rejected.slug in self.context["published"]


class CompareSerializer(serializers.Serializer):
    """`?compare=<version>`: the other version of a diff."""

    compare = serializers.RegexField(r"^[0-9a-f]{1,64}$", required=False)


def _version_path(slug: str, version: str) -> str:
    return reverse("script-version", kwargs={"slug": slug, "version": version})


def _absolute(request, path: str) -> str:
    return request.build_absolute_uri(path) if request else path


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
    # "preparing" while the worker builds the script's dependencies, "" otherwise.
    stage = serializers.CharField(read_only=True)
    exit_code = serializers.IntegerField(read_only=True, allow_null=True)
    error = serializers.CharField(read_only=True)
    artifacts = serializers.SerializerMethodField()
    created_at = serializers.DateTimeField(read_only=True)
    started_at = serializers.DateTimeField(read_only=True, allow_null=True)
    finished_at = serializers.DateTimeField(read_only=True, allow_null=True)
    duration_ms = serializers.IntegerField(read_only=True, allow_null=True)

    # The columns these fields read: the run list loads nothing else.
    columns = (
        "script__slug", "script_version", "user", "params", "status", "stage", "exit_code", "error",
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
    source_url = serializers.SerializerMethodField()

    def get_source_url(self, run: Run) -> str | None:
        """The version of the script this run ran (or, queued, will run), with its source."""
        try:
            path = _version_path(run.script.slug, run.script_version)
        except NoReverseMatch:  # not a version the catalog wrote
            return None
        return _absolute(self.context.get("request"), path)

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
