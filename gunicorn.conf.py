"""gunicorn settings for simple RBAS, all from the environment (see .env.example).

The master also owns the embedded queue workers (EMBEDDED_WORKERS, default 2): it starts them
once it is ready, restarts one that dies, and stops them when it stops, so that `run_web.sh`
can `exec` gunicorn and a container's SIGTERM stops everything within the graceful timeout.
"""

import contextlib
import json
import logging
import os
import signal
import socket
import subprocess
import sys
import threading
import time

from simple_rbas.logging import json_logging

bind = f"{os.environ.get('HOST', '0.0.0.0')}:{os.environ.get('PORT', '8000')}"  # noqa: S104
workers = int(os.environ.get("WEB_CONCURRENCY", "2"))
worker_class = "gthread"
# WEB_THREADS serve requests; WEB_WAIT_SLOTS more threads are there for long-polls (?wait=N),
# which never take more than that many (scripts_api/waiting.py), so they cannot starve the rest.
threads = int(os.environ.get("WEB_THREADS", "4")) + int(os.environ.get("WEB_WAIT_SLOTS", "200"))
graceful_timeout = int(os.environ.get("GRACEFUL_TIMEOUT", "30"))
timeout = graceful_timeout + 30
forwarded_allow_ips = os.environ.get("FORWARDED_ALLOW_IPS", "127.0.0.1")
# No `gunicornc` control socket: it would live in $HOME (/app), which the image keeps read-only,
# and nothing here uses it.
control_socket_disable = True

# Django logs one JSON line per request (with the user id); gunicorn's own access log, in the
# same shape, is there for when the request never reaches Django.
accesslog = "-" if os.environ.get("GUNICORN_ACCESS_LOG", "false").lower() == "true" else None
access_log_format = json.dumps(
    {
        "time": "%(t)s",
        "level": "INFO",
        "logger": "gunicorn.access",
        "request_id": "%({x-request-id}o)s",
        "method": "%(m)s",
        "path": "%(U)s",
        "status": "%(s)s",
        "duration_ms": "%(M)s",
        "user_id": None,
    }
)
logconfig_dict = json_logging(
    os.environ.get("LOG_LEVEL", "INFO"),
    loggers={"gunicorn.error": {"handlers": ["stdout"], "level": "INFO", "propagate": False}},
)

_log = logging.getLogger("gunicorn.error")
_embedded: list[subprocess.Popen] = []
_stopping = threading.Event()


def _start_worker() -> subprocess.Popen:
    return subprocess.Popen(
        [sys.executable, "manage.py", "db_worker", "--no-reload"],
        cwd=os.path.dirname(os.path.abspath(__file__)),
    )


def _supervise() -> None:
    while not _stopping.wait(1):
        for index, process in enumerate(_embedded):
            if process.poll() is not None and not _stopping.is_set():
                _log.warning("Embedded queue worker %s exited; starting another.", process.pid)
                _embedded[index] = _start_worker()


def post_worker_init(worker) -> None:
    """On SIGTERM a web worker answers its long-polls at once with the runs' current state,
    takes the connections already waiting to be accepted, and stops accepting; then it
    finishes every request it holds, as gunicorn does, within GRACEFUL_TIMEOUT."""
    from scripts_api.waiting import wait_room

    stop = worker.handle_exit

    def take_the_backlog_and_stop_accepting() -> None:
        for listener in worker.sockets:
            try:
                while True:  # `accept` takes one connection, or none when the backlog is empty
                    before = worker.nr_conns
                    worker.accept(listener)
                    if worker.nr_conns == before:
                        break
            except OSError:
                pass  # the master shut the socket down already
        worker.set_accept_enabled(False)

    def handle_exit(sig, frame) -> None:
        wait_room.close()
        if worker.alive:
            worker.method_queue.defer(take_the_backlog_and_stop_accepting)
        stop(sig, frame)

    signal.signal(signal.SIGTERM, handle_exit)


def _refuse_new_connections_on_stop(server) -> None:
    """Make a graceful stop refuse new connections at once (they would otherwise wait in the
    listen backlog, unanswered, until the last worker exits): the workers are told first (they
    take what is already waiting), then the listening sockets are shut down."""
    stop = server.stop

    def graceful_stop(graceful: bool = True) -> None:
        if graceful and server.WORKERS:
            server.kill_workers(signal.SIGTERM)
            time.sleep(0.25)
            for listener in server.LISTENERS:
                with contextlib.suppress(OSError):
                    listener.sock.shutdown(socket.SHUT_RDWR)
        stop(graceful)

    server.stop = graceful_stop


def when_ready(server) -> None:
    """Start the embedded queue workers once gunicorn serves."""
    _refuse_new_connections_on_stop(server)
    count = int(os.environ.get("EMBEDDED_WORKERS", "2"))
    _embedded.extend(_start_worker() for _ in range(count))
    if count:
        _log.info("Started %d embedded queue workers.", count)
        threading.Thread(target=_supervise, name="embedded-workers", daemon=True).start()


def on_exit(server) -> None:
    """Stop the embedded queue workers with gunicorn (each finishes its current run first)."""
    _stopping.set()
    for process in _embedded:
        if process.poll() is None:
            process.send_signal(signal.SIGTERM)
    deadline = time.monotonic() + graceful_timeout
    for process in _embedded:
        try:
            process.wait(timeout=max(deadline - time.monotonic(), 0.1))
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()
    if _embedded:
        _log.info("Stopped %d embedded queue workers.", len(_embedded))
