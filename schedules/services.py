"""Services that write schedules and fire their ticks (docs/schedules.md)."""

from datetime import datetime

from django.db import IntegrityError, transaction
from django.utils import timezone
from rest_framework import exceptions

from audit import services as audit
from schedules.models import Schedule, ScheduleTick, Source, TickStatus
from scripts_api import selectors as script_selectors
from scripts_api import services as script_services
from scripts_api.cron import cron_problem, next_tick, ticks_after, zone_problem
from scripts_api.models import Script
from scripts_api.params import validate_params
from users.services import check_assignment

# Missed ticks older than the one that runs are recorded, up to this many (the most recent).
MAX_MISSED_RECORDED = 100
MISSED_REASON = "The service was not running at this time; only the most recent missed tick runs."


def _record(event: str, actor, schedule: Schedule) -> None:
    """Record a schedule change (`created`, `changed`, `paused`, `resumed`, `deleted`) in the
    audit log, in the change's transaction; `actor` None: `sync_scripts` changed a file's
    schedule. Called before a delete, so the schedule is still whole."""
    audit.record(
        f"schedule.{event}",
        actor=actor,
        target=schedule,
        script=schedule.script.slug,
        cron=schedule.cron,
        timezone=schedule.timezone,
        run_as=schedule.run_as.get_username(),
        paused=schedule.paused,
        source=schedule.source,
    )


def check_cron_and_zone(cron: str, zone: str) -> None:
    """400 with cronsim's (or zoneinfo's) reason when `cron` or `zone` is invalid."""
    problems = {}
    if problem := cron_problem(cron):
        problems["cron"] = [problem]
    if problem := zone_problem(zone):
        problems["timezone"] = [problem]
    if problems:
        raise exceptions.ValidationError(problems)


def run_as_problem(run_as, script: Script) -> str | None:
    """Why `run_as` may not run `script` now (inactive, or not allowed by its policy)."""
    if not run_as.is_active:
        return f"The user {run_as.username} is deactivated."
    if not script.is_published:
        return f"The script {script.slug} is no longer published."
    if not script.allows(run_as.level):
        words = script_selectors.policy_in_words(script.policy)
        return f"The user {run_as.username} may not run {script.slug}: it is for {words}."
    return None


def _check(*, actor, script: Script, run_as, params) -> dict:
    """The assignment rules (an admin cannot schedule as an owner or another admin: 403),
    the run-as user's policy and the parameters (400)."""
    if actor is not None:
        check_assignment(actor=actor, target=run_as, level=None, deactivate=False)
    if problem := run_as_problem(run_as, script):
        raise exceptions.ValidationError({"run_as": [problem]})
    return validate_params(script.params_schema, params)


@transaction.atomic
def schedule_create(
    *, actor, script: Script, cron: str, timezone_name: str, params: dict, run_as, paused=False
) -> Schedule:
    """Create an API schedule for `actor`; its first tick is the first one after now."""
    check_cron_and_zone(cron, timezone_name)
    params = _check(actor=actor, script=script, run_as=run_as, params=params)
    now = timezone.now()
    schedule = Schedule.objects.create(
        script=script,
        cron=" ".join(cron.split()),
        timezone=timezone_name,
        params=params,
        run_as=run_as,
        owner=actor,
        paused=paused,
        next_run_at=next_tick(cron, timezone_name, now),
        created_at=now,
        updated_at=now,
    )
    _record("created", actor, schedule)
    return schedule


def check_may_change(*, actor, schedule: Schedule) -> None:
    """403 when `actor` (an admin) may not touch a schedule that runs as an owner or admin."""
    check_assignment(actor=actor, target=schedule.run_as, level=None, deactivate=False)


@transaction.atomic
def schedule_update(*, actor, schedule: Schedule, **changes) -> Schedule:
    """Change an API schedule (a file's schedule: 400, its file is the source of truth)."""
    check_may_change(actor=actor, schedule=schedule)
    if schedule.source == Source.FILE:
        raise exceptions.ValidationError(
            "This schedule is declared by its script file: change the file, or pause it."
        )
    cron = changes.get("cron", schedule.cron)
    zone = changes.get("timezone", schedule.timezone)
    check_cron_and_zone(cron, zone)
    script = changes.get("script", schedule.script)
    params = changes.get("params", schedule.params if script == schedule.script else {})
    run_as = changes.get("run_as", schedule.run_as)
    params = _check(actor=actor, script=script, run_as=run_as, params=params)
    now = timezone.now()
    schedule.script, schedule.run_as, schedule.params = script, run_as, params
    if (cron, zone) != (schedule.cron, schedule.timezone):
        schedule.cron, schedule.timezone = " ".join(cron.split()), zone
        schedule.next_run_at = next_tick(schedule.cron, zone, now)
    schedule.updated_at = now
    schedule.save()
    _record("changed", actor, schedule)
    return schedule


