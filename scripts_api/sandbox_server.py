"""The sandbox fork server: started once per worker as `python -I sandbox_server.py`.

It imports no Django and holds no secrets (its environment is minimal). It keeps one forked
child on standby: the child has already started its own session, closed every inherited file,
prepared what every run of its worker shares (the Landlock rules, sys.path without the server's
packages, as root the mounts that let the sandbox's uid reach the interpreter) and emptied its
capability bounding set, and waits for its request. When a request comes, the child finishes
confining itself (its working directory, environment, resource limits, uid, Landlock, seccomp)
and runs the script, while the server collects stdout, stderr and the result channel, forks the
next standby as soon as the script is done, and reports how the child ended once every process
of the run is dead. Forking a warm interpreter costs a millisecond or
two where starting a new one costs twenty, and the standby takes even that off the path of a
run; every child is still a fresh copy of this `python -I` process that never ran a script.

Protocol, one JSON object per line: the worker writes a request naming its run ({"run": id, ...})
on the server's stdin; the server answers {"event": "started", "run": id, "pid": N}, then
while the script runs {"event": "output", "run": id, "stdout": new text, "stderr": new text,
"progress": latest or null} at most every LIVE_INTERVAL_SECONDS and only when something new
came (never past the output caps), then {"event": "finished", "run": id, ...}, which alone says
what is kept. The progress comes from a pipe of its own (PROGRESS_FD, written by `rbas.progress`
in the script). The worker checks that every answer names the run it
asked for. The server is a child subreaper: every process a run starts, however detached,
stays its descendant, and all of them are dead before it reports the run's end, when its stdin
closes (the worker reset it) and when the worker dies or a SIGTERM or SIGINT comes; while a run
executes it watches its processes and disk (lifecycle.py).
"""

import builtins
import codecs
import ctypes
import datetime
import functools
import gc
import io
import json
import linecache
import os
import resource
import select
import signal
import sys
import time
import traceback

# `python -I` does not put this file's folder on sys.path: add it just to import the siblings.
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import landlock
import lifecycle
import privileges
import rbas
import seccomp

sys.path.pop(0)

# Warm the modules scripts commonly use, so forked children start with them loaded.
import collections  # noqa: F401
import contextlib
import csv  # noqa: F401
import decimal  # noqa: F401
import math  # noqa: F401
import pathlib  # noqa: F401
import random  # noqa: F401
import re  # noqa: F401
import statistics  # noqa: F401
import typing  # noqa: F401

privileges.warm()  # looked up once here rather than by every forked child
# The first compile() of a process sets up the parser (about a millisecond): done here, once,
# rather than in every child on the path of its run.
compile("def main(i: int = 0):\n    return {'i': i}\n", "<warm>", "exec")
json.loads(json.dumps({"warm": [1, 2.5, "x", None, True]}))

RESULT_FD = 3
REQUEST_FD = 4
PROGRESS_FD = 5  # what `rbas.progress` writes: a channel no print can reach
# While a run executes, new output and progress go to the worker at most this often.
LIVE_INTERVAL_SECONDS = 0.2
# The longest line the progress channel may send (`rbas` sends far less); longer is dropped.
PROGRESS_LINE_BYTES = 4096
CHUNK = 64 * 1024
# After the child exits, how long its own children may keep the output pipes open.
STRAY_GRACE_SECONDS = 0.5
_PR_SET_PDEATHSIG = 1


_LIBC = ctypes.CDLL(None, use_errno=True)


def _die_with_parent() -> None:
    _LIBC.prctl(_PR_SET_PDEATHSIG, signal.SIGKILL, 0, 0, 0)


def _close_inherited_fds(keep: int) -> None:
    try:
        fds = [int(name) for name in os.listdir("/proc/self/fd")]
    except OSError:
        fds = range(keep + 1, 1024)
    for fd in fds:
        if fd > keep:
            with contextlib.suppress(OSError):
                os.close(fd)


