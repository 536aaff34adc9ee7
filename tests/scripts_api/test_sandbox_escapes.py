"""Hostile scripts that try to outlive their run, steer the worker's artifact collection to files
of the server, or exhaust the machine (issue 13). Each performs the attack for real."""

import contextlib
import json
import os
import resource
import signal
import subprocess
import sys
import tempfile
import textwrap
import time
import uuid
from pathlib import Path

import pytest

from scripts_api import artifacts, lifecycle
from scripts_api.execution import run_execute
from scripts_api.models import Artifact
from scripts_api.sandbox import Sandbox
from scripts_api.services import scripts_sync
from tests.conftest import wait_for
from tests.scripts_api.test_sandbox import is_alive, run
from users.roles import Level

SECRET = "the-server-secret-0123456789"

# Leaves behind a process in a session of its own (double fork + setsid) that holds none of the
# run's pipes, writes its pid to daemon.pid and sleeps; the run prints that pid, sleeps SLEEP s.
DAEMON = """
    import os, time

    def daemon(seconds):
        if os.fork():
            os.wait()
            return
        os.setsid()
        if os.fork():
            os._exit(0)
        os.closerange(0, 5)  # it holds none of the run's pipes
        with open("daemon.pid.tmp", "w") as out:
            out.write(str(os.getpid()))
        os.rename("daemon.pid.tmp", "daemon.pid")
        time.sleep(seconds)
        os._exit(0)

    def main():
        daemon(60)
        while not os.path.exists("daemon.pid"):
            time.sleep(0.01)
        print(open("daemon.pid").read(), flush=True)
        time.sleep(SLEEP)
    """


def publish(catalog, slug: str, source: str) -> None:
    """Add the script `slug` to the catalog, runnable by any signed-in user."""
    header = f'"""{slug}"""\nPOLICY = "authenticated"\n'
    (catalog / f"{slug.replace('-', '_')}.py").write_text(header + textwrap.dedent(source))
    report = scripts_sync()
    assert not report.rejected, report.rejected


def start(client, slug: str, params: dict | None = None) -> str:
    response = client.post(f"/api/scripts/{slug}/runs/", {"params": params or {}}, format="json")
    assert response.status_code == 202, response.content
    return response.json()["id"]


def kill_if_alive(pid: int) -> None:
    """Clean up after code that let a process escape (a failing test must not leave it)."""
    if is_alive(pid):
        os.kill(pid, signal.SIGKILL)


@pytest.fixture
def secrets(tmp_path):
    """A folder of the server's holding a secret file."""
    folder = tmp_path / "server-secrets"
    folder.mkdir()
    (folder / "key.txt").write_text(SECRET)
    return folder


def test_an_output_folder_swapped_for_a_symlink_yields_no_artifacts(
    catalog, users, bearer_client, secrets
):
    publish(
        catalog,
        "swap-folder",
        """
        import os
        def main(target: str):
            out = os.environ["RBAS_OUTPUT_DIR"]
            os.rmdir(out)
            os.symlink(target, out)
            return "swapped"
        """,
    )
    client = bearer_client(users[Level.READ_ONLY])
    run_id = start(client, "swap-folder", {"target": str(secrets)})
    run_execute(run_id=run_id)
    body = client.get(f"/api/runs/{run_id}/").json()
    assert body["status"] == "succeeded", body
    assert body["artifacts"] == []
    assert not Artifact.objects.filter(run_id=run_id).exists()
    assert "output folder" in body["stderr"]


