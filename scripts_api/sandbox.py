"""Run a script in a confined child process and say how it ended.

Each worker process keeps one sandbox server (`sandbox_server.py`), started as
`<this interpreter> -I sandbox_server.py` with an argument list and a minimal environment, and
asks it to fork one child per run. The child gets: a new session, a fresh working directory, only
PATH, LANG, HOME, TMPDIR and RBAS_OUTPUT_DIR in its environment, CPU, address-space, file-size
and open-file limits, no capabilities (and SANDBOX_UID's uid when the worker is root), (where
the kernel has Landlock) read access to the Python installation and system libraries only, write
access to its own directory only, and TCP connections to SANDBOX_TCP_PORTS only, and (a seccomp
filter) no UNIX, UDP or raw sockets unless SANDBOX_UNIX_SOCKETS or SANDBOX_UDP allow the first
two. The return value of `main` comes back on its own pipe, so nothing a script prints can pose
as its result. Every process the run starts, detached or not, is dead before the server reports
its end, and the run is killed when it has more than SANDBOX_MAX_PROCESSES processes or uses
more than RUN_DISK_MAX_BYTES of disk (see `lifecycle.py`).
"""

import contextlib
import functools
import json
import os
import select
import signal
import subprocess
import sys
import sysconfig
import threading
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from django.conf import settings

SERVER = Path(__file__).with_name("sandbox_server.py")
OPEN_FILES_LIMIT = 256
# How long a server may take to kill what its runs left and exit when the worker resets it.
SERVER_EXIT_SECONDS = 5
SYSTEM_READ_PATHS = [
    "/usr",
    "/lib",
    "/lib64",
    "/lib32",
    "/bin",
    "/etc/ssl",
    "/etc/ca-certificates",
    "/etc/pki",
    "/etc/resolv.conf",
    "/etc/hosts",
    "/etc/nsswitch.conf",
    "/etc/localtime",
    "/etc/ld.so.cache",
    "/etc/passwd",
    "/etc/group",
    "/etc/mime.types",
    "/dev/urandom",
    "/dev/zero",
]


@dataclass(frozen=True)
class RunSpec:
    """What to run and within which limits."""

    source: str
    filename: str
    params: dict
    date_params: list[str]
    timeout_seconds: int
    memory_mb: int
    # Names the run in every message between worker and sandbox server.
    run_id: str = field(default_factory=lambda: uuid.uuid4().hex)
    # Extra environment variables of this run only (its declared secrets): never in a repr,
    # and never over a variable the sandbox sets itself.
    env: dict[str, str] = field(default_factory=dict, repr=False)
    # The folder of the script's dependencies (environments.py), "" for none.
    environment: str = ""


@dataclass(frozen=True)
class Outcome:
    """How a run ended, in the terms of API.md's `Run`."""

    status: str  # succeeded | failed | timed_out | cancelled
    result: object
    error: str
    stdout: str
    stderr: str
    exit_code: int | None
    # The last `rbas.progress` of the script: {"fraction", "message"}, or None.
    progress: dict | None = None


@dataclass
class LiveOutput:
    """What a running script printed so far (within the caps) and its latest progress;
    `version` counts the updates, so that a reader can tell whether anything is new."""

    stdout: str = ""
    stderr: str = ""
    progress: dict | None = None
    version: int = 0

    def add(self, event: dict) -> None:
        """Take in an output event of the sandbox server (SandboxError when malformed)."""
        stdout, stderr, progress = event.get("stdout"), event.get("stderr"), event.get("progress")
        if not isinstance(stdout, str) or not isinstance(stderr, str):
            raise SandboxError("The sandbox server sent a garbled output event.")
        if progress is not None and not _is_progress(progress):
            raise SandboxError("The sandbox server sent a garbled progress.")
        self.stdout += stdout
        self.stderr += stderr
        self.progress = progress
        self.version += 1


def _is_progress(value) -> bool:
    return (
        isinstance(value, dict)
        and isinstance(value.get("fraction"), (int, float))
        and isinstance(value.get("message"), str)
    )


class SandboxError(RuntimeError):
    """The sandbox server could not be started, stopped answering or answered out of step."""


@functools.cache
def python_read_paths() -> list[str]:
    """The directories the interpreter needs to read: its installation and site-packages."""
    paths = {sys.prefix, sys.base_prefix, sys.exec_prefix, sys.base_exec_prefix}
    paths |= {sysconfig.get_path(name) for name in ("stdlib", "platstdlib", "purelib", "platlib")}
    paths.add(str(Path(os.path.realpath(sys.executable)).parent))
    return sorted(p for p in paths if p)