def _apply_limits(limits: dict) -> None:
    cpu = limits["cpu_seconds"]
    resource.setrlimit(resource.RLIMIT_CPU, (cpu, cpu + 1))
    resource.setrlimit(resource.RLIMIT_AS, (limits["memory_bytes"], limits["memory_bytes"]))
    resource.setrlimit(resource.RLIMIT_FSIZE, (limits["file_bytes"], limits["file_bytes"]))
    resource.setrlimit(resource.RLIMIT_NOFILE, (limits["open_files"], limits["open_files"]))
    resource.setrlimit(resource.RLIMIT_CORE, (0, 0))


def _report(channel, payload: dict) -> None:
    try:
        data = json.dumps(payload, allow_nan=False)
    except (TypeError, ValueError) as error:
        data = json.dumps({"ok": False, "error": f"The result is not JSON: {error}"[:500]})
    channel.write(data.encode())
    channel.flush()


class Standby:
    """A forked child waiting for its request, and the server's ends of its pipes."""

    def __init__(
        self, pid: int, request_w: int, out_r: int, err_r: int, res_r: int, prog_r: int
    ) -> None:
        self.pid, self.request_w = pid, request_w
        self.out_r, self.err_r, self.res_r, self.prog_r = out_r, err_r, res_r, prog_r
        self.max_processes = None  # the RLIMIT_NPROC it was given while it waited, if any


def _fork_standby(shared_rules: dict | None) -> Standby:
    """Fork the next child; it prepares `shared_rules` (read paths, ports) while it waits."""
    req_r, req_w = os.pipe()
    out_r, out_w = os.pipe()
    err_r, err_w = os.pipe()
    res_r, res_w = os.pipe()
    prog_r, prog_w = os.pipe()
    # Frozen objects are never visited by the child's garbage collector, so their memory pages
    # stay shared with this process instead of being copied on first touch.
    gc.freeze()
    pid = os.fork()
    if pid == 0:
        # The server's handlers are not the script's.
        signal.signal(signal.SIGTERM, signal.SIG_DFL)
        signal.signal(signal.SIGINT, signal.default_int_handler)
        try:
            _child(shared_rules, req_r, out_w, err_w, res_w, prog_w)
        finally:
            os._exit(70)
    for fd in (req_r, out_w, err_w, res_w, prog_w):
        os.close(fd)
    return Standby(pid, req_w, out_r, err_r, res_r, prog_r)


# What the standby child prepares before its request comes: what every run of the worker shares.
MOUNT_NS = "/proc/self/ns/mnt"
SHARED_KEYS = ("read_paths", "tcp_ports", "hide_paths", "environment", "uid", "gid")


def _shared(request: dict) -> dict:
    return {key: request.get(key) for key in SHARED_KEYS}


def _rules_key(rules: dict | None):
    return rules and json.dumps(_shared(rules), sort_keys=True)


def _prepare_ruleset(rules: dict | None):
    """A Landlock ruleset holding `rules`, or None when the kernel has no Landlock."""
    if not rules:
        return None
    try:
        ruleset = landlock.Ruleset(tcp_ports=rules["tcp_ports"])
        for path in rules["read_paths"]:
            ruleset.allow(path)
    except OSError:
        return None
    return ruleset