def test_an_output_file_swapped_for_a_symlink_by_a_lingering_process_yields_nothing_of_the_server(
    catalog, users, bearer_client, secrets
):
    publish(
        catalog,
        "swap-files",
        """
        import contextlib, os, random, time
        NAMES = [f"f{i:02}.txt" for i in range(40)]

        def main(targets: list[str]):
            out = os.environ["RBAS_OUTPUT_DIR"]
            for name in NAMES:
                with open(os.path.join(out, name), "w") as handle:
                    handle.write("x" * 64)
            if os.fork():
                os.wait()
                return "left a swapper behind"
            os.setsid()
            if os.fork():
                os._exit(0)
            for fd in (0, 1, 2):
                os.close(fd)
            deadline = time.monotonic() + 8
            while time.monotonic() < deadline:
                # Each name a link or a plain file, at random, changing all the time.
                for index, name in enumerate(NAMES):
                    temp = os.path.join("tmp", f"t{index}")
                    with contextlib.suppress(OSError):
                        if random.random() < 0.5:
                            os.symlink(targets[index % len(targets)], temp)
                        else:
                            with open(temp, "w") as handle:
                                handle.write("x" * 64)
                        os.rename(temp, os.path.join(out, name))
            os._exit(0)
        """,
    )
    client = bearer_client(users[Level.READ_ONLY])
    targets = [str(secrets / "key.txt"), f"/proc/{os.getpid()}/environ"]
    run_id = start(client, "swap-files", {"targets": targets})
    run_execute(run_id=run_id)
    body = client.get(f"/api/runs/{run_id}/").json()
    assert body["status"] == "succeeded", body
    for artifact in Artifact.objects.filter(run_id=run_id):
        data = b"".join(artifacts.read_chunks(artifact))
        assert data == b"x" * 64, (artifact.name, data[:100])


@pytest.mark.parametrize("ending", ["returns", "times_out", "is_cancelled"])
def test_a_double_forked_setsid_process_dies_with_its_run(tmp_path, ending):
    started = time.monotonic()
    sleep = 30 if ending != "returns" else 0

    def stop():
        return "cancelled" if time.monotonic() - started > 1 else None

    outcome = run(
        DAEMON.replace("SLEEP", str(sleep)),
        tmp_path=tmp_path,
        timeout=1 if ending == "times_out" else 10,
        stop=stop if ending == "is_cancelled" else None,
    )
    expected = {"returns": "succeeded", "times_out": "timed_out", "is_cancelled": "cancelled"}
    assert outcome.status == expected[ending], outcome
    daemon = int(next(tmp_path.glob("work-*/daemon.pid")).read_text())
    try:
        assert not is_alive(daemon)
    finally:
        kill_if_alive(daemon)
    assert time.monotonic() - started < 5


def test_a_script_that_reports_and_closes_its_pipes_but_goes_on_dies_with_its_run(tmp_path):
    outcome = run(
        """
        import os, time
        def main():
            os.write(3, ('{"ok": true, "result": %d}' % os.getpid()).encode())
            for fd in (1, 2, 3):
                os.close(fd)
            time.sleep(60)
        """,
        tmp_path=tmp_path,
    )
    assert outcome.status == "succeeded"
    try:
        assert not is_alive(outcome.result)
    finally:
        kill_if_alive(outcome.result)
    started = time.monotonic()
    assert run("def main():\n    return 1\n", tmp_path=tmp_path).result == 1
    assert time.monotonic() - started < 2


def test_a_sandbox_reset_mid_run_kills_the_processes_the_script_left(tmp_path):
    sandbox = Sandbox()
    found = []

    def fail_once_the_daemon_runs():
        found.extend(tmp_path.glob("work-*/daemon.pid"))
        if found:
            raise RuntimeError("the worker broke")
        return None

    from scripts_api import sandbox as sandbox_module

    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(sandbox_module, "_sandbox", sandbox)
        with pytest.raises(RuntimeError):
            run(DAEMON.replace("SLEEP", "30"), tmp_path=tmp_path, stop=fail_once_the_daemon_runs)
    sandbox.close()
    daemon = int(found[0].read_text())
    try:
        assert not is_alive(daemon)
    finally:
        kill_if_alive(daemon)


def test_a_run_cannot_start_hundreds_of_processes(tmp_path):
    outcome = run(
        """
        import os, time
        def main():
            for _ in range(300):
                pid = os.fork()
                if pid == 0:
                    time.sleep(30)
                    os._exit(0)
                print(pid, flush=True)
            return "forked 300 times"
        """,
        tmp_path=tmp_path,
        timeout=20,
    )
    forked = [int(pid) for pid in outcome.stdout.split() if pid.isdigit()]
    try:
        assert outcome.status == "failed", outcome.result
        assert "processes" in outcome.error or "BlockingIOError" in outcome.error
        assert len(forked) < 300
        assert not any(is_alive(pid) for pid in forked)
    finally:
        for pid in forked:
            kill_if_alive(pid)