@functools.cache
def server_site_packages() -> list[str]:
    """The folders of the server's own packages (Django and the rest)."""
    import site

    found = {sysconfig.get_path("purelib"), sysconfig.get_path("platlib"), *site.getsitepackages()}
    return sorted(os.path.realpath(path) for path in found if path)


def interpreter_read_paths() -> list[str]:
    """What a script may read of the interpreter: `python_read_paths()`, but without the
    folders that hold the server's packages unless SCRIPT_SERVER_PACKAGES (a venv's
    site-packages lies under its prefix: that prefix gives way to its `bin` and `pyvenv.cfg`).
    Packages installed under a folder that stays (the standard library's, /usr) stay readable:
    see docs/dependencies.md."""
    return list(_interpreter_read_paths(settings.SCRIPT_SERVER_PACKAGES))


@functools.cache
def _interpreter_read_paths(server_packages: bool) -> tuple[str, ...]:
    """`interpreter_read_paths`, worked out once per process (it stats and resolves paths)."""
    if server_packages:
        return tuple(python_read_paths())
    hidden = server_site_packages()
    kept = set()
    for path in python_read_paths():
        real = os.path.realpath(path)
        if any(site == real or site.startswith(real + os.sep) for site in hidden):
            for part in ("bin", "pyvenv.cfg"):
                if os.path.exists(os.path.join(path, part)):
                    kept.add(os.path.join(path, part))
        else:
            kept.add(path)
    return tuple(sorted(kept))


def tcp_ports() -> list[int] | None:
    """SANDBOX_TCP_PORTS as a list, or None for any port."""
    value = settings.SANDBOX_TCP_PORTS.strip()
    if value == "*":
        return None
    return [int(port) for port in value.split(",") if port.strip()]


def _describe_exit(exit_code: int) -> str:
    if exit_code < 0:
        name = signal.Signals(-exit_code).name
        if -exit_code == signal.SIGKILL:
            return f"The script was killed ({name}), most likely for using too much memory."
        return f"The script was killed by {name}."
    return f"The script exited with status {exit_code} without reporting a result."


def _note_cut(text: str, was_cut: bool) -> str:
    if not was_cut:
        return text
    return text + f"\n[output cut: only the first {settings.RUN_OUTPUT_MAX_BYTES} bytes are kept]"