class Prepared:
    """What a standby child did ahead of its request, with the rules every run shares: its
    Landlock ruleset, its sys.path, (as root) the mounts that let the sandbox's uid reach the
    read paths, and its capability bounding set emptied. A request with other rules has the
    rules-dependent parts done again, from the start."""

    def __init__(self, rules: dict | None) -> None:
        self.rules = rules
        self.sys_path = list(sys.path)
        self.ruleset = _prepare_ruleset(rules)
        self.covered: list[str] | None = None  # None: the reachability is still to be done
        self.mount_ns = None
        privileges.drop_bounding_set()  # as root this leaves the effective capabilities
        if rules:
            _script_sys_path(rules)
            if os.geteuid() != 0:
                self.covered = []
            else:
                try:
                    self.mount_ns = os.open(MOUNT_NS, os.O_RDONLY | os.O_CLOEXEC)
                    self.covered = privileges.make_reachable(
                        rules["read_paths"], uid=rules["uid"], gid=rules["gid"]
                    )
                except OSError:  # tried again on the run's path, where a failure is reported
                    with contextlib.suppress(OSError):
                        self._back_to_own_mounts()
                    self.covered = None

    def _back_to_own_mounts(self) -> None:
        """Leave the mount namespace the standby made, if it made one (none is then covered)."""
        namespace = self.mount_ns
        if namespace is not None and os.fstat(namespace).st_ino != os.stat(MOUNT_NS).st_ino:
            privileges.enter_mount_namespace(namespace)
        self.covered = None

    def for_request(self, request: dict):
        """Finish what depends on the request; returns the ruleset to complete and enforce.
        A run folder under a folder the standby covered is not there in its namespace: the
        child goes back to the server's (before it enters the folder) and mounts afresh."""
        workdir = os.path.realpath(request["workdir"])
        covered = self.covered or []
        if any(workdir == folder or workdir.startswith(folder + os.sep) for folder in covered):
            self._back_to_own_mounts()
        if _rules_key(self.rules) != _rules_key(request):
            # Back to the server's mounts first: the new rules' paths are opened there.
            self._back_to_own_mounts()
            self.ruleset = _prepare_ruleset(request)
            sys.path[:] = self.sys_path
            _script_sys_path(request)
        return self.ruleset

    def release(self) -> None:
        """Close what the script must not inherit (its namespace's descriptor)."""
        if self.mount_ns is not None:
            os.close(self.mount_ns)
            self.mount_ns = None

    def make_reachable(self, request: dict) -> None:
        """As root: let the sandbox's uid reach the read paths and the run's folder (in the
        standby's own mount namespace, unless `for_request` left it)."""
        if self.covered is None:
            paths = [*request["read_paths"], request["workdir"]]
        else:
            paths = [request["workdir"]]
        privileges.make_reachable(paths, uid=request["uid"], gid=request["gid"])


def _confine(request: dict, prepared: Prepared, ruleset) -> None:
    """Drop root and every capability, then apply Landlock and the socket filter, for good."""
    if os.geteuid() == 0:  # the script runs as the sandbox's uid, which must own its directory
        for path in ("", "output", "tmp"):
            os.chown(os.path.join(request["workdir"], path), request["uid"], request["gid"])
        prepared.make_reachable(request)
    if ruleset is not None:
        ruleset.allow(request["workdir"], write=True)
        ruleset.allow(os.devnull, write=True)
    server = os.getppid()
    privileges.drop(uid=request["uid"], gid=request["gid"], bounding_set=False)
    _die_with_parent()  # a change of uid cleared it
    if os.getppid() != server:  # the server died before it was set again
        os._exit(70)
    if ruleset is not None:
        ruleset.enforce()
    elif request["isolation"] == "required":
        raise landlock.LandlockError(0, "Landlock is required but not available")
    if seccomp.available():
        seccomp.restrict_sockets(unix_sockets=request["unix_sockets"], udp=request["udp"])
    elif request["isolation"] == "required":
        raise seccomp.SeccompError(0, "seccomp is required but not available")


def _is_hidden(path: str, hidden: tuple[str, ...]) -> bool:
    real = os.path.realpath(path)
    return any(real == folder or real.startswith(folder + os.sep) for folder in hidden)


_hidden_modules_cache: dict[tuple[str, ...], tuple[set[str], list[str]]] = {}


def _hidden_modules(hidden: tuple[str, ...]) -> tuple[set[str], list[str]]:
    """The modules loaded now (names), and those of them loaded from `hidden` folders: worked
    out once by the server before it forks, so that its children need not."""
    if hidden not in _hidden_modules_cache:
        names, found = set(), []
        for name, module in list(sys.modules.items()):
            names.add(name)
            origin = getattr(module, "__file__", None)
            if origin and _is_hidden(origin, hidden):
                found.append(name)
        _hidden_modules_cache[hidden] = (names, found)
    return _hidden_modules_cache[hidden]


def _hide_folders(request: dict) -> tuple[str, ...]:
    return tuple(os.path.realpath(path) for path in request.get("hide_paths") or [])


