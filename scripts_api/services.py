"""Services that write scripts and runs."""

from dataclasses import dataclass, field
from pathlib import Path

from django.conf import settings
from django.db import transaction
from django.utils import timezone

from audit import services as audit
from scripts_api import catalog, dependencies
from scripts_api.models import RejectedFile, Run, RunStatus, Script, ScriptVersion
from scripts_api.params import validate_params
from scripts_api.signals import announce_finished, scripts_synced
from scripts_api.tasks import execute_run, prepare_environment
from scripts_api.wakeup import notify_finished, notify_queued
from simple_rbas.exceptions import Conflict, TooManyActive
from vault import services as vault_services


@dataclass
class SyncReport:
    """What `scripts_sync` changed, by slug (and file name for rejected files)."""

    added: list[str] = field(default_factory=list)
    updated: list[str] = field(default_factory=list)
    unchanged: list[str] = field(default_factory=list)
    unpublished: list[str] = field(default_factory=list)
    rejected: dict[str, str] = field(default_factory=dict)
    # Published scripts whose new content was rejected: the last good version stays, by slug.
    kept: dict[str, str] = field(default_factory=dict)
    # What the apps that hear `scripts_synced` had to say (a file's schedule not set, say).
    notes: list[str] = field(default_factory=list)

    def lines(self) -> list[str]:
        """One human line per change, for `sync_scripts`."""
        out = [f"added {slug}" for slug in self.added]
        out += [f"updated {slug}" for slug in self.updated]
        out += [f"unpublished {slug}" for slug in self.unpublished]
        out += [f"rejected {name}: {reason}" for name, reason in self.rejected.items()]
        out += [
            f"kept {slug} at its last good version {version}: its new content was rejected"
            for slug, version in self.kept.items()
        ]
        out += self.notes
        out.append(
            f"{len(self.added) + len(self.updated) + len(self.unchanged) + len(self.kept)} "
            f"published, {len(self.added)} added, {len(self.updated)} updated, "
            f"{len(self.unpublished)} unpublished, {len(self.rejected)} rejected"
        )
        return out


def _spec_fields(spec: catalog.ScriptSpec) -> dict:
    return {
        "filename": spec.filename,
        "title": spec.title,
        "description": spec.description,
        "policy": spec.policy,
        "params_schema": spec.params_schema,
        "timeout_seconds": spec.timeout_seconds,
        "memory_mb": spec.memory_mb,
        "version": spec.version,
        "source": spec.source.decode("utf-8", errors="replace"),
        "secrets": list(spec.secrets),
        "dependencies": list(spec.dependencies),
        "requires_python": spec.requires_python,
    }


@transaction.atomic
def scripts_sync(*, directory=None) -> SyncReport:
    """Bring the Script table in line with the scripts folder; run history is never touched.

    A published script whose file is now rejected stays published at its last good version,
    with the rejection in `problems`; a removed file unpublishes its script. Every version
    published is kept (`ScriptVersion`)."""
    found = catalog.scan(directory)
    report = SyncReport(rejected=found.rejected)
    existing = {script.slug: script for script in Script.objects.select_for_update()}
    now = timezone.now()
    for spec in found.scripts:
        fields = _spec_fields(spec)
        script = existing.pop(spec.slug, None)
        republished = False
        if script is None:
            script = Script.objects.create(slug=spec.slug, created_at=now, updated_at=now, **fields)
            report.added.append(spec.slug)
        elif (
            script.version != spec.version
            or not script.is_published
            or script.problems
            # The same file read by a newer catalog (labels from docstrings, say) updates too.
            or any(getattr(script, name) != value for name, value in fields.items())
        ):
            republished = script.version != spec.version or not script.is_published
            for name, value in fields.items():
                setattr(script, name, value)
            script.is_published, script.rejection, script.problems = True, "", []
            script.updated_at = now
            script.save()
            report.updated.append(spec.slug)
        else:
            report.unchanged.append(spec.slug)
        script_version_record(script=script, at=now, republished=republished)
    rejected = {catalog.slug_for(Path(name)): name for name in found.rejected}
    for slug, script in existing.items():
        if not script.is_published:
            if slug in rejected and script.rejection != found.rejected[rejected[slug]]:
                script.rejection = found.rejected[rejected[slug]]
                script.save(update_fields=["rejection"])
            continue
        if slug in rejected:
            _keep_last_good(script, found, rejected[slug], now)
            report.kept[slug] = script.version
        else:
            script.is_published = False
            script.rejection = "The file was removed."
            script.problems = []
            script.updated_at = now
            script.save(update_fields=["is_published", "rejection", "problems", "updated_at"])
            report.unpublished.append(slug)
    _record_rejected_files(found, now)
    _environments_enqueue()
    for _receiver, notes in scripts_synced.send(
        sender=scripts_sync, specs=found.scripts, kept=set(report.kept)
    ):
        report.notes += notes or []
    return report


