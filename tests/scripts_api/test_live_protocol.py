"""Live output below the API: the sandbox's output events, the one function that stores them,
and the `rbas` module scripts import."""

import itertools
import math
import time

import pytest
from django.db import DatabaseError, OperationalError

from scripts_api import execution, rbas
from scripts_api.execution import LeaseMonitor, _store_live_output
from scripts_api.models import Run, RunStatus, Script
from scripts_api.sandbox import LiveOutput, SandboxError, get_sandbox
from tests.scripts_api.test_sandbox import is_alive
from tests.scripts_api.test_sandbox_protocol import (
    SLOW_FIRST_RUN,
    assert_next_runs_get_their_own_outcome,
    spec,
    workdir,
)

PRINTS_THEN_WAITS = """
    import sys, time
    import rbas
    def main():
        print("one")
        print("два 🙂", file=sys.stderr)
        rbas.progress(0.5, "half")
        time.sleep(0.6)
        print("two")
        time.sleep(0.4)
        return "done"
"""


def test_output_comes_in_events_while_the_script_runs_and_adds_up_to_the_end(tmp_path):
    seen: list[tuple[float, str, str, dict | None]] = []
    started = time.monotonic()

    def on_output(live: LiveOutput) -> None:
        seen.append((time.monotonic() - started, live.stdout, live.stderr, live.progress))

    outcome = get_sandbox().run(spec(PRINTS_THEN_WAITS), workdir(tmp_path), on_output=on_output)
    assert outcome.status == "succeeded"
    assert outcome.progress == {"fraction": 0.5, "message": "half"}
    # Before "two" is printed (0.6 s in), the first line, in its own characters, is out.
    early = [event for event in seen if event[0] < 0.55]
    assert early[-1][1:] == ("one\n", "два 🙂\n", {"fraction": 0.5, "message": "half"})
    assert seen[-1][1:3] == (outcome.stdout, outcome.stderr)
    # Batched: a few events, at least 0.2 s apart.
    times = [moment for moment, *_ in seen]
    assert 2 <= len(seen) <= 5
    assert all(b - a >= 0.19 for a, b in itertools.pairwise(times))


def test_a_quick_run_sends_no_output_event(tmp_path):
    events = []
    quick = 'def main():\n    print("hi")\n    return 1\n'
    outcome = get_sandbox().run(spec(quick), workdir(tmp_path), on_output=events.append)
    assert outcome.stdout == "hi\n" and events == []


def test_an_output_event_of_another_run_is_refused_and_the_server_reset(tmp_path):
    sandbox = get_sandbox()
    folder = workdir(tmp_path)
    forged = (
        b'{"event": "output", "run": "someone-elses-run", "stdout": "stolen", "stderr": "",'
        b' "progress": null}\n'
    )

    def slip_in_another_runs_output():
        if (folder / "output" / "pid").exists() and forged not in sandbox._pending:
            sandbox._pending += forged
        return None

    with pytest.raises(SandboxError, match="another run"):
        sandbox.run(spec(SLOW_FIRST_RUN), folder, slip_in_another_runs_output)
    first = int((folder / "output" / "pid").read_text())
    time.sleep(0.2)
    assert not is_alive(first)
    assert_next_runs_get_their_own_outcome(tmp_path)


def test_a_garbled_output_event_is_a_protocol_error(tmp_path):
    sandbox = get_sandbox()
    folder = workdir(tmp_path)

    first = spec(SLOW_FIRST_RUN)
    garbled = b'{"event": "output", "run": "%s", "stdout": 42, "stderr": ""}\n' % (
        first.run_id.encode()
    )

    def slip_in_garbled_output():
        if (folder / "output" / "pid").exists() and garbled not in sandbox._pending:
            sandbox._pending += garbled
        return None

    with pytest.raises(SandboxError, match="garbled output"):
        sandbox.run(first, folder, slip_in_garbled_output)
    assert_next_runs_get_their_own_outcome(tmp_path)


@pytest.fixture
def running_run(users, catalog):
    from users.roles import Level

    run = Run.objects.create(
        script=Script.objects.get(slug="hello"),
        user=users[Level.WRITE],
        status=RunStatus.RUNNING,
        worker_id="worker-a",
    )
    return run


def test_live_output_is_stored_only_while_the_worker_holds_the_lease(running_run):
    progress = {"fraction": 0.3, "message": "nul\x00"}
    stored = _store_live_output(
        run_id=running_run.pk, worker_id="worker-a", stdout="a\x00", stderr="b", progress=progress
    )
    running_run.refresh_from_db()
    assert stored and (running_run.stdout, running_run.stderr) == ("a\ufffd", "b")
    assert (running_run.progress, running_run.progress_message) == (0.3, "nul\ufffd")
    assert running_run.output_version == 1
    # Another worker took the run over: the first one's late output is not stored.
    assert not _store_live_output(
        run_id=running_run.pk, worker_id="worker-b", stdout="late", stderr="", progress=None
    )
    Run.objects.filter(pk=running_run.pk).update(status=RunStatus.FAILED)
    assert not _store_live_output(
        run_id=running_run.pk, worker_id="worker-a", stdout="late", stderr="", progress=None
    )
    running_run.refresh_from_db()
    assert running_run.stdout == "a\ufffd" and running_run.output_version == 1


