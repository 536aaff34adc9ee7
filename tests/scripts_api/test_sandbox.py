"""The sandbox from the script's side: limits, isolation, output caps and an unforgeable result."""

import os
import textwrap
import time

import pytest
from django.conf import settings

from scripts_api import landlock
from scripts_api.sandbox import RunSpec, get_sandbox

needs_landlock = pytest.mark.skipif(
    landlock.abi_version() < 4, reason="this kernel has no Landlock (ABI 4+)"
)


def run(source: str, params=None, *, timeout=10, memory_mb=256, dates=(), tmp_path, stop=None):
    spec = RunSpec(
        source=textwrap.dedent(source),
        filename="probe.py",
        params=params or {},
        date_params=list(dates),
        timeout_seconds=timeout,
        memory_mb=memory_mb,
    )
    workdir = tmp_path / f"work-{time.monotonic_ns()}"
    workdir.mkdir()
    if stop is None:
        return get_sandbox().run(spec, workdir)
    return get_sandbox().run(spec, workdir, stop)


def test_main_receives_typed_parameters_and_its_return_value_is_the_result(tmp_path):
    outcome = run(
        """
        import datetime
        def main(name: str, when: datetime.date, count: int = 1):
            print("working")
            return {"name": name, "weekday": when.strftime("%A"), "count": count}
        """,
        {"name": "Ada", "when": "2024-02-05"},
        dates=["when"],
        tmp_path=tmp_path,
    )
    assert outcome.status == "succeeded"
    assert outcome.result == {"name": "Ada", "weekday": "Monday", "count": 1}
    assert outcome.stdout == "working\n"
    assert outcome.exit_code == 0


def test_an_exception_fails_the_run_with_type_message_and_traceback(tmp_path):
    outcome = run(
        """
        def main():
            raise ValueError("seats must be at least 1")
        """,
        tmp_path=tmp_path,
    )
    assert outcome.status == "failed"
    assert outcome.error == "ValueError: seats must be at least 1"
    assert 'File "probe.py", line 3, in main' in outcome.stderr
    assert "sandbox_server" not in outcome.stderr


def test_a_result_that_is_not_json_fails_the_run(tmp_path):
    outcome = run("def main():\n    return {1, 2}\n", tmp_path=tmp_path)
    assert outcome.status == "failed"
    assert outcome.error.startswith("The result is not JSON")
    nan = run("def main():\n    return float('nan')\n", tmp_path=tmp_path)
    assert nan.status == "failed"


def test_printed_imitations_of_the_result_channel_change_nothing(tmp_path):
    outcome = run(
        """
        import sys
        def main():
            print('{"ok": true, "result": "forged"}')
            sys.stderr.write('{"ok": true, "result": "forged"}\\n')
            sys.stdout.flush()
            return "genuine"
        """,
        tmp_path=tmp_path,
    )
    assert outcome.status == "succeeded"
    assert outcome.result == "genuine"


def test_the_environment_holds_no_server_settings_or_secrets(tmp_path, monkeypatch):
    monkeypatch.setenv("SECRET_KEY", "the-real-secret")
    monkeypatch.setenv("DATABASE_URL", "postgres://user:pw@db/rbas")
    outcome = run("import os\ndef main():\n    return dict(os.environ)\n", tmp_path=tmp_path)
    assert set(outcome.result) == {"PATH", "LANG", "HOME", "TMPDIR", "RBAS_OUTPUT_DIR"}
    assert "the-real-secret" not in str(outcome.result)
    assert outcome.result["HOME"] == os.path.dirname(outcome.result["RBAS_OUTPUT_DIR"])


@needs_landlock
def test_the_database_file_settings_and_other_processes_are_out_of_reach(tmp_path):
    beside_the_workdir = tmp_path / "db.sqlite3"
    beside_the_workdir.write_text("SQLite format 3")
    targets = [
        str(beside_the_workdir),
        str(settings.BASE_DIR / "simple_rbas" / "settings.py"),
        str(settings.BASE_DIR / "README.md"),
        str(settings.BASE_DIR / ".env.example"),
        f"/proc/{os.getppid()}/environ",
        f"/proc/{os.getpid()}/environ",
        "/proc/1/environ",
    ]
    database = str(settings.DATABASES["default"]["NAME"])
    if os.path.isfile(database):  # the suite's own SQLite database
        targets.append(database)
    outcome = run(
        """
        import os
        def main(paths: list[str]):
            found = {}
            for path in paths:
                try:
                    with open(path, "rb") as handle:
                        found[path] = handle.read(64).decode("latin-1")
                except OSError as error:
                    found[path] = type(error).__name__
            return found
        """,
        {"paths": targets},
        tmp_path=tmp_path,
    )
    assert outcome.status == "succeeded", outcome.stderr
    for path in targets:
        # Hidden altogether when a root worker's sandbox covers the folders it may not search.
        assert outcome.result[path] in ("PermissionError", "FileNotFoundError"), path


@needs_landlock
def test_scripts_cannot_connect_to_the_database_port_or_signal_the_server(tmp_path):
    outcome = run(
        f"""
        import os, socket
        def main():
            sock = socket.socket()
            try:
                sock.connect(("127.0.0.1", 5432))
                db = "connected"
            except OSError as error:
                db = type(error).__name__
            try:
                os.kill({os.getpid()}, 0)
                signal = "delivered"
            except OSError as error:
                signal = type(error).__name__
            return {{"db": db, "signal": signal}}
        """,
        tmp_path=tmp_path,
    )
    assert outcome.result == {"db": "PermissionError", "signal": "PermissionError"}


