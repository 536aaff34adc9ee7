"""The tick loop with a controlled clock: `fire_due(now)`."""

from datetime import UTC, datetime, timedelta

import pytest
from django.db import IntegrityError

from schedules import selectors, services
from schedules.models import Schedule, ScheduleTick, TickStatus
from scripts_api.models import Run, Script
from users.roles import Level

pytestmark = pytest.mark.django_db

T0 = datetime(2027, 3, 1, 6, 59, tzinfo=UTC)  # a Monday


def at(hours: float) -> datetime:
    return T0 + timedelta(hours=hours)


@pytest.fixture
def schedule(catalog, users):
    """Every hour at :00, hello as the write user, created at T0 (next tick 07:00 UTC)."""
    return Schedule.objects.create(
        script=Script.objects.get(slug="hello"),
        cron="0 * * * *",
        timezone="UTC",
        params={"name": "cron"},
        run_as=users[Level.WRITE],
        owner=users[Level.OWNER],
        next_run_at=datetime(2027, 3, 1, 7, tzinfo=UTC),
    )


def test_nothing_fires_before_the_tick(schedule):
    assert services.fire_due(at(0)) == 0
    assert not Run.objects.exists()


def test_a_due_tick_fires_exactly_once_and_next_run_advances(schedule):
    now = at(0) + timedelta(minutes=1, seconds=3)  # 07:00:03
    assert services.fire_due(now) == 1
    assert services.fire_due(now) == 0
    assert services.fire_due(now + timedelta(seconds=30)) == 0
    run = Run.objects.get()
    assert run.user == schedule.run_as and run.params == {"name": "cron"}
    tick = ScheduleTick.objects.get()
    assert (tick.status, tick.run, tick.tick_at) == (TickStatus.FIRED, run, schedule.next_run_at)
    schedule.refresh_from_db()
    assert schedule.next_run_at == datetime(2027, 3, 1, 8, tzinfo=UTC)
    assert selectors.schedule_of_run(run) == schedule


def test_each_tick_gets_its_own_run(schedule):
    for hour in (1, 2, 3):
        assert services.fire_due(at(hour)) == 1
    assert Run.objects.count() == 3
    assert sorted(t.tick_at.hour for t in ScheduleTick.objects.all()) == [7, 8, 9]


def test_missed_ticks_after_downtime_give_one_run_for_the_latest(schedule):
    assert services.fire_due(at(5) + timedelta(minutes=30)) == 1  # 12:29: 07..12 were due
    assert Run.objects.count() == 1
    fired = ScheduleTick.objects.get(status=TickStatus.FIRED)
    assert fired.tick_at == datetime(2027, 3, 1, 12, tzinfo=UTC)
    missed = ScheduleTick.objects.filter(status=TickStatus.MISSED)
    assert sorted(t.tick_at.hour for t in missed) == [7, 8, 9, 10, 11]
    assert all("most recent missed tick" in t.reason for t in missed)
    schedule.refresh_from_db()
    assert schedule.next_run_at == datetime(2027, 3, 1, 13, tzinfo=UTC)


def test_a_year_of_missed_minutes_records_a_bounded_number(schedule):
    Schedule.objects.filter(pk=schedule.pk).update(cron="* * * * *")
    assert services.fire_due(at(24 * 365)) == 1
    assert Run.objects.count() == 1
    assert ScheduleTick.objects.filter(status=TickStatus.MISSED).count() == 100


def test_paused_schedule_does_not_fire_and_resume_does_not_replay(schedule, users, settings):
    services.schedule_pause(actor=users[Level.OWNER], schedule=schedule)
    assert services.fire_due(at(3)) == 0
    services.schedule_resume(actor=users[Level.OWNER], schedule=schedule)
    schedule.refresh_from_db()
    assert schedule.next_run_at > datetime.now(UTC)  # from the real clock: nothing missed runs
    assert not ScheduleTick.objects.exists() and not Run.objects.exists()


def test_demoted_run_as_user_gets_no_run_and_the_tick_says_why(catalog, users):
    writer = users[Level.WRITE]
    schedule = Schedule.objects.create(
        script=Script.objects.get(slug="price-quote"),
        cron="0 * * * *",
        timezone="UTC",
        params={"customer": "ACME", "plan": "team", "seats": 3, "start_date": "2027-01-04"},
        run_as=writer,
        next_run_at=datetime(2027, 3, 1, 7, tzinfo=UTC),
    )
    writer.level = Level.READ_ONLY
    writer.save()
    assert services.fire_due(at(1)) == 1
    tick = ScheduleTick.objects.get(schedule=schedule)
    assert tick.status == TickStatus.SKIPPED and tick.run is None
    assert "may not run price-quote" in tick.reason
    assert not Run.objects.exists()


