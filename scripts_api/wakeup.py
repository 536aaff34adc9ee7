"""Wake idle workers the moment a run is queued, so that they need not poll the database.

On PostgreSQL this is LISTEN/NOTIFY, which reaches workers on any host. On SQLite (one host by
nature) it is a named pipe beside the database file, which web and workers share by definition:
queuing writes a byte, and an idle worker blocked on the pipe wakes up. Either way a wake-up is
only a hint: workers still poll every `--interval` seconds, so a lost one costs latency, never
a run.
"""

import contextlib
import errno
import hashlib
import logging
import os
import select
import socket
import stat
import tempfile
import time
from pathlib import Path

import psycopg
from django.contrib.auth import get_user_model
from django.db import connection, transaction
from django.db.models import CharField, Func, Value

logger = logging.getLogger(__name__)
CHANNEL = "rbas_runs_queued"


def _listening_connection(channel: str):
    """A connection of its own, outside Django's, that LISTENs on `channel` (psycopg.Error when
    the database does not answer)."""
    params = connection.get_connection_params()
    params.pop("cursor_factory", None)
    listener = psycopg.connect(**params, autocommit=True)
    listener.execute(f"LISTEN {channel}")
    return listener


def _fifo_path() -> Path:
    return Path(f"{connection.settings_dict['NAME']}.wakeup")


def notify_queued(lock_user=None) -> None:
    """Call inside the transaction that queues a run: idle workers wake when it commits.

    `lock_user`: on PostgreSQL, also lock that user's row (FOR UPDATE) in the same statement,
    which saves the queuing request a round trip."""
    if connection.vendor == "postgresql":
        # Delivered at commit, like the run itself (and never, when the transaction rolls back).
        if lock_user is None:
            with connection.cursor() as cursor:
                cursor.execute(f"NOTIFY {CHANNEL}")
        else:
            notify = Func(Value(CHANNEL), Value(""), function="pg_notify", output_field=CharField())
            users = get_user_model().objects.select_for_update().filter(pk=lock_user)
            list(users.annotate(notified=notify).values_list("notified", flat=True))
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
        try:
            listener = _listening_connection(CHANNEL)
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


# Runs that finish: wake the web processes' long-polls (`scripts_api.waiting`) at once.
#
# On PostgreSQL, the worker's `NOTIFY rbas_run_finished, '<run id>'` reaches every web process,
# on any host, through one LISTEN connection each. On SQLite (one host), each web process binds
# a UNIX datagram socket in a private folder beside the database file, and the worker sends the
# run id to every socket there. Either way it is a hint: the waiting room still reads the
# statuses every WEB_WAIT_FALLBACK_POLL_SECONDS, so a lost wake-up costs latency, never an answer.
FINISHED_CHANNEL = "rbas_run_finished"


def _sockets_dir() -> Path:
    """A private folder beside the database file; or, when a socket's path there would pass
    the 108 bytes a UNIX socket's path may have, one named after it in the temporary folder."""
    database = os.path.realpath(connection.settings_dict["NAME"])
    folder = f"{database}.waiters"
    if len(folder) > 80:
        digest = hashlib.sha256(database.encode()).hexdigest()[:16]
        folder = os.path.join(tempfile.gettempdir(), f"rbas-{os.getuid()}-{digest}.waiters")
    return Path(folder)


def notify_finished(run_id) -> None:
    """Tell the web processes that run `run_id` has ended (call once its outcome is committed).
    Never raises: a wake-up that cannot be sent is only a poll away."""
    try:
        if connection.vendor == "postgresql":
            with connection.cursor() as cursor:
                cursor.execute("SELECT pg_notify(%s, %s)", [FINISHED_CHANNEL, str(run_id)])
        else:
            _send_to_sockets(str(run_id).encode())
    except Exception as error:  # a hint: the fallback poll answers anyway
        logger.warning("Cannot signal that run %s finished (%s).", run_id, error)


def _send_to_sockets(message: bytes) -> None:
    try:
        names = os.listdir(_sockets_dir())
    except OSError:
        return  # no web process waits (or none ever did)
    with socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM) as sender:
        sender.setblocking(False)
        for name in names:
            path = _sockets_dir() / name
            try:
                sender.sendto(message, str(path))
            except (ConnectionRefusedError, FileNotFoundError):
                # Its process is gone without removing it.
                with contextlib.suppress(OSError):
                    path.unlink()
            except OSError:
                pass  # its buffer is full: that process reads statuses itself soon


class FinishedListener:
    """A web process's side: which runs finished since the last call.

    `fileno()` becomes readable when there is news; `receive()` returns the run ids (strings).
    `healthy` is false while the PostgreSQL connection is down (it is reopened by `reopen()`
    every RECONNECT_SECONDS at most); then the waiting room polls as it did without one.
    """

    RECONNECT_SECONDS = 2.0

    def __init__(self) -> None:
        self._listener = None
        self._socket: socket.socket | None = None
        self._path: Path | None = None
        self._retry_at = 0.0
        self._warned = False
        self.reopen()

    @property
    def healthy(self) -> bool:
        return self._listener is not None or self._socket is not None

    def reopen(self) -> None:
        if self.healthy or time.monotonic() < self._retry_at:
            return
        self._retry_at = time.monotonic() + self.RECONNECT_SECONDS
        if connection.vendor == "postgresql":
            try:
                listener = _listening_connection(FINISHED_CHANNEL)
            except psycopg.Error as error:
                if not self._warned:
                    logger.warning("Cannot listen for finished runs yet (%s); polling.", error)
                self._warned = True
                return
            self._listener = listener
        else:
            folder = _sockets_dir()
            try:
                folder.mkdir(mode=0o700, exist_ok=True)
                mode = folder.lstat()
                if (
                    mode.st_uid != os.getuid()
                    or not stat.S_ISDIR(mode.st_mode)
                    or mode.st_mode & 0o077
                ):
                    raise PermissionError(f"{folder} is not this user's folder")
                path = folder / f"{os.getpid()}-{os.urandom(4).hex()}"
                receiver = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
                receiver.bind(str(path))
            except OSError as error:
                if not self._warned:
                    logger.warning("Cannot listen for finished runs (%s); polling.", error)
                self._warned = True
                return
            receiver.setblocking(False)
            self._socket, self._path = receiver, path

    def fileno(self) -> int:
        return self._listener.fileno() if self._listener is not None else self._socket.fileno()

    def receive(self) -> list[str]:
        """The ids of the runs that finished since the last call (empty when none)."""
        ids = []
        if self._listener is not None:
            try:
                ids = [notify.payload for notify in self._listener.notifies(timeout=0)]
            except psycopg.Error as error:
                logger.warning("The listening connection broke (%s); reopening it.", error)
                self.close()
        elif self._socket is not None:
            while True:
                try:
                    ids.append(self._socket.recv(64).decode(errors="replace"))
                except BlockingIOError:
                    break
        return ids

    def close(self) -> None:
        if self._listener is not None:
            with contextlib.suppress(psycopg.Error):
                self._listener.close()
            self._listener = None
        if self._socket is not None:
            self._socket.close()
            with contextlib.suppress(OSError):
                self._path.unlink()
            self._socket = self._path = None
