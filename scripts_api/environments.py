"""Environments of scripts' PEP 723 dependencies, resolved and installed by `uv` (the PyPI
package), on the worker's host. No Django models here: `dependencies.py` keeps their state.

- `resolve` turns requirements into a lock (`uv pip compile` for the sandbox's interpreter:
  every package pinned, dependencies included).
- `environment` yields the folder of a lock, building it first when this host has none:
  `uv pip install --target <SCRIPT_ENVIRONMENTS_DIR>/<key>.partial`, then one rename to
  `<key>`, where key = sha256 of the interpreter's tag and the lock. Concurrent workers on a
  host build it once: the builder holds an exclusive `flock` on `<key>.lock`, the others wait
  for it, and every run holds a shared lock while its script runs, so that pruning never
  removes an environment in use. `<key>.used` is touched by every run (its time is the last use).
- `prune` removes environments unused for SCRIPT_ENVIRONMENTS_RETENTION_DAYS.

uv runs as a subprocess with a minimal environment (PATH, HOME, locale, proxies, CA bundle,
its own UV_* variables): the server's secrets never reach it. While it runs, `should_stop` (the
run's LeaseMonitor) is polled, so the lease is renewed and a cancel stops the build.
"""

import contextlib
import fcntl
import hashlib
import logging
import os
import shutil
import stat
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import uv
from django.conf import settings

from scripts_api import package_index

logger = logging.getLogger(__name__)
POLL_SECONDS = 0.1
# What of uv's message a person reads (the error of a run is one short paragraph).
MESSAGE_CHARS = 1500
PASSED_VARIABLES = (
    "PATH", "HOME", "LANG", "LC_ALL", "SSL_CERT_DIR", "HTTP_PROXY", "HTTPS_PROXY", "NO_PROXY",
    "ALL_PROXY", "http_proxy", "https_proxy", "no_proxy", "all_proxy", "XDG_CONFIG_HOME",
)  # fmt: skip


class EnvironmentFailed(Exception):
    """uv could not resolve or install the dependencies; the message is uv's (trimmed)."""


class Stopped(Exception):
    """The run was cancelled or lost its lease while its environment was prepared."""

    def __init__(self, verdict: str) -> None:
        super().__init__(verdict)
        self.verdict = verdict


def root() -> Path:
    """SCRIPT_ENVIRONMENTS_DIR, created when missing (readable by the sandbox's uid)."""
    folder = Path(settings.SCRIPT_ENVIRONMENTS_DIR)
    folder.mkdir(parents=True, exist_ok=True, mode=0o755)
    if folder.stat().st_uid != os.geteuid():
        # Under a shared /tmp, another user could have made it first and planted packages.
        raise EnvironmentFailed(
            f"{folder} belongs to another user: set SCRIPT_ENVIRONMENTS_DIR to a folder of "
            "the worker's own."
        )
    return folder


def interpreter_tag() -> str:
    """What an environment is built for: the sandbox's interpreter (the worker's own)."""
    return f"{sys.implementation.cache_tag}-{sys.platform}-{os.uname().machine}"


def environment_key(lock: str) -> str:
    """The name of the folder that holds `lock` built for this interpreter."""
    return hashlib.sha256(f"{interpreter_tag()}\n{lock}".encode()).hexdigest()[:40]


def uv_environment() -> dict[str, str]:
    """uv's environment: what it needs to reach an index, and nothing of the server's."""
    env = {name: os.environ[name] for name in PASSED_VARIABLES if os.environ.get(name)}
    env.update({name: value for name, value in os.environ.items() if name.startswith("UV_")})
    env.setdefault("PATH", "/usr/local/bin:/usr/bin:/bin")
    env["UV_CACHE_DIR"] = str(settings.SCRIPT_UV_CACHE_DIR)
    env["UV_NO_PROGRESS"] = "1"
    if certificate := package_index.uv_certificate():
        env["SSL_CERT_FILE"] = certificate
    return env


def trim(message: str) -> str:
    """uv's message, as much as a person reads of it."""
    message = message.strip() or "uv failed without a message."
    return message if len(message) <= MESSAGE_CHARS else message[:MESSAGE_CHARS] + " [...]"


def _uv(args: list[str], should_stop: Callable[[], str | None], deadline: float) -> str:
    """Run uv with `args` and return its stdout, polling `should_stop` meanwhile."""
    with tempfile.TemporaryFile() as out, tempfile.TemporaryFile() as err:
        # An argument list: no shell; the requirements come from a file, never the command.
        process = subprocess.Popen(  # noqa: S603
            [uv.find_uv_bin(), *args],
            stdin=subprocess.DEVNULL,
            stdout=out,
            stderr=err,
            env=uv_environment(),
            cwd=root(),
            start_new_session=True,
        )
        try:
            while process.poll() is None:
                if time.monotonic() >= deadline:
                    raise EnvironmentFailed(
                        f"preparing the environment took longer than "
                        f"{settings.SCRIPT_ENVIRONMENT_BUILD_SECONDS} s."
                    )
                verdict = should_stop()
                if verdict is not None:
                    raise Stopped(verdict)
                with contextlib.suppress(subprocess.TimeoutExpired):
                    process.wait(POLL_SECONDS)
        finally:
            if process.poll() is None:
                with contextlib.suppress(ProcessLookupError):
                    os.killpg(process.pid, 9)
                process.wait()
        out.seek(0)
        err.seek(0)
        if process.returncode != 0:
            raise EnvironmentFailed(trim(err.read().decode("utf-8", errors="replace")))
        return out.read().decode("utf-8", errors="replace")


