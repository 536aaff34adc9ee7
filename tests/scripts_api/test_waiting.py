"""The web side of a run: the statements a submit and a `?wait` answer cost, and long-polls
woken by the run's end (scripts_api/waiting.py, scripts_api/wakeup.py) rather than by polling."""

import threading
import time

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from scripts_api import wakeup
from scripts_api.models import Run, RunStatus
from scripts_api.waiting import wait_room
from tests.conftest import wait_for
from users.roles import Level

# Upper bounds: a statement more is a regression to look at, not a figure to raise quietly.
# auth (session and user, one join) + script + BEGIN + [lock and NOTIFY: PostgreSQL] + count +
# run + task + its audit event (`run.started`, issue 19) + COMMIT (SAVEPOINT and RELEASE inside
# the test's transaction).
SUBMIT_STATEMENTS = {"sqlite": 8, "postgresql": 9}


@pytest.fixture
def room():
    """The process's waiting room (tests/conftest.py releases its connections after each test)."""
    return wait_room


def _statements(queries) -> list[str]:
    return [query["sql"] for query in queries.captured_queries]


def test_a_submit_costs_a_bounded_number_of_statements(catalog, users, bearer_client):
    client = bearer_client(users[Level.WRITE])
    client.post("/api/scripts/hello/runs/", {}, format="json")  # caches warm
    with CaptureQueriesContext(connection) as queries:
        response = client.post("/api/scripts/hello/runs/", {}, format="json")
    assert response.status_code == 202
    assert len(queries) <= SUBMIT_STATEMENTS[connection.vendor], _statements(queries)
    # The run is serialised from the object in hand: never read back.
    assert not [sql for sql in _statements(queries) if sql.startswith('SELECT "scripts_api_run')]


def test_a_wait_answer_for_a_finished_run_costs_two_statements(catalog, users, bearer_client):
    from scripts_api.execution import run_execute

    client = bearer_client(users[Level.WRITE])
    run_id = client.post("/api/scripts/hello/runs/", {}, format="json").json()["id"]
    run_execute(run_id=run_id)
    with CaptureQueriesContext(connection) as queries:
        response = client.get(f"/api/runs/{run_id}/?wait=5")
    assert response.json()["status"] == "succeeded"
    assert len(queries) <= 2, _statements(queries)  # auth, the run with its script


def _finish_later(run_id, delay: float, signal: bool) -> threading.Thread:
    """As a worker does, `delay` seconds from now: record the run's end, then signal it (or,
    with `signal` false, lose the signal)."""

    def finish() -> None:
        time.sleep(delay)
        try:
            Run.objects.filter(pk=run_id).update(
                status=RunStatus.SUCCEEDED, finished_at=timezone.now()
            )
            if signal:
                wakeup.notify_finished(run_id)
        finally:
            connection.close()

    thread = threading.Thread(target=finish)
    thread.start()
    return thread


def _queued_run(client) -> str:
    response = client.post("/api/scripts/sleepy/runs/", {}, format="json")
    assert response.status_code == 202
    return response.json()["id"]


def _listening(room) -> None:
    """A first wait starts the listener; later ones find it up."""
    deadline = time.monotonic() + 10
    while not room.listening and time.monotonic() < deadline:
        time.sleep(0.02)
    assert room.listening


def test_a_finishing_run_wakes_its_waiter_at_once_even_with_a_long_fallback_poll(
    catalog, users, bearer_client, room, monkeypatch, transactional_db
):
    monkeypatch.setattr(room, "FALLBACK_SECONDS", 30.0)
    client = bearer_client(users[Level.WRITE])
    warm = _queued_run(client)
    client.get(f"/api/runs/{warm}/?wait=1")  # starts the listener
    _listening(room)
    for _ in range(3):
        run_id = _queued_run(client)
        finisher = _finish_later(run_id, 0.3, signal=True)
        started = time.monotonic()
        answer = client.get(f"/api/runs/{run_id}/?wait=20").json()
        took = time.monotonic() - started
        finisher.join()
        assert answer["status"] == "succeeded"
        assert took < 1.5, took  # woken by the signal: the poll would take 30 s


def test_a_lost_signal_is_answered_by_the_fallback_poll(
    catalog, users, bearer_client, room, monkeypatch, transactional_db
):
    monkeypatch.setattr(room, "FALLBACK_SECONDS", 0.5)
    client = bearer_client(users[Level.WRITE])
    warm = _queued_run(client)
    client.get(f"/api/runs/{warm}/?wait=1")
    _listening(room)
    run_id = _queued_run(client)
    finisher = _finish_later(run_id, 0.3, signal=False)
    started = time.monotonic()
    answer = client.get(f"/api/runs/{run_id}/?wait=20").json()
    took = time.monotonic() - started
    finisher.join()
    assert answer["status"] == "succeeded"
    assert took < 5, took


def test_a_signal_that_came_before_the_wait_began_still_wakes_it(
    catalog, users, bearer_client, room, monkeypatch, transactional_db
):
    monkeypatch.setattr(room, "FALLBACK_SECONDS", 30.0)
    client = bearer_client(users[Level.WRITE])
    warm = _queued_run(client)
    client.get(f"/api/runs/{warm}/?wait=1")
    _listening(room)
    run_id = _queued_run(client)
    run = Run.objects.get(pk=run_id)  # the caller's copy: queued
    _finish_later(run_id, 0, signal=True).join()
    deadline = time.monotonic() + 5
    while run_id not in room._finished and time.monotonic() < deadline:
        time.sleep(0.01)
    started = time.monotonic()
    assert room.wait(run, 20) == "changed"
    assert time.monotonic() - started < 1


def test_a_real_worker_wakes_the_waiter_of_the_run_it_finishes(
    catalog, users, bearer_client, room, monkeypatch, start_worker
):
    monkeypatch.setattr(room, "FALLBACK_SECONDS", 30.0)
    client = bearer_client(users[Level.WRITE])
    warm = _queued_run(client)
    client.get(f"/api/runs/{warm}/?wait=1")
    assert client.post(f"/api/runs/{warm}/cancel/").status_code == 202
    _listening(room)
    worker = start_worker()
    wait_for(lambda: b"Starting worker" in worker.log_path.read_bytes())
    started = time.monotonic()
    response = client.post("/api/scripts/hello/runs/?wait=25", {}, format="json")
    took = time.monotonic() - started
    assert response.status_code == 200 and response.json()["status"] == "succeeded"
    assert took < 10, took
    # Only a signal can have answered before the fallback poll's 30 s.


def test_cancelling_a_queued_run_wakes_its_waiter_at_once(
    catalog, users, bearer_client, room, monkeypatch, transactional_db
):
    monkeypatch.setattr(room, "FALLBACK_SECONDS", 30.0)
    client = bearer_client(users[Level.WRITE])
    warm = _queued_run(client)
    client.get(f"/api/runs/{warm}/?wait=1")
    _listening(room)
    run_id = _queued_run(client)
    canceller = bearer_client(users[Level.WRITE])

    def cancel() -> None:
        time.sleep(0.3)
        try:
            assert canceller.post(f"/api/runs/{run_id}/cancel/").status_code == 202
        finally:
            connection.close()

    thread = threading.Thread(target=cancel)
    thread.start()
    started = time.monotonic()
    answer = client.get(f"/api/runs/{run_id}/?wait=20").json()
    took = time.monotonic() - started
    thread.join()
    assert answer["status"] == "cancelled"
    assert took < 1.5, took
