"""Wake idle workers the moment a run is queued, so that they need not poll the database.

On PostgreSQL this is LISTEN/NOTIFY, which reaches workers on any host. On SQLite (one host by
nature) it is a named pipe beside the database file, which web and workers share by definition:
queuing writes a byte, and an idle worker blocked on the pipe wakes up. Either way a wake-up is
only a hint: workers still poll every `--interval` seconds, so a lost one costs latency, never
a run.
"""

import contextlib
import errno
import logging
import os
import select
import time
from pathlib import Path

import psycopg
from django.db import connection, transaction

logger = logging.getLogger(__name__)
CHANNEL = "rbas_runs_queued"


def _fifo_path() -> Path:
    return Path(f"{connection.settings_dict['NAME']}.wakeup")


def notify_queued() -> None:
    """Call inside the transaction that queues a run: idle workers wake when it commits."""
    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            cursor.execute(f"NOTIFY {CHANNEL}")  # delivered at commit, like the run itself
    else:
        transaction.on_commit(_write_fifo)


def _write_fifo() -> None:
    try:
        fd = os.open(_fifo_path(), os.O_WRONLY | os.O_NONBLOCK)
    except OSError:
        return  # no worker has opened it (none running): nothing to wake
    try:
        os.write(fd, b"!")
    except BlockingIOError:
        pass  # the pipe is full of wake-ups nobody read yet: workers are busy anyway
    finally:
        os.close(fd)


class Waker:
    """A worker's side: wait for a wake-up, or for `timeout` seconds at most.

    On PostgreSQL the listening connection is reopened when it breaks (the server restarted);
    until it is, `wait` simply sleeps, and the worker keeps polling.
    """

    RECONNECT_SECONDS = 2.0

    def __init__(self) -> None:
        self._fd: int | None = None
        self._listener = None
        self._listen_at = 0.0
        if connection.vendor == "postgresql":
            self._listen()
        else:
            path = _fifo_path()
            path.parent.mkdir(parents=True, exist_ok=True)
            with contextlib.suppress(FileExistsError):
                os.mkfifo(path, 0o600)
            # Read and write: the pipe then always has a writer and never reports end of file.
            self._fd = os.open(path, os.O_RDWR | os.O_NONBLOCK)

    def _listen(self) -> None:
        self._listen_at = time.monotonic() + self.RECONNECT_SECONDS
        params = connection.get_connection_params()
        params.pop("cursor_factory", None)
        try:
            listener = psycopg.connect(**params, autocommit=True)
            listener.execute(f"LISTEN {CHANNEL}")
        except psycopg.Error as error:
            logger.warning("Cannot listen for queued runs yet (%s); polling meanwhile.", error)
            return
        self._listener, self._fd = listener, listener.fileno()

    def _drop_listener(self, error: Exception) -> None:
        logger.warning("The listening connection broke (%s); it will be reopened.", error)
        with contextlib.suppress(psycopg.Error):
            self._listener.close()
        self._listener, self._fd = None, None

    def wait(self, timeout: float) -> None:
        """Return when a run may have been queued, or after `timeout` seconds."""
        if connection.vendor == "postgresql" and self._listener is None:
            if time.monotonic() >= self._listen_at:
                self._listen()
            if self._listener is None:
                time.sleep(min(timeout, self.RECONNECT_SECONDS))
                return
        ready, _, _ = select.select([self._fd], [], [], timeout)
        if not ready:
            return
        if self._listener is not None:
            try:
                for _ in self._listener.notifies(timeout=0):
                    pass  # read them all: one wake-up is enough
            except psycopg.Error as error:
                self._drop_listener(error)
        else:
            try:
                # One byte, one wake-up: the rest wake the other idle workers.
                os.read(self._fd, 1)
            except OSError as error:
                if error.errno != errno.EAGAIN:
                    raise

    def close(self) -> None:
        """Release the listening connection or the pipe."""
        if self._listener is not None:
            with contextlib.suppress(psycopg.Error):
                self._listener.close()
        elif self._fd is not None:
            os.close(self._fd)