@transaction.atomic
def schedule_pause(*, actor, schedule: Schedule) -> Schedule:
    """Pause: no tick fires until resumed."""
    check_may_change(actor=actor, schedule=schedule)
    schedule.paused, schedule.updated_at = True, timezone.now()
    schedule.save(update_fields=["paused", "updated_at"])
    _record("paused", actor, schedule)
    return schedule


@transaction.atomic
def schedule_resume(*, actor, schedule: Schedule) -> Schedule:
    """Resume from the first tick after now: the ticks missed while paused are not replayed."""
    check_may_change(actor=actor, schedule=schedule)
    now = timezone.now()
    schedule.paused, schedule.updated_at = False, now
    schedule.next_run_at = next_tick(schedule.cron, schedule.timezone, now)
    schedule.save(update_fields=["paused", "next_run_at", "updated_at"])
    _record("resumed", actor, schedule)
    return schedule


@transaction.atomic
def schedule_delete(*, actor, schedule: Schedule) -> None:
    """Delete an API schedule and its ticks (the runs stay); a file's schedule: 400."""
    check_may_change(actor=actor, schedule=schedule)
    if schedule.source == Source.FILE:
        raise exceptions.ValidationError(
            "This schedule is declared by its script file: remove SCHEDULE there, or pause it."
        )
    _record("deleted", actor, schedule)
    schedule.delete()


def fire_due(now: datetime | None = None) -> int:
    """Fire every schedule due at `now` (default: the clock), at most once per tick however
    many processes call this at the same time; return how many ticks this call fired or
    skipped. Taking `now` lets tests control the clock."""
    now = now or timezone.now()
    handled = 0
    for pk in list(Schedule.objects.due(now).values_list("pk", flat=True)):
        handled += _fire(pk, now)
    return handled


def _fire(pk: int, now: datetime) -> bool:
    """Fire schedule `pk`'s most recent due tick (older due ticks: `missed`) and move its
    next_run_at to the first tick after `now`, in one transaction."""
    with transaction.atomic():
        # Another worker holding the row is firing it: skip it. Lock the schedule's row only
        # (`of`): its script and user are shared with other schedules, which must not be
        # skipped. (SQLite: BEGIN IMMEDIATE already serialises the whole transaction.)
        schedule = (
            Schedule.objects.select_for_update(skip_locked=True, of=("self",))
            .due(now)
            .filter(pk=pk)
            .select_related("script", "run_as")
            .first()
        )
        if schedule is None:
            return False
        due = [schedule.next_run_at]
        due += _ticks_until(schedule, schedule.next_run_at, now)
        latest, missed = due[-1], due[:-1][-MAX_MISSED_RECORDED:]
        ScheduleTick.objects.bulk_create(
            [
                ScheduleTick(
                    schedule=schedule,
                    tick_at=at,
                    status=TickStatus.MISSED,
                    reason=MISSED_REASON,
                    recorded_at=now,
                )
                for at in missed
            ],
            ignore_conflicts=True,
        )
        try:
            with transaction.atomic():
                tick = ScheduleTick.objects.create(
                    schedule=schedule, tick_at=latest, status=TickStatus.SKIPPED, recorded_at=now
                )
        except IntegrityError:
            tick = None  # fired already (the constraint is the last line of defence)
        if tick is not None:
            _run(schedule, tick)
        schedule.next_run_at = next_tick(schedule.cron, schedule.timezone, now)
        schedule.last_tick_at = latest
        schedule.save(update_fields=["next_run_at", "last_tick_at"])
    return tick is not None


def _ticks_until(schedule: Schedule, after: datetime, now: datetime) -> list[datetime]:
    """The ticks after `after` up to `now`, keeping only the last MAX_MISSED_RECORDED + 1."""
    found: list[datetime] = []
    while True:
        batch = ticks_after(schedule.cron, schedule.timezone, after, 500)
        found += [at for at in batch if at <= now]
        found = found[-(MAX_MISSED_RECORDED + 1) :]
        if not batch or batch[-1] > now:
            return found
        after = batch[-1]


def _run(schedule: Schedule, tick: ScheduleTick) -> None:
    """Queue the run of `tick` as the schedule's user, through the same service as the API
    (policy, parameters, secrets, the active-runs limit); a refusal skips the tick, with why."""
    problem = run_as_problem(schedule.run_as, schedule.script)
    run = None
    if problem is None:
        try:
            with transaction.atomic():
                run = script_services.run_create(
                    user=schedule.run_as, script=schedule.script, params=schedule.params
                )
        except exceptions.APIException as error:
            problem = _words(error.detail)
    if run is None:
        tick.reason = problem
    else:
        tick.status, tick.run = TickStatus.FIRED, run
    tick.save(update_fields=["status", "reason", "run"])


def _words(detail) -> str:
    """An API error's detail as one line."""
    if isinstance(detail, dict):
        return "; ".join(f"{key}: {_words(value)}" for key, value in detail.items())
    if isinstance(detail, list):
        return " ".join(_words(item) for item in detail)
    return str(detail)