def test_deactivated_run_as_user_gets_no_run(schedule):
    schedule.run_as.is_active = False
    schedule.run_as.save()
    services.fire_due(at(1))
    tick = ScheduleTick.objects.get()
    assert tick.status == TickStatus.SKIPPED and "deactivated" in tick.reason
    assert not Run.objects.exists()


def test_too_many_active_runs_skips_the_tick_with_the_reason(schedule, settings):
    settings.MAX_ACTIVE_RUNS_PER_USER = 1
    assert services.fire_due(at(1)) == 1
    assert services.fire_due(at(2)) == 1  # the first run is still queued
    assert Run.objects.count() == 1
    skipped = ScheduleTick.objects.get(status=TickStatus.SKIPPED)
    assert "runs queued or running" in skipped.reason


def test_the_database_refuses_a_second_row_for_one_tick(schedule):
    ScheduleTick.objects.create(schedule=schedule, tick_at=at(1), status=TickStatus.FIRED)
    with pytest.raises(IntegrityError):
        ScheduleTick.objects.create(schedule=schedule, tick_at=at(1), status=TickStatus.SKIPPED)


def test_dst_spring_forward_runs_the_skipped_time_once_at_the_next_valid_minute(catalog, users):
    schedule = Schedule.objects.create(
        script=Script.objects.get(slug="hello"),
        cron="30 2 * * *",
        timezone="Europe/Paris",
        run_as=users[Level.WRITE],
        next_run_at=datetime(2027, 3, 27, 1, 30, tzinfo=UTC),  # 02:30 CET on the 27th
    )
    assert services.fire_due(datetime(2027, 3, 27, 1, 31, tzinfo=UTC)) == 1
    schedule.refresh_from_db()
    # 28 March 2027: 02:00 CET jumps to 03:00 CEST; 02:30 does not exist, so 03:00 CEST.
    assert schedule.next_run_at == datetime(2027, 3, 28, 1, 0, tzinfo=UTC)
    assert services.fire_due(datetime(2027, 3, 28, 1, 0, 5, tzinfo=UTC)) == 1
    schedule.refresh_from_db()
    assert schedule.next_run_at == datetime(2027, 3, 29, 0, 30, tzinfo=UTC)  # 02:30 CEST
    assert Run.objects.count() == 2


def test_dst_fall_back_runs_a_repeated_time_once(catalog, users):
    schedule = Schedule.objects.create(
        script=Script.objects.get(slug="hello"),
        cron="30 2 * * *",
        timezone="Europe/Paris",
        run_as=users[Level.WRITE],
        next_run_at=datetime(2027, 10, 31, 0, 30, tzinfo=UTC),  # the first 02:30 (CEST)
    )
    for minutes in range(0, 120, 10):  # polls through both 02:30s
        services.fire_due(datetime(2027, 10, 31, 0, 31, tzinfo=UTC) + timedelta(minutes=minutes))
    assert Run.objects.count() == 1
    schedule.refresh_from_db()
    assert schedule.next_run_at == datetime(2027, 11, 1, 1, 30, tzinfo=UTC)  # 02:30 CET


def test_script_page_shows_next_runs_through_selectors(schedule):
    assert list(selectors.schedules_of_script("hello")) == [schedule]
    runs = selectors.next_runs(schedule)
    assert [r["at"] for r in runs[:2]] == ["2027-03-01T07:00:00Z", "2027-03-01T08:00:00Z"]


def test_a_tick_already_recorded_makes_no_second_run_and_moves_on(schedule):
    # As if another process had fired it and this one read the schedule before its commit.
    ScheduleTick.objects.create(schedule=schedule, tick_at=at(1 / 60), status=TickStatus.FIRED)
    assert services.fire_due(at(0) + timedelta(minutes=2)) == 0
    assert not Run.objects.exists()
    schedule.refresh_from_db()
    assert schedule.next_run_at == datetime(2027, 3, 1, 8, tzinfo=UTC)


def test_a_run_someone_started_has_no_schedule(schedule, users):
    from scripts_api.services import run_create

    run = run_create(user=users[Level.WRITE], script=schedule.script, params={})
    assert selectors.schedule_of_run(run) is None


def test_the_api_shows_the_ticks_and_their_runs(schedule, users, bearer_client):
    services.fire_due(at(5) + timedelta(minutes=1))
    body = bearer_client(users[Level.OWNER]).get(f"/api/schedules/{schedule.pk}/").json()
    fired, *missed = body["recent_ticks"]
    run = Run.objects.get()
    assert (fired["status"], fired["run"], fired["run_status"]) == ("fired", str(run.pk), "queued")
    assert fired["tick_at"].startswith("2027-03-01T12:00:00")
    assert [tick["status"] for tick in missed] == ["missed"] * 5
    assert body["last_tick_at"].startswith("2027-03-01T12:00:00")