def _script_sys_path(request: dict) -> None:
    """What the script imports from: the standard library, then its environment (if any). The
    server's packages (`hide_paths`) leave sys.path, and so do modules already loaded from them
    (site's .pth hooks); without Landlock a script could still put them back itself."""
    hidden = _hide_folders(request)
    sys.path[:] = [path for path in sys.path if path and not _is_hidden(path, hidden)]
    if request.get("environment"):
        sys.path.append(request["environment"])
    known, found = _hidden_modules(hidden) if hidden else (set(), [])
    for name in found:
        sys.modules.pop(name, None)
    for name, module in list(sys.modules.items()):
        if name in known:
            continue  # the server checked it
        origin = getattr(module, "__file__", None)
        if origin and _is_hidden(origin, hidden):
            del sys.modules[name]
    sys.path_importer_cache.clear()


def _read_request(fd: int) -> dict | None:
    data = bytearray()
    while chunk := os.read(fd, CHUNK):
        data += chunk
    os.close(fd)
    return json.loads(data) if data else None


def _child(
    shared_rules: dict | None, req_r: int, out_w: int, err_w: int, res_w: int, prog_w: int
) -> None:
    """Runs in the forked child: get ready, wait for the request, confine, run the script."""
    os.setsid()  # its own process group, which is killed as a whole
    _die_with_parent()
    devnull = os.open(os.devnull, os.O_RDONLY)
    pairs = (
        (devnull, 0),
        (out_w, 1),
        (err_w, 2),
        (res_w, RESULT_FD),
        (req_r, REQUEST_FD),
        (prog_w, PROGRESS_FD),
    )
    for source, target in pairs:
        os.dup2(source, target)
    _close_inherited_fds(keep=PROGRESS_FD)
    os.set_blocking(PROGRESS_FD, False)  # a slow server never stalls the script
    rbas.channel = PROGRESS_FD
    sys.stdin = io.TextIOWrapper(io.FileIO(0, "r", closefd=False), encoding="utf-8")
    # Line by line, as on a terminal: what a script prints shows while it runs.
    sys.stdout = io.TextIOWrapper(
        io.FileIO(1, "w", closefd=False), encoding="utf-8", line_buffering=True
    )
    sys.stderr = io.TextIOWrapper(
        io.FileIO(2, "w", closefd=False),
        encoding="utf-8",
        errors="backslashreplace",
        line_buffering=True,
    )
    channel = io.FileIO(RESULT_FD, "w", closefd=False)
    prepared = Prepared(shared_rules)
    request = _read_request(REQUEST_FD)
    if request is None:  # the server is going away
        os._exit(0)
    code = 1
    try:
        ruleset = prepared.for_request(request)
        os.chdir(request["workdir"])
        os.umask(0o077)
        os.environ.clear()
        os.environ.update(request["env"])
        _apply_limits(request["limits"])
        _confine(request, prepared, ruleset)
        prepared.release()
        filename = request["filename"]
        source = request["source"]
        linecache.cache[filename] = (len(source), None, source.splitlines(True), filename)
        params = dict(request["params"])
        for name in request["date_params"]:
            if params.get(name) is not None:
                params[name] = datetime.date.fromisoformat(params[name])
        namespace = {"__name__": "__rbas_script__", "__file__": filename, "__builtins__": builtins}
        sys.argv = [filename]
        exec(compile(source, filename, "exec"), namespace)  # noqa: S102 - this is the sandbox
        value = namespace["main"](**params)
        sys.stdout.flush()
        _report(channel, {"ok": True, "result": value})
        code = 0
    except BaseException as error:
        # The traceback starts at the script: this file's frame says nothing to its author.
        traceback.print_exception(type(error), error, error.__traceback__.tb_next)
        message = f"{type(error).__name__}: {error}" if str(error) else type(error).__name__
        _report(channel, {"ok": False, "error": message[:500]})
    finally:
        for stream in (sys.stdout, sys.stderr):
            with contextlib.suppress(OSError, ValueError):
                stream.flush()
        rbas.flush()
        # Closing the pipes tells the server at once that the script is done; tearing down
        # the process's memory in os._exit takes another millisecond nobody needs to wait for.
        for fd in (1, 2, RESULT_FD, PROGRESS_FD):
            with contextlib.suppress(OSError):
                os.close(fd)
        os._exit(code)