def test_a_run_cannot_fill_the_disk_with_many_small_files(tmp_path, settings):
    settings.RUN_DISK_MAX_BYTES = 20 * 1024 * 1024
    started = time.monotonic()
    outcome = run(
        """
        import os
        def main():
            block = b"x" * 65536
            for index in range(3200):  # 200 MB
                with open(os.path.join("tmp", f"{index}.bin"), "wb") as out:
                    out.write(block)
            return "wrote 200 MB"
        """,
        tmp_path=tmp_path,
        timeout=30,
    )
    assert outcome.status == "failed", outcome.result
    assert outcome.error == "The script wrote more than 20971520 bytes to its folder."
    assert time.monotonic() - started < 10


def test_a_run_that_ends_over_the_disk_limit_between_two_checks_fails(tmp_path, settings):
    settings.RUN_DISK_MAX_BYTES = 2 * 1024 * 1024
    outcome = run(
        "def main():\n    open('tmp/blob', 'wb').write(b'x' * 3 * 1024 * 1024)\n",
        tmp_path=tmp_path,
    )
    assert outcome.status == "failed"
    assert outcome.error == "The script wrote more than 2097152 bytes to its folder."


def test_collection_keeps_only_regular_files_and_never_blocks_or_follows(tmp_path, secrets):
    output = tmp_path / "output"
    output.mkdir()
    (output / "report.csv").write_text("a,b\n")
    (output / "link.txt").symlink_to(secrets / "key.txt")
    (output / "folder").symlink_to(secrets)
    os.mkfifo(output / "pipe")
    (tmp_path / "elsewhere.txt").write_text(SECRET)
    os.link(tmp_path / "elsewhere.txt", output / "hard.txt")
    found, notes = artifacts.collect(tmp_path)
    try:
        assert [(f.name, f.file.read()) for f in found] == [("report.csv", b"a,b\n")]
    finally:
        artifacts.release(found)
    assert notes == [
        "folder: not a regular file, left out",
        "hard.txt: a hard link, left out",
        "link.txt: not a regular file, left out",
        "pipe: not a regular file, left out",
    ]


def test_an_output_folder_that_is_a_file_or_missing_collects_nothing(tmp_path):
    (tmp_path / "output").write_text("not a folder")
    assert artifacts.collect(tmp_path)[0] == []
    (tmp_path / "output").unlink()
    found, notes = artifacts.collect(tmp_path)
    assert found == []
    assert notes[0].startswith("output folder: not a folder")


def processes_in(folder_name: str) -> list[int]:
    """The processes whose working directory is a folder named `folder_name`."""
    found = []
    for pid in filter(str.isdigit, os.listdir("/proc")):
        with contextlib.suppress(OSError):
            if os.path.basename(os.readlink(f"/proc/{pid}/cwd")) == folder_name:
                found.append(int(pid))
    return found


def test_a_worker_killed_mid_run_takes_the_processes_its_script_left_with_it(
    catalog, users, bearer_client, start_worker
):
    publish(
        catalog,
        "hide-and-sleep",
        """
        import os, time
        def main(marker: str):
            os.mkdir(marker)
            if os.fork() == 0:
                os.setsid()
                if os.fork() == 0:
                    os.chdir(marker)
                    os.closerange(0, 5)
                    time.sleep(60)
                os._exit(0)
            os.wait()
            time.sleep(60)
        """,
    )
    marker = f"marker-{uuid.uuid4().hex}"
    worker = start_worker()
    client = bearer_client(users[Level.READ_ONLY])
    start(client, "hide-and-sleep", {"marker": marker})
    daemon = wait_for(lambda: processes_in(marker))
    try:
        worker.send_signal(signal.SIGKILL)
        worker.wait()
        wait_for(lambda: not processes_in(marker), timeout=5)
    finally:
        for pid in daemon:
            kill_if_alive(pid)


def test_the_child_gets_rlimit_nproc_before_its_script_starts(tmp_path):
    pid = os.fork()
    if pid == 0:
        time.sleep(5)
        os._exit(0)
    try:
        lifecycle.limit_processes(pid, 64)
        soft, hard = resource.prlimit(pid, resource.RLIMIT_NPROC)
        assert soft == hard
        assert soft == 64 if os.geteuid() == 0 else soft > 64
    finally:
        os.kill(pid, signal.SIGKILL)
        os.waitpid(pid, 0)


