"""The sandbox fork server: started once per worker as `python -I sandbox_server.py`.

It imports no Django and holds no secrets (its environment is minimal). For each request it
forks a child that confines itself (new session, resource limits, Landlock, minimal environment,
fresh working directory) and runs the script; the server collects stdout, stderr and the result
channel, and reports how the child ended. Forking a warm interpreter costs about a millisecond
where starting a new one costs twenty; every child is still a fresh `python -I` copy that never
ran any other script.

Protocol, one JSON object per line: the worker writes a request on the server's stdin; the server
answers {"event": "started", "pid": N} then {"event": "finished", ...}. When its stdin closes
(the worker died), the server kills the running child's process group and exits.
"""

import builtins
import ctypes
import datetime
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

# `python -I` does not put this file's folder on sys.path: add it just to import the sibling.
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import landlock

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

RESULT_FD = 3
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


def _child(request: dict, out_w: int, err_w: int, res_w: int) -> None:
    """Runs in the forked child: confine, then execute the script. Never returns."""
    os.setsid()
    _die_with_parent()
    devnull = os.open(os.devnull, os.O_RDONLY)
    for source, target in ((devnull, 0), (out_w, 1), (err_w, 2), (res_w, RESULT_FD)):
        os.dup2(source, target)
    _close_inherited_fds(keep=RESULT_FD)
    sys.stdin = io.TextIOWrapper(io.FileIO(0, "r", closefd=False), encoding="utf-8")
    sys.stdout = io.TextIOWrapper(io.FileIO(1, "w", closefd=False), encoding="utf-8")
    sys.stderr = io.TextIOWrapper(
        io.FileIO(2, "w", closefd=False), encoding="utf-8", errors="backslashreplace"
    )
    channel = io.FileIO(RESULT_FD, "w", closefd=False)
    code = 1
    try:
        os.chdir(request["workdir"])
        os.umask(0o077)
        os.environ.clear()
        os.environ.update(request["env"])
        _apply_limits(request["limits"])
        try:
            landlock.restrict_self(
                read_paths=request["read_paths"],
                write_paths=[request["workdir"], os.devnull],
                tcp_ports=request["tcp_ports"],
            )
        except OSError:
            if request["isolation"] == "required":
                raise
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
        os._exit(code)


def _kill_group(pid: int) -> None:
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.killpg(pid, signal.SIGKILL)


def _run(request: dict, control_in: int, send) -> None:
    """Fork one child for `request`, collect what it says, and report how it ended."""
    out_r, out_w = os.pipe()
    err_r, err_w = os.pipe()
    res_r, res_w = os.pipe()
    # Frozen objects are never visited by the child's garbage collector, so their memory pages
    # stay shared with this process instead of being copied on first touch.
    gc.freeze()
    pid = os.fork()
    if pid == 0:
        try:
            _child(request, out_w, err_w, res_w)
        finally:
            os._exit(70)
    for fd in (out_w, err_w, res_w):
        os.close(fd)
    send({"event": "started", "pid": pid})
    caps = {
        out_r: request["output_cap"],
        err_r: request["output_cap"],
        res_r: request["result_cap"],
    }
    buffers = {out_r: bytearray(), err_r: bytearray(), res_r: bytearray()}
    cut = {out_r: False, err_r: False, res_r: False}
    status, exited_at = None, None
    open_fds = set(buffers)
    while open_fds:
        if status is None:
            waited, raw_status = os.waitpid(pid, os.WNOHANG)
            if waited:
                status, exited_at = raw_status, time.monotonic()
        if exited_at is not None and time.monotonic() - exited_at > STRAY_GRACE_SECONDS:
            _kill_group(pid)  # the script left children behind that hold its output open
            break
        ready, _, _ = select.select([*open_fds, control_in], [], [], 0.05)
        for fd in ready:
            if fd == control_in:
                if not os.read(control_in, 4096):  # the worker is gone
                    _kill_group(pid)
                    os._exit(0)
                continue
            chunk = os.read(fd, CHUNK)
            if not chunk:
                open_fds.discard(fd)
                continue
            room = caps[fd] - len(buffers[fd])
            buffers[fd] += chunk[: max(room, 0)]
            cut[fd] = cut[fd] or len(chunk) > room
    for fd in buffers:
        os.close(fd)
    if status is None:
        _, status = os.waitpid(pid, 0)
    _kill_group(pid)
    send(
        {
            "event": "finished",
            "exit_code": os.waitstatus_to_exitcode(status),
            "stdout": buffers[out_r].decode("utf-8", errors="replace"),
            "stderr": buffers[err_r].decode("utf-8", errors="replace"),
            "stdout_cut": cut[out_r],
            "stderr_cut": cut[err_r],
            "result_cut": cut[res_r],
            "channel": buffers[res_r].decode("utf-8", errors="replace"),
        }
    )


def serve() -> None:
    """Answer requests from the worker until it goes away."""
    _die_with_parent()
    control_in, control_out = os.dup(0), os.dup(1)
    devnull = os.open(os.devnull, os.O_RDWR)
    os.dup2(devnull, 0)
    os.dup2(devnull, 1)

    def send(message: dict) -> None:
        os.write(control_out, json.dumps(message).encode() + b"\n")

    send({"event": "ready", "landlock_abi": landlock.abi_version()})
    pending = b""
    while True:
        while b"\n" not in pending:
            data = os.read(control_in, CHUNK)
            if not data:
                return
            pending += data
        line, _, pending = pending.partition(b"\n")
        _run(json.loads(line), control_in, send)


if __name__ == "__main__":
    serve()
