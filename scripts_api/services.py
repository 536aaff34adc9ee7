"""Services that write scripts and runs."""

from dataclasses import dataclass, field
from pathlib import Path

from django.db import transaction
from django.utils import timezone

from scripts_api import catalog
from scripts_api.models import Script


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
        }
        script = existing.pop(spec.slug, None)
        if script is None:
            Script.objects.create(slug=spec.slug, created_at=now, updated_at=now, **fields)
            report.added.append(spec.slug)
        elif script.version != spec.version or not script.is_published:
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
    return report