def test_a_folder_the_server_cannot_read_counts_as_over_the_disk_limit(tmp_path):
    (tmp_path / "data.bin").write_bytes(b"x" * 10000)
    fd = os.open(tmp_path, os.O_RDONLY | os.O_DIRECTORY)
    try:
        assert 8192 <= lifecycle.disk_usage(fd) < 100_000
    finally:
        os.close(fd)
    # As a server that is not root would see a folder its script took its permissions from.
    pid = os.fork()
    if pid == 0:
        code = 1
        try:
            if os.geteuid() == 0:
                os.setgid(65534)
                os.setuid(65534)
            folder = tempfile.mkdtemp()
            os.mkdir(os.path.join(folder, "hidden"), 0)
            fd = os.open(folder, os.O_RDONLY | os.O_DIRECTORY)
            code = 0 if lifecycle.disk_usage(fd) == float("inf") else 2
            os.rmdir(os.path.join(folder, "hidden"))
            os.rmdir(folder)
        finally:
            os._exit(code)
    assert os.waitstatus_to_exitcode(os.waitpid(pid, 0)[1]) == 0


# Runs as another user, in a process of its own: what a worker in the production image does.
AS_NOBODY = """
import json, os, shutil, sys, tempfile, textwrap
from pathlib import Path
if not os.access(sys.executable, os.X_OK):  # setpriv could start it, the worker cannot
    sys.exit(77)
import django
django.setup()
from scripts_api.sandbox import RunSpec, Sandbox
from tests.scripts_api.test_sandbox import is_alive

sources = json.loads(sys.argv[1])
sandbox, report, folder = Sandbox(), {}, Path(tempfile.mkdtemp())
for name, source in sources.items():
    (folder / name).mkdir()
    spec = RunSpec(textwrap.dedent(source), "probe.py", {}, [], 10, 256)
    outcome = sandbox.run(spec, folder / name)
    report[name] = [outcome.status, outcome.result, outcome.stdout]
sandbox.close()
shutil.rmtree(folder)
report["daemon"][2] = is_alive(int(report["daemon"][2]))
print(json.dumps(report))
"""


@pytest.mark.skipif(os.geteuid() != 0, reason="needs root to become another user")
def test_a_worker_that_is_not_root_holds_its_runs_to_their_processes_too():
    """As in the production image (uid 10001, no capabilities): RLIMIT_NPROC refuses the 64th
    process, and a detached process still dies with its run."""
    forks = """
        import os, time
        def main():
            count = 0
            try:
                for _ in range(300):
                    if os.fork() == 0:
                        time.sleep(30)
                        os._exit(0)
                    count += 1
            except BlockingIOError:
                return count
        """
    sources = {"forks": forks, "daemon": DAEMON.replace("SLEEP", "0")}
    nobody = ["setpriv", "--reuid=65534", "--regid=65534", "--clear-groups"]
    done = subprocess.run(
        [*nobody, sys.executable, "-c", AS_NOBODY, json.dumps(sources)],
        cwd=Path(__file__).resolve().parents[2],
        env={**os.environ, "DJANGO_SETTINGS_MODULE": "simple_rbas.settings"},
        capture_output=True,
        text=True,
        timeout=60,
    )
    if done.returncode == 77:
        pytest.skip(f"user nobody may not run {sys.executable}")
    assert done.returncode == 0, done.stderr
    report = json.loads(done.stdout)
    assert report == {"forks": ["succeeded", 63, ""], "daemon": ["succeeded", None, False]}


def test_a_run_folder_its_script_took_permissions_from_is_still_removed(tmp_path):
    # As a worker that is not root (root may list and empty any folder).
    pid = os.fork()
    if pid == 0:
        code = 1
        try:
            if os.geteuid() == 0:
                os.setgid(65534)
                os.setuid(65534)
            workdir = Path(tempfile.mkdtemp(prefix="rbas-run-"))
            for folder, mode in (("tmp/closed", 0), ("output/read-only", 0o500)):
                (workdir / folder).mkdir(parents=True)
                (workdir / folder / "data.bin").write_bytes(b"x" * 1000)
                (workdir / folder).chmod(mode)
            lifecycle.remove_tree(workdir)
            code = 0 if not workdir.exists() else 2
        finally:
            os._exit(code)
    assert os.waitstatus_to_exitcode(os.waitpid(pid, 0)[1]) == 0
