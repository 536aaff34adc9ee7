"""Script files' own schedules (`SCHEDULE = ...`), kept in line with the files at each sync."""

from django.utils import timezone

from schedules.models import Schedule, Source
from schedules.services import _record
from scripts_api.cron import next_tick
from scripts_api.models import Script
from users.models import User


def file_schedules_sync(*, specs, kept: set[str]) -> list[str]:
    """Create, change or remove the `file` schedule of each script as its file now says;
    the scripts in `kept` (their new content rejected) keep theirs. Returns warnings."""
    warnings, declared = [], {}
    for spec in specs:
        if spec.schedule is not None:
            declared[spec.slug] = spec.schedule
    existing = {
        s.script.slug: s
        for s in Schedule.objects.filter(source=Source.FILE).select_related("script")
    }
    for slug, schedule in existing.items():
        if slug not in declared and slug not in kept:
            _record("deleted", None, schedule)
            schedule.delete()
    now = timezone.now()
    scripts = Script.objects.in_bulk(list(declared), field_name="slug")
    for slug, wanted in declared.items():
        run_as = User.objects.filter(username=wanted["run_as"]).first()
        if run_as is None:
            warnings.append(f"schedule of {slug} not set: no user {wanted['run_as']!r}")
            if slug in existing:
                _record("deleted", None, existing[slug])
                existing[slug].delete()
            continue
        schedule = existing.get(slug)
        fields = {
            "cron": wanted["cron"],
            "timezone": wanted["timezone"],
            "params": wanted["params"],
            "run_as": run_as,
        }
        if schedule is None:
            schedule = Schedule.objects.create(
                script=scripts[slug],
                source=Source.FILE,
                created_at=now,
                updated_at=now,
                next_run_at=next_tick(wanted["cron"], wanted["timezone"], now),
                **fields,
            )
            _record("created", None, schedule)
        elif any(getattr(schedule, name) != value for name, value in fields.items()):
            timing = (schedule.cron, schedule.timezone) != (wanted["cron"], wanted["timezone"])
            for name, value in fields.items():
                setattr(schedule, name, value)
            if timing:
                schedule.next_run_at = next_tick(schedule.cron, schedule.timezone, now)
            schedule.updated_at = now
            schedule.save()
            _record("changed", None, schedule)
    return warnings
