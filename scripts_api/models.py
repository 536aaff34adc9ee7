"""Published scripts and their runs."""

import uuid
from datetime import timedelta

from django.conf import settings
from django.db import models
from django.utils import timezone

from users import roles


class Script(models.Model):
    """A script read from SCRIPTS_DIR; unpublished (never deleted) when its file goes away."""

    slug = models.SlugField(max_length=100, unique=True)
    filename = models.CharField(max_length=120)
    title = models.CharField(max_length=200)
    description = models.TextField(blank=True)
    # A policy name, or a list of level keys.
    policy = models.JSONField()
    params_schema = models.JSONField()
    timeout_seconds = models.PositiveIntegerField()
    memory_mb = models.PositiveIntegerField()
    version = models.CharField(max_length=64)
    # The source of `version`: workers run exactly what was published.
    source = models.TextField()
    # Names of the secrets the script declares (`SECRETS = [...]`); never their values.
    secrets = models.JSONField(default=list, blank=True)
    is_published = models.BooleanField(default=True, db_index=True)
    rejection = models.TextField(blank=True)
    # Why the file's newest content was rejected while this (last good) version stays
    # published: [{"message", "version", "since"}], empty once a good version comes.
    problems = models.JSONField(default=list, blank=True)
    created_at = models.DateTimeField(default=timezone.now)
    updated_at = models.DateTimeField(default=timezone.now)
    # PEP 723 inline metadata (see scripts_api/environments.py).
    dependencies = models.JSONField(default=list, blank=True)
    requires_python = models.CharField(max_length=200, blank=True)

    class Meta:
        ordering = ["title", "slug"]

    def __str__(self) -> str:
        return self.slug

    def allows(self, level: int, *more_levels: int) -> bool:
        """Whether `level`, and every one of `more_levels` (`roles.credential_levels`), may see
        and run this script."""
        if isinstance(self.policy, str):
            return roles.allows(self.policy, level, *more_levels)
        return all(roles.level_key(each) in self.policy for each in (level, *more_levels))

    @property
    def policy_label(self) -> str:
        """The policy as people read it: a name, or the level keys joined."""
        return self.policy if isinstance(self.policy, str) else ", ".join(self.policy)


class ScriptVersion(models.Model):
    """One distinct published content of a script: its source and what the catalog read."""

    script = models.ForeignKey(Script, on_delete=models.CASCADE, related_name="versions")
    version = models.CharField(max_length=64)
    source = models.TextField()
    filename = models.CharField(max_length=120)
    title = models.CharField(max_length=200)
    description = models.TextField(blank=True)
    policy = models.JSONField()
    params_schema = models.JSONField()
    timeout_seconds = models.PositiveIntegerField()
    memory_mb = models.PositiveIntegerField()
    secrets = models.JSONField(default=list)
    dependencies = models.JSONField(default=list)
    requires_python = models.CharField(max_length=200, blank=True)
    # First published; `published_at` moves when the version becomes the current one again.
    created_at = models.DateTimeField(default=timezone.now)
    published_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["-published_at", "-id"]
        constraints = [
            models.UniqueConstraint(
                fields=["script", "version"], name="scripts_api_scriptversion_unique_version"
            )
        ]

    def __str__(self) -> str:
        return f"{self.script_id} {self.version}"


class RejectedFile(models.Model):
    """A file of the scripts folder that the last `sync_scripts` rejected, and why: a new file
    that never parsed (so no Script shows it) as well as a broken edit of a published one."""

    filename = models.CharField(max_length=255, unique=True)
    slug = models.CharField(max_length=255)
    message = models.TextField()
    version = models.CharField(max_length=64, blank=True)
    since = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["filename"]

    def __str__(self) -> str:
        return self.filename


class EnvironmentStatus(models.TextChoices):
    """Where the environment of a dependency set is (`none`: the script has no dependencies)."""

    NONE = "none"
    PREPARING = "preparing"
    READY = "ready"
    FAILED = "failed"


class ScriptEnvironment(models.Model):
    """The resolution of one dependency set (scripts with the same set share it): its pinned
    lock, shared by every worker, and whether it could be resolved and built. Each worker host
    builds the lock into its own SCRIPT_ENVIRONMENTS_DIR (scripts_api/environments.py)."""

    digest = models.CharField(max_length=64, unique=True)
    requirements = models.JSONField(default=list)
    requires_python = models.CharField(max_length=200, blank=True)
    status = models.CharField(
        max_length=16, choices=EnvironmentStatus.choices, default=EnvironmentStatus.PREPARING
    )
    lock = models.TextField(blank=True)
    error = models.TextField(blank=True)
    updated_at = models.DateTimeField(default=timezone.now)

    def __str__(self) -> str:
        return f"environment {self.digest[:12]}"


class RunStatus(models.TextChoices):
    """Where a run is in its life."""

    QUEUED = "queued"
    RUNNING = "running"
    SUCCEEDED = "succeeded"
    FAILED = "failed"
    TIMED_OUT = "timed_out"
    CANCELLED = "cancelled"


ACTIVE_STATUSES = (RunStatus.QUEUED, RunStatus.RUNNING)