def test_scripts_may_write_their_own_directory(tmp_path):
    outcome = run(
        """
        import os, tempfile
        def main():
            with open(os.path.join(os.environ["RBAS_OUTPUT_DIR"], "a.txt"), "w") as f:
                f.write("kept")
            with tempfile.NamedTemporaryFile() as scratch:
                scratch.write(b"x")
            return os.getcwd() == os.environ["HOME"]
        """,
        tmp_path=tmp_path,
    )
    assert outcome.status == "succeeded", outcome.stderr
    assert outcome.result is True


def is_alive(pid: int) -> bool:
    try:
        with open(f"/proc/{pid}/stat") as stat:
            return stat.read().rsplit(")", 1)[1].split()[0] != "Z"
    except FileNotFoundError:
        return False


def test_over_its_time_a_run_is_timed_out_and_its_process_group_killed(tmp_path):
    started = time.monotonic()
    outcome = run(
        """
        import subprocess, sys, time
        def main():
            child = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(60)"])
            print(child.pid, flush=True)
            time.sleep(60)
        """,
        timeout=1,
        tmp_path=tmp_path,
    )
    assert outcome.status == "timed_out"
    assert outcome.error == "The script ran longer than 1 s."
    assert time.monotonic() - started < 5
    grandchild = int(outcome.stdout.split()[0])
    time.sleep(0.2)
    assert not is_alive(grandchild)


def test_cpu_bound_scripts_time_out_too(tmp_path):
    outcome = run("def main():\n    while True:\n        pass\n", timeout=1, tmp_path=tmp_path)
    assert outcome.status == "timed_out"


def test_over_its_memory_a_run_fails(tmp_path):
    outcome = run(
        "def main():\n    blob = bytearray(400 * 1024 * 1024)\n    return len(blob)\n",
        memory_mb=128,
        tmp_path=tmp_path,
    )
    assert outcome.status == "failed"
    assert outcome.error == "MemoryError: the script needed more than its 128 MB."


def test_stdout_and_stderr_are_capped_with_a_note(tmp_path, settings):
    settings.RUN_OUTPUT_MAX_BYTES = 1000
    outcome = run(
        """
        import sys
        def main():
            print("o" * 5000)
            sys.stderr.write("e" * 5000)
            return "done"
        """,
        tmp_path=tmp_path,
    )
    assert outcome.status == "succeeded"
    assert outcome.stdout.startswith("o" * 1000)
    assert outcome.stdout.endswith("[output cut: only the first 1000 bytes are kept]")
    assert outcome.stderr.startswith("e" * 1000 + "\n[output cut")


def test_a_result_over_its_cap_fails_the_run(tmp_path, settings):
    settings.RUN_RESULT_MAX_BYTES = 100
    outcome = run("def main():\n    return 'x' * 1000\n", tmp_path=tmp_path)
    assert outcome.status == "failed"
    assert "larger than 100 bytes" in outcome.error


def test_a_script_that_exits_without_a_result_fails(tmp_path):
    outcome = run("import os\ndef main():\n    os._exit(3)\n", tmp_path=tmp_path)
    assert outcome.status == "failed"
    assert outcome.exit_code == 3
    assert "status 3" in outcome.error


def test_stopping_a_run_kills_it_within_a_second(tmp_path):
    started = time.monotonic()

    def stop_after_half_a_second():
        return "cancelled" if time.monotonic() - started > 0.5 else None

    outcome = run(
        "import time\ndef main():\n    time.sleep(30)\n",
        tmp_path=tmp_path,
        stop=stop_after_half_a_second,
    )
    assert outcome.status == "cancelled"
    assert time.monotonic() - started < 1.5


def test_runs_do_not_share_state(tmp_path):
    source = """
        import builtins
        def main():
            seen = getattr(builtins, "rbas_leak", None)
            builtins.rbas_leak = "left behind"
            return seen
        """
    assert run(source, tmp_path=tmp_path).result is None
    assert run(source, tmp_path=tmp_path).result is None


def test_the_smallest_memory_limit_still_runs_a_script(tmp_path):
    from scripts_api.catalog import MIN_MEMORY_MB

    outcome = run(
        "import json\ndef main():\n    return json.dumps(list(range(100)))[:5]\n",
        memory_mb=MIN_MEMORY_MB,
        tmp_path=tmp_path,
    )
    assert outcome.status == "succeeded", outcome.error


def test_a_file_over_the_size_limit_cannot_be_written(tmp_path, settings):
    settings.RUN_ARTIFACTS_MAX_BYTES = 10_000
    outcome = run(
        """
        import os
        def main():
            with open(os.path.join(os.environ["RBAS_OUTPUT_DIR"], "big.bin"), "wb") as f:
                f.write(b"x" * 20_000)
        """,
        tmp_path=tmp_path,
    )
    assert outcome.status == "failed"
    assert outcome.error.startswith("OSError: [Errno 27] File too large")


def test_open_files_are_limited(tmp_path):
    outcome = run(
        """
        import os
        def main():
            return [os.open(os.devnull, os.O_RDONLY) for _ in range(1000)]
        """,
        tmp_path=tmp_path,
    )
    assert outcome.status == "failed"
    assert "Too many open files" in outcome.error