def _exit_status_without_waiting(pid: int, channel: bytes) -> int | None:
    """The child's wait status if it is already known; None when the child reported on the
    result channel and is only tearing itself down (its exit code follows from the report)."""
    waited, status = os.waitpid(pid, os.WNOHANG)
    if waited:
        return status
    if channel:
        return None
    return os.waitpid(pid, 0)[1]


def _progress_from(line: bytes) -> dict | None:
    """A progress update read from the run's progress channel, checked as `rbas.progress`
    checks it (the script may write there itself); None when it is not one."""
    try:
        update = json.loads(line)
        fraction, message = float(update["fraction"]), update["message"]
    except (ValueError, TypeError, KeyError, RecursionError):
        return None
    if fraction != fraction or not isinstance(message, str):  # NaN
        return None
    return {
        "fraction": min(max(fraction, 0.0), 1.0),
        "message": message[: rbas.MAX_MESSAGE_CHARS],
    }


class Live:
    """What of a running script's output and progress the worker has not been sent yet."""

    def __init__(self, run_id: str, out_r: int, err_r: int) -> None:
        self.run_id = run_id
        self.sent = {out_r: 0, err_r: 0}
        self.decoders = {fd: codecs.getincrementaldecoder("utf-8")("replace") for fd in self.sent}
        self.progress = self.sent_progress = None
        self.pending = b""  # an unfinished line of the progress channel
        self.sent_at = time.monotonic()

    def read_progress(self, chunk: bytes) -> None:
        """Take in bytes of the progress channel: the last complete valid line wins."""
        *lines, self.pending = (self.pending + chunk).split(b"\n")
        if len(self.pending) > PROGRESS_LINE_BYTES:
            self.pending = b""
        for line in reversed(lines):
            update = _progress_from(line) if len(line) <= PROGRESS_LINE_BYTES else None
            if update is not None:
                self.progress = update
                break

    def drain_progress(self, fd: int) -> None:
        """Read what the progress channel holds now, without waiting for more."""
        for _ in range(16):  # a process left behind may keep writing: not forever
            if not select.select([fd], [], [], 0)[0]:
                return
            chunk = os.read(fd, CHUNK)
            if not chunk:
                return
            self.read_progress(chunk)

    def event(self, buffers: dict) -> dict | None:
        """The output event due now, if anything new came since the last one."""
        now = time.monotonic()
        if now - self.sent_at < LIVE_INTERVAL_SECONDS:
            return None
        grown = any(len(buffers[fd]) > sent for fd, sent in self.sent.items())
        if not grown and self.progress == self.sent_progress:
            return None
        text = {}
        for fd, sent in self.sent.items():
            text[fd] = self.decoders[fd].decode(bytes(buffers[fd][sent:]))
            self.sent[fd] = len(buffers[fd])
        self.sent_at, self.sent_progress = now, self.progress
        out_r, err_r = self.sent
        return {
            "event": "output",
            "run": self.run_id,
            "stdout": text[out_r],
            "stderr": text[err_r],
            "progress": self.progress,
        }