class RunQuerySet(models.QuerySet):
    """Queries over runs."""

    def active(self):
        """Runs queued or running."""
        return self.filter(status__in=ACTIVE_STATUSES)

    def lease_expired(self, now=None, lease_seconds: float | None = None):
        """Running runs whose worker stopped renewing the lease (by default RUN_LEASE_SECONDS)."""
        lease = settings.RUN_LEASE_SECONDS if lease_seconds is None else lease_seconds
        cutoff = (now or timezone.now()) - timedelta(seconds=lease)
        return self.filter(status=RunStatus.RUNNING, heartbeat_at__lt=cutoff)


class Run(models.Model):
    """One execution of a script by a user, with its parameters, outcome and output."""

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    # The foreign keys, status and created_at are indexed by the run list's indexes (Meta), each
    # a prefix of one: an index of their own would only slow down the insert of every run.
    script = models.ForeignKey(
        Script, on_delete=models.PROTECT, related_name="runs", db_index=False
    )
    script_version = models.CharField(max_length=64)
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="runs", db_index=False
    )
    params = models.JSONField(default=dict)
    status = models.CharField(max_length=16, choices=RunStatus.choices, default=RunStatus.QUEUED)
    result = models.JSONField(null=True, blank=True)
    stdout = models.TextField(blank=True)
    stderr = models.TextField(blank=True)
    exit_code = models.IntegerField(null=True, blank=True)
    error = models.TextField(blank=True)
    artifacts = models.JSONField(default=list, blank=True)
    created_at = models.DateTimeField(default=timezone.now)
    started_at = models.DateTimeField(null=True, blank=True)
    finished_at = models.DateTimeField(null=True, blank=True)
    cancel_requested_at = models.DateTimeField(null=True, blank=True)
    # "preparing" while the worker builds the script's environment (before the script starts).
    stage = models.CharField(max_length=16, blank=True)
    # The lease: which worker holds the run and when it last said so.
    worker_id = models.CharField(max_length=64, blank=True)
    heartbeat_at = models.DateTimeField(null=True, blank=True)
    # Live output: the script's last `rbas.progress` (0..1, null before any), its message, and
    # a count of the updates stored while it runs, which long-polls watch (scripts_api/live.py).
    progress = models.FloatField(null=True, blank=True)
    progress_message = models.CharField(max_length=200, blank=True)
    output_version = models.PositiveIntegerField(default=0)

    objects = RunQuerySet.as_manager()

    class Meta:
        ordering = ["-created_at"]
        # The run list pages on (created_at, id), newest first (simple_rbas.pagination): each
        # of its filters has an index ending in those two, so that a page reads only its rows.
        indexes = [
            models.Index(fields=["user", "status"]),
            models.Index(fields=["created_at", "id"], name="run_list_all"),
            models.Index(fields=["user", "created_at", "id"], name="run_list_user"),
            models.Index(fields=["script", "created_at", "id"], name="run_list_script"),
            models.Index(fields=["status", "created_at", "id"], name="run_list_status"),
        ]

    def __str__(self) -> str:
        return f"run {self.id} of {self.script_id}"

    @property
    def is_finished(self) -> bool:
        """Whether the run has reached an end state."""
        return self.status not in ACTIVE_STATUSES

    @property
    def duration_ms(self) -> int | None:
        """Milliseconds from start to end, once both are known."""
        if self.started_at and self.finished_at:
            return int((self.finished_at - self.started_at).total_seconds() * 1000)
        return None


class Artifact(models.Model):
    """A file a run wrote into RBAS_OUTPUT_DIR, kept in the database so that web and worker
    processes need no shared filesystem; its bytes are its `chunks` (see `scripts_api.artifacts`).

    Pruning (retention, total cap) deletes the chunks and sets `expired_at`; the row stays as
    the record of what the run wrote.
    """

    run = models.ForeignKey(Run, on_delete=models.CASCADE, related_name="artifact_files")
    name = models.CharField(max_length=100)
    size = models.PositiveBigIntegerField()
    sha256 = models.CharField(max_length=64, blank=True)
    expired_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["run", "name"], name="scripts_api_artifact_unique_name")
        ]

    def __str__(self) -> str:
        return f"{self.name} of run {self.run_id}"


class ArtifactChunk(models.Model):
    """One piece of an artifact's bytes (at most `artifacts.CHUNK_BYTES`), in `index` order."""

    # The unique constraint's index (artifact, index) serves lookups by artifact too.
    artifact = models.ForeignKey(
        Artifact, on_delete=models.CASCADE, related_name="chunks", db_index=False
    )
    index = models.PositiveIntegerField()
    data = models.BinaryField()

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["artifact", "index"], name="scripts_api_artifactchunk_unique_index"
            )
        ]

    def __str__(self) -> str:
        return f"chunk {self.index} of artifact {self.artifact_id}"


class Housekeeping(models.Model):
    """When a periodic job last started, shared by every worker: one conditional UPDATE of this
    row decides which worker runs it in an interval (see `scripts_api.cleanup`)."""

    name = models.CharField(max_length=40, primary_key=True)
    last_started_at = models.DateTimeField()

    def __str__(self) -> str:
        return f"{self.name} last started {self.last_started_at:%Y-%m-%d %H:%M:%S}"
