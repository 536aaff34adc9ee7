"""Services that write scripts and runs."""

from dataclasses import dataclass, field
from pathlib import Path

from django.conf import settings
from django.contrib.auth import get_user_model
from django.db import connection, transaction
from django.utils import timezone

from scripts_api import catalog, dependencies
from scripts_api.models import Run, RunStatus, Script
from scripts_api.params import validate_params
from scripts_api.tasks import execute_run, prepare_environment
from scripts_api.wakeup import notify_queued
from simple_rbas.exceptions import Conflict, TooManyActive

User = get_user_model()


@dataclass
class SyncReport:
    """What `scripts_sync` changed, by slug (and file name for rejected files)."""

    added: list[str] = field(default_factory=list)
    updated: list[str] = field(default_factory=list)
    unchanged: list[str] = field(default_factory=list)
    unpublished: list[str] = field(default_factory=list)
    rejected: dict[str, str] = field(default_factory=dict)

    def lines(self) -> list[str]:
        """One human line per change, for `sync_scripts`."""
        out = [f"added {slug}" for slug in self.added]
        out += [f"updated {slug}" for slug in self.updated]
        out += [f"unpublished {slug}" for slug in self.unpublished]
        out += [f"rejected {name}: {reason}" for name, reason in self.rejected.items()]
        out.append(
            f"{len(self.added) + len(self.updated) + len(self.unchanged)} published, "
            f"{len(self.added)} added, {len(self.updated)} updated, "
            f"{len(self.unpublished)} unpublished, {len(self.rejected)} rejected"
        )
        return out


@transaction.atomic
def scripts_sync(*, directory=None) -> SyncReport:
    """Bring the Script table in line with the scripts folder; run history is never touched."""
    found = catalog.scan(directory)
    report = SyncReport(rejected=found.rejected)
    existing = {script.slug: script for script in Script.objects.select_for_update()}
    now = timezone.now()
    for spec in found.scripts:
        fields = {
            "filename": spec.filename,
            "title": spec.title,
            "description": spec.description,
            "policy": spec.policy,
            "params_schema": spec.params_schema,
            "timeout_seconds": spec.timeout_seconds,
            "memory_mb": spec.memory_mb,
            "version": spec.version,
            "source": spec.source.decode("utf-8", errors="replace"),
            "dependencies": list(spec.dependencies),
            "requires_python": spec.requires_python,
        }
        script = existing.pop(spec.slug, None)
        if script is None:
            Script.objects.create(slug=spec.slug, created_at=now, updated_at=now, **fields)
            report.added.append(spec.slug)
        elif (
            script.version != spec.version
            or not script.is_published
            # The same file read by a newer catalog (labels from docstrings, say) updates too.
            or any(getattr(script, name) != value for name, value in fields.items())
        ):
            for name, value in fields.items():
                setattr(script, name, value)
            script.is_published, script.rejection, script.updated_at = True, "", now
            script.save()
            report.updated.append(spec.slug)
        else:
            report.unchanged.append(spec.slug)
    rejected_slugs = {
        catalog.slug_for(Path(name)): reason for name, reason in found.rejected.items()
    }
    for slug, script in existing.items():
        if script.is_published:
            script.is_published = False
            script.rejection = rejected_slugs.get(slug, "The file was removed.")
            script.updated_at = now
            script.save(update_fields=["is_published", "rejection", "updated_at"])
            report.unpublished.append(slug)
    _environments_enqueue()
    return report


def _environments_enqueue() -> None:
    """Queue the preparation of each published script's new (or failed) dependency set."""
    published = Script.objects.filter(is_published=True).only("dependencies", "requires_python")
    with_dependencies = [script for script in published if script.dependencies]
    digests = dependencies.environments_register(with_dependencies)
    for digest in digests:
        prepare_environment.enqueue(digest=digest)
    if digests:
        notify_queued()


def run_create(*, user, script: Script, params) -> Run:
    """Queue a run of `script` for `user`, after validating its parameters (400, nothing made).

    The Run row and its task are written in one transaction, so a run is never queued without
    a task to execute it. More than MAX_ACTIVE_RUNS_PER_USER queued or running runs: 429.
    """
    params = validate_params(script.params_schema, params)
    with transaction.atomic():
        # Two concurrent requests must not both pass the count: lock the user's row. (SQLite's
        # IMMEDIATE transactions already run one writer at a time, and have no row locks.)
        if connection.features.has_select_for_update:
            User.objects.select_for_update().filter(pk=user.pk).first()
        if Run.objects.filter(user=user).active().count() >= settings.MAX_ACTIVE_RUNS_PER_USER:
            raise TooManyActive(
                f"You already have {settings.MAX_ACTIVE_RUNS_PER_USER} runs queued or running; "
                "wait for one to finish or cancel one."
            )
        run = Run.objects.create(
            script=script, script_version=script.version, user=user, params=params
        )
        execute_run.enqueue(run_id=str(run.pk))
        notify_queued()
    return run


def run_cancel(*, run: Run) -> Run:
    """Cancel a run: a queued one ends at once, a running one is stopped by its worker within
    about a second. A finished run: 409."""
    now = timezone.now()
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
    run.refresh_from_db()
    return run