def _run(standby: Standby, line: bytes, request: dict, control_in: int, send, fork_next) -> Standby:
    """Hand the request to the standby child, collect what it says, watch its processes and
    disk, and once every process of the run is dead, report how it ended. Returns the next
    standby (`fork_next()`), forked as soon as the script is done, so that it gets ready while
    the run's processes are killed and reaped and while the worker records the run."""
    pid, out_r, err_r, res_r = standby.pid, standby.out_r, standby.err_r, standby.res_r
    prog_r = standby.prog_r
    flags = os.O_RDONLY | os.O_DIRECTORY | os.O_NOFOLLOW | os.O_CLOEXEC
    workdir_fd = os.open(request["workdir"], flags)  # before the script can touch it
    if standby.max_processes != request["max_processes"]:
        lifecycle.limit_processes(pid, request["max_processes"])
    watch = lifecycle.Watch(workdir_fd, request["max_processes"], request["disk_bytes"])
    os.write(standby.request_w, line)
    os.close(standby.request_w)
    send({"event": "started", "run": request["run"], "pid": pid})
    caps = {
        out_r: request["output_cap"],
        err_r: request["output_cap"],
        res_r: request["result_cap"],
    }
    buffers = {out_r: bytearray(), err_r: bytearray(), res_r: bytearray()}
    cut = {out_r: False, err_r: False, res_r: False}
    status, exited_at, killed_for = None, None, None
    live = Live(request["run"], out_r, err_r)
    # The run is over when stdout, stderr and the result channel are closed; the progress
    # channel is read meanwhile, and a script that leaves it open does not hold its run.
    open_fds = set(buffers)
    watched = {*buffers, prog_r}
    while open_fds:
        ended = lifecycle.reap()  # the child, and orphans of the script that were handed to us
        if killed_for is None and status is None:
            killed_for = watch.check()
            if killed_for is not None:
                ended |= lifecycle.kill_descendants()
        if status is None and pid in ended:
            status, exited_at = ended[pid], time.monotonic()
        if exited_at is not None and time.monotonic() - exited_at > STRAY_GRACE_SECONDS:
            break  # the script left processes behind that hold its output open
        ready, _, _ = select.select([*(open_fds | watched), control_in], [], [], 0.05)
        for fd in ready:
            if fd == control_in:
                if not os.read(control_in, 4096):  # the worker is gone
                    lifecycle.kill_descendants()
                    os._exit(0)
                continue
            chunk = os.read(fd, CHUNK)
            if not chunk:
                open_fds.discard(fd)
                watched.discard(fd)
                continue
            if fd == prog_r:
                live.read_progress(chunk)
                continue
            room = caps[fd] - len(buffers[fd])
            buffers[fd] += chunk[: max(room, 0)]
            cut[fd] = cut[fd] or len(chunk) > room
        if status is None and (event := live.event(buffers)) is not None:
            send(event)
    if prog_r in watched:  # what the script reported just before it ended
        live.drain_progress(prog_r)
    for fd in (*buffers, prog_r):
        os.close(fd)
    if status is None:
        status = _exit_status_without_waiting(pid, buffers[res_r])
    exit_code = os.waitstatus_to_exitcode(status) if status is not None else None
    try:
        following = fork_next()
    except OSError:  # no process to spare: forked again after the report, or the server fails
        following = None
    # Nothing of the run may outlive its report: the worker then collects its artifacts.
    lifecycle.kill_descendants(spare=frozenset([following.pid] if following else []))
    killed_for = killed_for or watch.check_disk()
    os.close(workdir_fd)
    send(
        {
            "event": "finished",
            "run": request["run"],
            "exit_code": exit_code,
            "killed_for": killed_for,
            "stdout": buffers[out_r].decode("utf-8", errors="replace"),
            "stderr": buffers[err_r].decode("utf-8", errors="replace"),
            "stdout_cut": cut[out_r],
            "stderr_cut": cut[err_r],
            "result_cut": cut[res_r],
            "channel": buffers[res_r].decode("utf-8", errors="replace"),
            "progress": live.progress,
        }
    )
    return following or fork_next()


def serve() -> None:
    """Answer requests from the worker until it goes away."""
    lifecycle.kill_all_when_parent_dies()
    lifecycle.become_subreaper()
    control_in, control_out = os.dup(0), os.dup(1)
    devnull = os.open(os.devnull, os.O_RDWR)
    os.dup2(devnull, 0)
    os.dup2(devnull, 1)

    def send(message: dict) -> None:
        os.write(control_out, json.dumps(message).encode() + b"\n")

    send({"event": "ready", "landlock_abi": landlock.abi_version()})
    try:
        standby = _fork_standby(None)
        pending = b""
        while True:
            while b"\n" not in pending:
                data = os.read(control_in, CHUNK)
                if not data:
                    return
                pending += data
            line, _, pending = pending.partition(b"\n")
            request = json.loads(line)
            shared = _shared(request)
            _hidden_modules(_hide_folders(shared))  # worked out here, once, for every child
            standby = _run(
                standby, line, request, control_in, send, functools.partial(_fork_standby, shared)
            )
            # Off the path of the next run (counting a non-root uid's tasks reads /proc).
            lifecycle.limit_processes(standby.pid, request["max_processes"])
            standby.max_processes = request["max_processes"]
    finally:
        # The worker went away, or this server failed: the standby and anything a run left
        # behind go with it.
        lifecycle.kill_descendants()


if __name__ == "__main__":
    serve()