class Sandbox:
    """One sandbox server process and the runs it executes, one at a time.

    Every message of the protocol names its run, and anything unexpected (a message of another
    run or out of order, an exception of any kind while a run executes, data left over from an
    earlier run) kills the run's processes and the server, which is started afresh for the
    next run: a worker can never hand one run's result, output or process to another.
    """

    def __init__(self) -> None:
        self._process: subprocess.Popen | None = None
        self._pending = b""
        self._child_pid: int | None = None
        self._lock = threading.Lock()
        self.landlock_abi = 0

    def start(self) -> None:
        """Start the server now rather than on the first run."""
        with self._lock:
            self._ensure_started()

    def _ensure_started(self) -> None:
        if self._process is not None and (self._process.poll() is not None or self._is_dirty()):
            self._reset()
        if self._process is None:
            self._start()

    def _is_dirty(self) -> bool:
        """Whether the server said something nobody asked for since the last run ended."""
        if self._pending:
            return True
        ready, _, _ = select.select([self._process.stdout.fileno()], [], [], 0)
        return bool(ready)

    def _start(self) -> None:
        env = {"PATH": "/usr/local/bin:/usr/bin:/bin", "LANG": "C.UTF-8"}
        # An argument list of fixed values: no shell, nothing from the request.
        self._process = subprocess.Popen(  # noqa: S603
            [sys.executable, "-I", str(SERVER)],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            env=env,
            cwd="/",
            close_fds=True,
        )
        self._pending = b""
        try:
            ready = self._read_message(deadline=time.monotonic() + 30)
        except (SandboxError, ValueError):
            ready = None
        if ready is None or ready.get("event") != "ready":
            self._reset()
            raise SandboxError("The sandbox server did not start.")
        self.landlock_abi = ready["landlock_abi"]

    def _read_message(self, deadline: float) -> dict | None:
        """The next line from the server, or None when the deadline passes first."""
        fd = self._process.stdout.fileno()
        while b"\n" not in self._pending:
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                return None
            ready, _, _ = select.select([fd], [], [], remaining)
            if ready:
                data = os.read(fd, 1 << 20)
                if not data:
                    raise SandboxError("The sandbox server exited.")
                self._pending += data
        line, _, self._pending = self._pending.partition(b"\n")
        message = json.loads(line)
        if not isinstance(message, dict):
            raise SandboxError("The sandbox server sent a garbled message.")
        return message

    def _expect(self, message: dict | None, event: str, run_id: str) -> dict | None:
        """`message`, provided it is `event` of run `run_id` (SandboxError otherwise)."""
        if message is not None and (message.get("event"), message.get("run")) != (event, run_id):
            whose = "this" if message.get("run") == run_id else "another"
            raise SandboxError(
                f"The sandbox server answered out of step (expected {event!r} of this run, got "
                f"{message.get('event')!r} of {whose} run); it was restarted."
            )
        return message

    def close(self) -> None:
        """Stop the server (its running child, if any, is killed with it)."""
        self._reset()

    def _reset(self) -> None:
        """Kill the current run's processes, if any, and the server."""
        if self._child_pid is not None:
            with contextlib.suppress(ProcessLookupError, PermissionError):
                os.killpg(self._child_pid, signal.SIGKILL)
            self._child_pid = None
        if self._process is not None:
            # At the end of its input the server kills every process a run left behind (they
            # are its descendants, wherever they moved), then exits; a server that does not
            # is killed, and then those processes may outlive it. Its output is closed too, so
            # that it is never stuck writing to a worker that no longer reads.
            for pipe in (self._process.stdin, self._process.stdout):
                with contextlib.suppress(OSError):
                    pipe.close()
            try:
                self._process.wait(timeout=SERVER_EXIT_SECONDS)
            except subprocess.TimeoutExpired:
                self._process.kill()
                self._process.wait()
            self._process = None
        self._pending = b""

    def run(
        self,
        spec: RunSpec,
        workdir: Path,
        should_stop: Callable[[], str | None] = lambda: None,
        on_output: Callable[[LiveOutput], None] = lambda live: None,
    ) -> Outcome:
        """Run `spec` in `workdir`; `should_stop` is polled and may return "cancelled";
        `on_output` is called with the output so far whenever more comes while it runs.

        Whatever `should_stop` or `on_output` raises (a database error, say) propagates after
        the run's processes and the server are killed.
        """
        with self._lock:
            self._ensure_started()
            try:
                outcome = self._run(spec, workdir, should_stop, on_output)
            except BaseException as error:
                self._reset()
                if isinstance(error, (OSError, ValueError)):  # a broken pipe, a garbled message
                    raise SandboxError(f"The sandbox server failed: {error}") from error
                raise
            self._child_pid = None
            return outcome

    def _run(self, spec: RunSpec, workdir: Path, should_stop, on_output) -> Outcome:
        (workdir / "output").mkdir(exist_ok=True)  # made in advance by the worker (or not)
        (workdir / "tmp").mkdir(exist_ok=True)
        request = {
            "run": spec.run_id,
            "source": spec.source,
            "filename": spec.filename,
            "params": spec.params,
            "date_params": spec.date_params,
            "workdir": str(workdir),
            "env": {
                **spec.env,
                "PATH": "/usr/local/bin:/usr/bin:/bin",
                "LANG": "C.UTF-8",
                "HOME": str(workdir),
                "TMPDIR": str(workdir / "tmp"),
                "RBAS_OUTPUT_DIR": str(workdir / "output"),
            },
            "limits": {
                "cpu_seconds": spec.timeout_seconds,
                "memory_bytes": spec.memory_mb * 1024 * 1024,
                "file_bytes": settings.RUN_ARTIFACTS_MAX_BYTES,
                "open_files": OPEN_FILES_LIMIT,
            },
            "max_processes": settings.SANDBOX_MAX_PROCESSES,
            "disk_bytes": settings.RUN_DISK_MAX_BYTES,
            "output_cap": settings.RUN_OUTPUT_MAX_BYTES,
            "result_cap": settings.RUN_RESULT_MAX_BYTES,
            "read_paths": [
                *interpreter_read_paths(),
                *SYSTEM_READ_PATHS,
                *([spec.environment] if spec.environment else []),
            ],
            # The child's sys.path: the standard library, then the script's environment; the
            # server's packages only with SCRIPT_SERVER_PACKAGES.
            "environment": spec.environment,
            "hide_paths": [] if settings.SCRIPT_SERVER_PACKAGES else server_site_packages(),
            "tcp_ports": tcp_ports(),
            "isolation": settings.SANDBOX_ISOLATION,
            "uid": settings.SANDBOX_UID,
            "gid": settings.SANDBOX_GID,
            "unix_sockets": settings.SANDBOX_UNIX_SOCKETS,
            "udp": settings.SANDBOX_UDP,
        }
        self._process.stdin.write(json.dumps(request).encode() + b"\n")
        self._process.stdin.flush()
        started = self._read_message(deadline=time.monotonic() + 30)
        if self._expect(started, "started", spec.run_id) is None:
            raise SandboxError("The sandbox server did not start the script.")
        self._child_pid = pid = started["pid"]
        deadline = time.monotonic() + spec.timeout_seconds
        stopped_for = None
        live = LiveOutput()
        while True:
            finished = self._read_message(deadline=min(deadline, time.monotonic() + 0.1))
            is_output = finished is not None and finished.get("event") == "output"
            # Output of this run only: _expect refuses another run's like any message.
            if is_output and finished.get("run") == spec.run_id:
                live.add(finished)
                on_output(live)
                finished = None
            if self._expect(finished, "finished", spec.run_id) is not None:
                break
            if stopped_for is None:
                stopped_for = "timed_out" if time.monotonic() >= deadline else should_stop()
                if stopped_for is not None:
                    with contextlib.suppress(ProcessLookupError):
                        os.killpg(pid, signal.SIGKILL)
                    deadline = time.monotonic() + 30  # now wait for the server's report
            elif time.monotonic() >= deadline:
                raise SandboxError("The sandbox server did not report a killed script.")
        return self._outcome(finished, stopped_for, spec)

    def _outcome(self, finished: dict, stopped_for: str | None, spec: RunSpec) -> Outcome:
        exit_code = finished["exit_code"]  # None: still exiting after a clean report
        stdout = _note_cut(finished["stdout"], finished["stdout_cut"])
        stderr = _note_cut(finished["stderr"], finished["stderr_cut"])

        progress = finished.get("progress")
        progress = progress if progress is None or _is_progress(progress) else None

        def ended(status: str, error: str = "", result=None) -> Outcome:
            return Outcome(status, result, error, stdout, stderr, exit_code, progress)

        if finished["killed_for"] == "processes":
            most = settings.SANDBOX_MAX_PROCESSES
            return ended("failed", f"The script ran more than {most} processes at once.")
        if finished["killed_for"] == "disk":
            most = settings.RUN_DISK_MAX_BYTES
            return ended("failed", f"The script wrote more than {most} bytes to its folder.")
        if stopped_for == "timed_out" or exit_code == -signal.SIGXCPU:
            return ended("timed_out", f"The script ran longer than {spec.timeout_seconds} s.")
        if stopped_for == "cancelled":
            return ended("cancelled", "The run was cancelled.")
        if finished["result_cut"]:
            limit = settings.RUN_RESULT_MAX_BYTES
            return ended("failed", f"The result is larger than {limit} bytes.")
        try:
            report = json.loads(finished["channel"]) if finished["channel"] else None
        except json.JSONDecodeError:
            report = None
        except RecursionError:
            return ended("failed", "The result is nested too deeply to be stored.")
        if not isinstance(report, dict) or "ok" not in report:
            if exit_code is None:
                return ended("failed", "The script garbled its result channel.")
            return ended("failed", _describe_exit(exit_code))
        if exit_code is None:
            exit_code = 0 if report["ok"] else 1  # what the sandbox's bootstrap exits with
        if not report["ok"]:
            error = str(report.get("error", "The script failed."))
            if error == "MemoryError":
                error = f"MemoryError: the script needed more than its {spec.memory_mb} MB."
            return ended("failed", error)
        if exit_code != 0:
            return ended("failed", _describe_exit(exit_code))
        return ended("succeeded", result=report.get("result"))


_sandbox: Sandbox | None = None
_sandbox_lock = threading.Lock()


def get_sandbox() -> Sandbox:
    """This process's sandbox (started on first use)."""
    global _sandbox
    with _sandbox_lock:
        if _sandbox is None:
            _sandbox = Sandbox()
        return _sandbox