def resolve(requirements: list[str], should_stop: Callable[[], str | None], deadline: float) -> str:
    """The lock of `requirements` for the sandbox's interpreter: one `name==version` a line."""
    with tempfile.NamedTemporaryFile("w", suffix=".in", dir=root(), delete=False) as file:
        file.write("\n".join(requirements) + "\n")
    try:
        return _uv(
            [
                "pip", "compile", file.name, "--python", sys.executable, "--no-header",
                "--no-annotate", "--quiet", *package_index.uv_index_args(),
            ],
            should_stop,
            deadline,
        )  # fmt: skip
    finally:
        os.unlink(file.name)


def _flock(fd: int, operation: int, should_stop, deadline: float) -> None:
    """Take `operation` (LOCK_SH or LOCK_EX) on `fd`, polling `should_stop` while waiting."""
    while True:
        try:
            fcntl.flock(fd, operation | fcntl.LOCK_NB)
            return
        except BlockingIOError:
            pass
        if time.monotonic() >= deadline:
            raise EnvironmentFailed("another worker's build of this environment did not end.")
        verdict = should_stop()
        if verdict is not None:
            raise Stopped(verdict)
        time.sleep(POLL_SECONDS)


def _let_everyone_read(folder: Path) -> None:
    """Scripts run as SANDBOX_UID when the worker is root: they must read what uv wrote."""
    folder.chmod(0o755)
    for path, folders, files in os.walk(folder):
        for name in [*folders, *files]:
            full = os.path.join(path, name)
            with contextlib.suppress(OSError):
                mode = os.lstat(full).st_mode
                if not stat.S_ISLNK(mode):
                    searchable = stat.S_ISDIR(mode) or mode & stat.S_IXUSR
                    os.chmod(full, mode | (0o555 if searchable else 0o444))


def _build(lock: str, folder: Path, should_stop, deadline: float) -> None:
    partial = folder.with_name(folder.name + ".partial")
    shutil.rmtree(partial, ignore_errors=True)
    lock_file = folder.with_name(folder.name + ".txt")
    lock_file.write_text(lock)
    started = time.monotonic()
    try:
        _uv(
            [
                "pip", "install", "--target", str(partial), "--python", sys.executable,
                "--no-deps", "--quiet", "-r", str(lock_file), *package_index.uv_index_args(),
            ],
            should_stop,
            deadline,
        )  # fmt: skip
        partial.mkdir(exist_ok=True)  # an empty lock installs nothing
        _let_everyone_read(partial)
        os.rename(partial, folder)
        logger.info("Built the environment %s in %.1f s.", folder, time.monotonic() - started)
    except BaseException:
        shutil.rmtree(partial, ignore_errors=True)
        raise


@contextlib.contextmanager
def environment(
    lock: str,
    should_stop: Callable[[], str | None] = lambda: None,
    on_build: Callable[[], None] = lambda: None,
) -> Iterator[Path]:
    """The folder of `lock` on this host, built first if needed (`on_build` is called before a
    build starts); held (a shared lock) until the block ends."""
    deadline = time.monotonic() + settings.SCRIPT_ENVIRONMENT_BUILD_SECONDS
    folder = root() / environment_key(lock)
    fd = os.open(folder.with_name(folder.name + ".lock"), os.O_RDWR | os.O_CREAT, 0o600)
    try:
        _flock(fd, fcntl.LOCK_SH, should_stop, deadline)
        if not folder.is_dir():
            _flock(fd, fcntl.LOCK_EX, should_stop, deadline)  # others wait for this build
            if not folder.is_dir():
                on_build()
                _build(lock, folder, should_stop, deadline)
            _flock(fd, fcntl.LOCK_SH, should_stop, deadline)
        folder.with_name(folder.name + ".used").touch()
        yield folder
    finally:
        os.close(fd)


def prune(*, days: float | None = None, now: float | None = None) -> list[str]:
    """Remove this host's environments unused for `days` (SCRIPT_ENVIRONMENTS_RETENTION_DAYS)
    and builds left half-done; an environment in use is kept. Returns the keys removed."""
    days = settings.SCRIPT_ENVIRONMENTS_RETENTION_DAYS if days is None else days
    cutoff = (time.time() if now is None else now) - days * 86400
    folder = root()
    removed = []
    for lock_path in sorted(folder.glob("*.lock")):
        key = lock_path.stem
        used = folder / f"{key}.used"
        try:
            last = used.stat().st_mtime if used.exists() else lock_path.stat().st_mtime
        except OSError:
            continue
        if last >= cutoff or (
            not (folder / key).exists() and not (folder / f"{key}.partial").exists()
        ):
            continue
        fd = os.open(lock_path, os.O_RDWR)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            os.close(fd)
            continue  # a run uses it, or a worker builds it
        try:
            for name in (key, f"{key}.partial"):
                if (folder / name).exists():
                    trash = folder / f".trash-{name}-{os.getpid()}"
                    os.rename(folder / name, trash)
                    shutil.rmtree(trash, ignore_errors=True)
            # The lock file stays: a worker may have it open, waiting to build this key.
            for suffix in (".used", ".txt"):
                (folder / f"{key}{suffix}").unlink(missing_ok=True)
            removed.append(key)
        finally:
            os.close(fd)
    return removed
