"""Exactly one run per tick, whatever the number of processes firing at the same moment:
real processes race on the same due ticks (on PostgreSQL in CI, and on SQLite)."""

import multiprocessing
from datetime import UTC, datetime, timedelta

import pytest
from django.db import connection

from schedules.models import Schedule, ScheduleTick, TickStatus
from scripts_api.models import Run, Script
from tests.conftest import database_url, wait_for
from tests.schedules.racer import race
from users.roles import Level

PROCESSES = 4
SCHEDULES = 5
TICKS = 8
START = datetime(2027, 3, 1, 7, tzinfo=UTC)


@pytest.fixture
def due_schedules(transactional_db, catalog, make_user):
    hello = Script.objects.get(slug="hello")
    return [
        Schedule.objects.create(
            script=hello,
            cron="* * * * *",
            timezone="UTC",
            run_as=make_user(Level.WRITE),
            next_run_at=START,
        )
        for _ in range(SCHEDULES)
    ]


def test_processes_racing_on_the_same_ticks_make_exactly_one_run_each(due_schedules):
    times = [START + timedelta(minutes=i, seconds=1) for i in range(TICKS)]
    context = multiprocessing.get_context("spawn")
    barrier, results = context.Barrier(PROCESSES), context.Queue()
    racers = [
        context.Process(target=race, args=(barrier, database_url(), times, results))
        for _ in range(PROCESSES)
    ]
    for racer in racers:
        racer.start()
    handled = [results.get(timeout=120) for _ in racers]
    for racer in racers:
        racer.join(timeout=30)
        assert racer.exitcode == 0
    assert sum(handled) == SCHEDULES * TICKS
    if connection.vendor == "postgresql":
        assert sum(1 for count in handled if count) > 1  # the work was really shared
    assert Run.objects.count() == SCHEDULES * TICKS
    ticks = ScheduleTick.objects.all()
    assert ticks.count() == SCHEDULES * TICKS
    assert all(tick.status == TickStatus.FIRED and tick.run_id for tick in ticks)
    for schedule in due_schedules:
        fired = sorted(t.tick_at for t in ticks if t.schedule_id == schedule.pk)
        assert fired == [START + timedelta(minutes=i) for i in range(TICKS)]


def test_a_real_db_worker_fires_a_due_schedule_and_the_run_finishes(due_schedules, start_worker):
    schedule = due_schedules[0]
    Schedule.objects.exclude(pk=schedule.pk).update(paused=True)
    # Once a year, due a second ago: the workers' real clocks fire it once, and only once.
    Schedule.objects.filter(pk=schedule.pk).update(
        cron="0 0 1 1 *", next_run_at=datetime.now(UTC) - timedelta(seconds=1)
    )
    start_worker(SCHEDULES_POLL_SECONDS="0.2")
    start_worker(SCHEDULES_POLL_SECONDS="0.2")
    run = wait_for(lambda: Run.objects.filter(status="succeeded").first(), timeout=60)
    assert run.user == schedule.run_as
    assert ScheduleTick.objects.get(run=run).schedule_id == schedule.pk
    assert Run.objects.count() == 1