def _record_rejected_files(found: catalog.CatalogScan, now) -> None:
    """Keep the rejected files of this scan (and only those) as `RejectedFile` rows; a file
    rejected for the same content and reason as before keeps its `since`."""
    RejectedFile.objects.exclude(filename__in=list(found.rejected)).delete()
    kept = {row.filename: row for row in RejectedFile.objects.all()}
    for name, message in found.rejected.items():
        version = found.rejected_versions.get(name, "")
        row = kept.get(name)
        if row is None:
            RejectedFile.objects.create(
                filename=name,
                slug=catalog.slug_for(Path(name)),
                message=message,
                version=version,
                since=now,
            )
        elif (row.message, row.version) != (message, version):
            row.message, row.version, row.since = message, version, now
            row.save(update_fields=["message", "version", "since"])


def _keep_last_good(script: Script, found: catalog.CatalogScan, name: str, now) -> None:
    """Record on `script` why its file's new content was rejected; it stays as it was."""
    message, version = found.rejected[name], found.rejected_versions.get(name, "")
    old = script.problems[0] if script.problems else {}
    if old.get("message") == message and old.get("version") == version:
        return  # the same problem as at the last sync: `since` stays
    script.problems = [{"message": message, "version": version, "since": now.isoformat()}]
    script.save(update_fields=["problems"])


def _versioned_fields() -> list[str]:
    """What a `ScriptVersion` keeps of its script: its fields that the script has too."""
    own = {"id", "script", "version", "created_at", "published_at"}
    return [f.name for f in ScriptVersion._meta.concrete_fields if f.name not in own]


def script_version_record(*, script: Script, at, republished: bool) -> ScriptVersion:
    """Keep the script's current content as a `ScriptVersion` (one row per distinct version);
    `republished`: it has just become the current version (again), so it lists first."""
    fields = {name: getattr(script, name) for name in _versioned_fields()}
    version, created = ScriptVersion.objects.get_or_create(
        script=script,
        version=script.version,
        defaults={**fields, "created_at": at, "published_at": at},
    )
    changed = [name for name, value in fields.items() if getattr(version, name) != value]
    if not created and (changed or republished):
        for name in changed:
            setattr(version, name, fields[name])
        if republished:
            version.published_at = at
        version.save(update_fields=[*changed, *(["published_at"] if republished else [])])
    return version


def _environments_enqueue() -> None:
    """Queue the preparation of each published script's new (or failed) dependency set."""
    published = Script.objects.filter(is_published=True).only("dependencies", "requires_python")
    with_dependencies = [script for script in published if script.dependencies]
    digests = dependencies.environments_register(with_dependencies)
    for digest in digests:
        prepare_environment.enqueue(digest=digest)
    if digests:
        notify_queued()


def run_create(*, user, script: Script, params, levels: tuple[int, ...] | None = None) -> Run:
    """Queue a run of `script` for `user`, after validating its parameters (400, nothing made)
    and the secrets it declares (403 when `user`, with the request's `levels`
    (`roles.request_levels`, default the user's own), may not use one, 409 when one is missing).

    The Run row and its task are written in one transaction, so a run is never queued without
    a task to execute it. More than MAX_ACTIVE_RUNS_PER_USER queued or running runs: 429.
    """
    vault_services.secrets_check_run(user=user, names=script.secrets, levels=levels)
    params = validate_params(script.params_schema, params)
    with transaction.atomic():
        # Two concurrent requests must not both pass the count: lock the user's row, and wake
        # the idle workers at commit in the same statement (`notify_queued(lock_user=...)`).
        # SQLite's IMMEDIATE transactions already run one writer at a time, with no row locks.
        notify_queued(lock_user=user.pk)
        if Run.objects.filter(user=user).active().count() >= settings.MAX_ACTIVE_RUNS_PER_USER:
            raise TooManyActive(
                f"You already have {settings.MAX_ACTIVE_RUNS_PER_USER} runs queued or running; "
                "wait for one to finish or cancel one."
            )
        run = Run.objects.create(
            script=script, script_version=script.version, user=user, params=params
        )
        execute_run.enqueue(run_id=str(run.pk))
        audit.record("run.started", actor=user, target=run, script=script.slug)
    return run


def run_cancel(*, run: Run, actor=None) -> Run:
    """Cancel a run on behalf of `actor`: a queued one ends at once, a running one is stopped
    by its worker within about a second. A finished run: 409."""
    now = timezone.now()
    with transaction.atomic():
        cancelled_in_queue = Run.objects.filter(pk=run.pk, status=RunStatus.QUEUED).update(
            status=RunStatus.CANCELLED,
            cancel_requested_at=now,
            finished_at=now,
            error="The run was cancelled before it started.",
        )
        if not cancelled_in_queue and not Run.objects.filter(
            pk=run.pk, status=RunStatus.RUNNING
        ).update(cancel_requested_at=now):
            raise Conflict("The run has already finished.")
        audit.record("run.cancelled", actor=actor, target=run, was_queued=bool(cancelled_in_queue))
    if cancelled_in_queue:
        notify_finished(run.pk)  # its waiters answer now (a running run's worker signals it)
        announce_finished(run.pk)
    run.refresh_from_db()
    return run