def test_the_lease_monitor_stores_at_most_twice_a_second(running_run):
    monitor = LeaseMonitor(running_run.pk, "worker-a")
    live = LiveOutput()
    for text in ("1", "2", "3"):
        live.add({"stdout": text, "stderr": "", "progress": None})
        monitor.on_output(live)
        assert monitor() is None
    running_run.refresh_from_db()
    assert running_run.stdout == "1" and running_run.output_version == 1
    monitor.stored_at -= execution.LIVE_STORE_SECONDS
    assert monitor() is None
    running_run.refresh_from_db()
    assert running_run.stdout == "123" and running_run.output_version == 2
    monitor.stored_at -= execution.LIVE_STORE_SECONDS
    assert monitor() is None  # nothing new: nothing written
    running_run.refresh_from_db()
    assert running_run.output_version == 2


@pytest.mark.parametrize(
    "error",
    [DatabaseError("value too long"), OperationalError("server closed the connection")],
)
def test_a_database_error_storing_live_output_never_stops_the_run(running_run, monkeypatch, error):
    def refuse(**kwargs):
        raise error

    monkeypatch.setattr(execution, "_store_live_output", refuse)
    monitor = LeaseMonitor(running_run.pk, "worker-a")
    live = LiveOutput()
    live.add({"stdout": "x", "stderr": "", "progress": None})
    monitor.on_output(live)
    assert monitor() is None  # the run goes on
    assert monitor.stored_version == 0  # and the update is tried again at the next store due


@pytest.fixture
def channel(monkeypatch):
    """`rbas` writing to a pipe of the test's, as in a run's child."""
    import os

    read, write = os.pipe()
    os.set_blocking(read, False)
    monkeypatch.setattr(rbas, "channel", write)
    monkeypatch.setattr(rbas, "_sent", None)
    monkeypatch.setattr(rbas, "_held", None)
    yield lambda: os.read(read, 65536).decode().splitlines() if _readable(read) else []
    os.close(read)
    os.close(write)


def _readable(fd: int) -> bool:
    import select

    return bool(select.select([fd], [], [], 0)[0])


def test_progress_is_clamped_cut_and_rate_limited(channel):
    rbas.progress(-2, "start")
    rbas.progress(0.1, "start")  # the same step at once: held back
    rbas.progress(0.2, "next step")  # a new step is sent at once
    rbas.progress(0.2, "next step")  # unchanged: not sent again
    rbas.progress(5, "m" * 500)
    assert channel() == [
        '{"fraction": 0.0, "message": "start"}',
        '{"fraction": 0.2, "message": "next step"}',
        '{"fraction": 1.0, "message": "' + "m" * rbas.MAX_MESSAGE_CHARS + '"}',
    ]
    rbas.progress(0.5, "m" * 500)
    rbas.flush()  # what the sandbox does when the script ends
    assert channel() == ['{"fraction": 0.5, "message": "' + "m" * 200 + '"}']


@pytest.mark.parametrize(
    ("args", "error"),
    [
        (("half",), TypeError),
        ((True,), TypeError),
        ((None,), TypeError),
        ((math.nan,), ValueError),
        ((0.5, 3), TypeError),
    ],
)
def test_progress_refuses_what_is_not_a_fraction_and_a_message(channel, args, error):
    with pytest.raises(error):
        rbas.progress(*args)
    assert channel() == []


def test_progress_outside_a_run_does_nothing(monkeypatch):
    monkeypatch.setattr(rbas, "channel", None)
    rbas.progress(0.5, "on the author's machine")
    with pytest.raises(TypeError):
        rbas.progress("0.5")


def test_what_a_script_writes_itself_on_the_progress_channel_is_checked(tmp_path):
    writes_its_own = r"""
        import os
        def main():
            for line in (
                b"not json\n",
                b'{"fraction": NaN, "message": "nan"}\n',
                b'{"fraction": 0.5, "message": 7}\n',
                b'{"fraction": [1], "message": "list"}\n',
                b"[1, 2]\n",
                b'{"fraction": 0.5, "message": "' + b"m" * 9000 + b'"}\n',
                b'{"fraction": -3, "message": "' + b"k" * 300 + b'"}\n',
                b'{"fraction": 0.9, "message": "no end of line"',
            ):
                os.write(5, line)
    """
    outcome = get_sandbox().run(spec(writes_its_own), workdir(tmp_path))
    assert outcome.status == "succeeded", outcome
    assert outcome.progress == {"fraction": 0.0, "message": "k" * 200}
