"""gunicorn settings for simple RBAS, all from the environment (see .env.example).

The master also owns the embedded queue workers (EMBEDDED_WORKERS, default 2): it starts them
once it is ready, restarts one that dies, and stops them when it stops, so that `run_web.sh`
can `exec` gunicorn and a container's SIGTERM stops everything within the graceful timeout.
"""

import json
import logging
import os
import signal
import subprocess
import sys
import threading
import time

from simple_rbas.logging import json_logging

bind = f"{os.environ.get('HOST', '0.0.0.0')}:{os.environ.get('PORT', '8000')}"  # noqa: S104
workers = int(os.environ.get("WEB_CONCURRENCY", "2"))
# Threads, so that long-polling clients (?wait=N) do not hold every worker.
worker_class = "gthread"
threads = int(os.environ.get("WEB_THREADS", "4"))
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


def when_ready(server) -> None:
    """Start the embedded queue workers once gunicorn serves."""
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
