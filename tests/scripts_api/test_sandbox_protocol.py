"""The worker's conversation with its sandbox server cannot mix runs: whatever goes wrong during
one run, the next one gets its own result, output and process."""

import os
import shutil
import tempfile
import textwrap
import time
from pathlib import Path

import pytest
from django.db import OperationalError

from scripts_api.sandbox import RunSpec, SandboxError, get_sandbox
from tests.scripts_api.test_sandbox import is_alive

SLOW_FIRST_RUN = """
    import os, time
    def main():
        with open(os.path.join(os.environ["RBAS_OUTPUT_DIR"], "pid"), "w") as handle:
            handle.write(str(os.getpid()))
        print("first run's output", flush=True)
        time.sleep(3)
        return "first run's result"
"""
QUICK_RUN = """
    def main(name: str):
        print(name + "'s output")
        return name + "'s result"
"""


def spec(source: str, **params) -> RunSpec:
    return RunSpec(
        source=textwrap.dedent(source),
        filename="probe.py",
        params=params,
        date_params=[],
        timeout_seconds=10,
        memory_mb=256,
    )


def workdir(tmp_path):
    folder = tmp_path / f"work-{time.monotonic_ns()}"
    folder.mkdir()
    return folder


def start_slow_run_that_fails_with(error: BaseException, tmp_path):
    """A run during which the lease monitor raises `error` once the script is under way."""
    folder = workdir(tmp_path)

    def monitor():
        if (folder / "output" / "pid").exists():
            raise error
        return None

    with pytest.raises(type(error)):
        get_sandbox().run(spec(SLOW_FIRST_RUN), folder, monitor)
    return int((folder / "output" / "pid").read_text())


def assert_next_runs_get_their_own_outcome(tmp_path):
    for name in ("second", "third"):
        outcome = get_sandbox().run(spec(QUICK_RUN, name=name), workdir(tmp_path))
        assert outcome.status == "succeeded", outcome
        assert outcome.result == f"{name}'s result"
        assert outcome.stdout == f"{name}'s output\n"


def test_a_database_error_during_a_run_leaves_the_next_runs_their_own_results(tmp_path):
    # What a heartbeat cancelled by PostgreSQL (pg_cancel_backend) raises.
    cancelled = OperationalError("canceling statement due to user request")
    first = start_slow_run_that_fails_with(cancelled, tmp_path)
    time.sleep(0.2)
    assert not is_alive(first)  # the interrupted run does not go on unseen
    assert_next_runs_get_their_own_outcome(tmp_path)


def test_any_exception_during_a_run_resets_the_sandbox(tmp_path):
    first = start_slow_run_that_fails_with(KeyboardInterrupt(), tmp_path)
    time.sleep(0.2)
    assert not is_alive(first)
    assert_next_runs_get_their_own_outcome(tmp_path)


def test_an_answer_naming_another_run_is_refused_and_the_server_reset(tmp_path):
    sandbox = get_sandbox()
    folder = workdir(tmp_path)
    forged = (
        b'{"event": "finished", "run": "someone-elses-run", "exit_code": 0, "stdout": "stolen",'
        b' "stderr": "", "stdout_cut": false, "stderr_cut": false, "result_cut": false,'
        b' "channel": "{\\"ok\\": true, \\"result\\": \\"stolen\\"}"}\n'
    )

    def slip_in_another_runs_answer():
        if (folder / "output" / "pid").exists() and forged not in sandbox._pending:
            sandbox._pending += forged
        return None

    with pytest.raises(SandboxError, match="another run"):
        sandbox.run(spec(SLOW_FIRST_RUN), folder, slip_in_another_runs_answer)
    first = int((folder / "output" / "pid").read_text())
    time.sleep(0.2)
    assert not is_alive(first)
    assert_next_runs_get_their_own_outcome(tmp_path)


def test_left_over_answers_are_discarded_with_the_server_before_a_run(tmp_path):
    sandbox = get_sandbox()
    sandbox.start()
    server = sandbox._process.pid
    sandbox._pending = b'{"event": "started", "run": "an-earlier-run", "pid": 1}\n'
    assert_next_runs_get_their_own_outcome(tmp_path)
    assert sandbox._process.pid != server  # a fresh server, not one out of step


def test_a_result_nested_too_deeply_fails_the_run_at_once_saying_why(tmp_path):
    deep = """
        import os
        def main():
            with os.fdopen(3, "w") as channel:
                channel.write('{"ok": true, "result": ' + "[" * 5000 + "]" * 5000 + "}")
            os._exit(0)
    """
    outcome = get_sandbox().run(spec(deep), workdir(tmp_path))
    assert (outcome.status, outcome.error) == (
        "failed",
        "The result is nested too deeply to be stored.",
    )
    assert_next_runs_get_their_own_outcome(tmp_path)


OWN_DESCRIPTORS = """
    import os
    def is_open(fd):
        try:
            os.fstat(fd)
        except OSError:
            return False
        return True
    def main():
        return [fd for fd in range(256) if is_open(fd)]
"""


def test_a_script_on_a_prepared_standby_holds_only_its_own_descriptors(tmp_path):
    # The first run's standby was forked before any rules were known; later ones prepared
    # theirs (ruleset, mount namespace) ahead of the request, and must not pass them on.
    for _ in range(3):
        outcome = get_sandbox().run(spec(OWN_DESCRIPTORS), workdir(tmp_path))
        assert outcome.status == "succeeded", outcome.stderr
        # stdin, stdout, stderr, the result and progress channels (the request's is closed).
        assert outcome.result == [0, 1, 2, 3, 5], outcome.result


WRITES_OUTPUT = """
    import os
    def main():
        with open(os.path.join(os.environ["RBAS_OUTPUT_DIR"], "made"), "w") as handle:
            handle.write("here")
        return os.getuid()
"""


def test_a_run_folder_under_a_folder_the_standby_covered_is_still_reachable():
    # As root, with the interpreter under a folder the sandbox's uid may not search (/root),
    # the standby covers that folder in its mount namespace before the request; a run folder
    # beneath it makes the child go back and mount everything afresh.
    from django.conf import settings

    from scripts_api import privileges
    from scripts_api.sandbox import interpreter_read_paths

    if os.geteuid() != 0:
        pytest.skip("the worker is not root here")
    uid, gid = settings.SANDBOX_UID, settings.SANDBOX_GID
    covered = {
        privileges._blocking_ancestor(os.path.realpath(path), uid, gid)
        for path in interpreter_read_paths()
        if os.path.exists(path)
    } - {None}
    if not covered:
        pytest.skip("the interpreter lies where the sandbox's uid may reach it")
    parent = Path(tempfile.mkdtemp(dir=sorted(covered)[0], prefix="rbas-covered-"))
    try:
        for _ in range(2):  # the second run's standby was prepared with the shared rules
            folder = Path(tempfile.mkdtemp(dir=parent))
            outcome = get_sandbox().run(spec(WRITES_OUTPUT), folder)
            assert outcome.status == "succeeded", outcome.stderr
            assert outcome.result == uid
            assert (folder / "output" / "made").read_text() == "here"
    finally:
        shutil.rmtree(parent)
