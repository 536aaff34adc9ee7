"""Long-polls (`?wait=N`) that hold a request thread but no database connection, and never the
threads other requests need.

Each web process has one `WaitRoom` with WEB_WAIT_SLOTS places; gunicorn runs that many threads
on top of WEB_THREADS (gunicorn.conf.py), so waiting requests can never take the threads that
sign-ins, pages and probes need. A waiting request gives its database connection back (to the
pool, on PostgreSQL) and sleeps on an event; one watcher thread per process reads the status of
every waited-for run in a single query and wakes the requests whose run changed.

A finishing run wakes its waiters at once: the worker signals it (`scripts_api.wakeup`:
NOTIFY on PostgreSQL, a datagram to each web process on SQLite) and a listener thread per
process sets their events, with no query. The watcher then reads the statuses only every
FALLBACK_SECONDS (so a lost signal costs that much latency, never an answer), or as often as
before while someone waits on live output (which is not signalled) or while the listener is
down. When the room is full, a further `?wait` is answered at once with the run's current
state, as if N were 0. When the process is asked to stop (SIGTERM), every waiting request is
answered at once with the run's current state, so that shutdown answers every accepted request.
"""

import logging
import select
import threading
import time
import uuid
from dataclasses import dataclass, field

from django.conf import settings
from django.db import connection

from scripts_api.models import Run
from scripts_api.wakeup import FinishedListener
from simple_rbas.database import UNAVAILABLE, Backoff, discard_connection, is_unavailable

logger = logging.getLogger(__name__)


@dataclass(eq=False)
class Waiter:
    """One waiting request: the status it last saw, and the event that wakes it."""

    status: str
    # For a wait on live output (`wait(..., output=True)`): the output version it last saw.
    output_version: int | None = None
    since: float = field(default_factory=time.monotonic)
    event: threading.Event = field(default_factory=threading.Event)


class WaitRoom:
    """The waiting requests of one process, the watcher thread that reads their runs' statuses,
    and the listener thread that wakes them when their run finishes."""

    # How often the statuses are read while the listener is up and nobody waits on live output.
    FALLBACK_SECONDS = 0.5
    # How long a finished run's id is remembered, for a waiter that enters just after the signal.
    RECENT_SECONDS = 5.0
    # How long the listener keeps its connection once nobody waits.
    LINGER_SECONDS = 2.0

    def __init__(self, slots: int) -> None:
        self.slots = slots
        self._count = 0
        self._waiters: dict[uuid.UUID, list[Waiter]] = {}
        self._lock = threading.Lock()
        self._watcher: threading.Thread | None = None
        self._listener: threading.Thread | None = None
        self.listening = False  # the listener thread receives the signals of finished runs
        self._release = False
        self.idle = True  # the watcher holds no connection
        self._finished: dict[str, float] = {}  # run id -> when its signal came
        self._work = threading.Event()
        self.read_at = 0.0  # when the watcher last read the statuses
        # Set from a signal handler: a plain attribute, read by the watcher within a tick.
        self.closing = False

    def wait(self, run: Run, seconds: float, output: bool = False) -> str:
        """Sleep until `run` changes status (or, with `output`, stores new live output),
        `seconds` pass, or the process stops. Returns
        "refused" at once when the room is full or closing; "unchanged" when the time passed and
        the watcher, which read the run within the last half second, saw its status unchanged
        (the caller's copy is current: hundreds of waits ending together cost no queries);
        otherwise "changed", and the caller reads the run again."""
        waiter = Waiter(run.status, run.output_version if output else None)
        if not self._enter(run, waiter):
            return "refused"
        try:
            if connection.vendor != "sqlite" and not connection.in_atomic_block:
                connection.close()  # back to the pool while asleep
            deadline = waiter.since + seconds
            while not self.closing and (remaining := deadline - time.monotonic()) > 0:
                if waiter.event.wait(remaining):
                    return "changed"
        finally:
            self._leave(run, waiter)
        # With the listener up, an end would have been signalled: the last fallback read is
        # as good as a read now for the rest (queued or running).
        freshness = 0.5 + (self.FALLBACK_SECONDS if self.listening else 0)
        fresh = time.monotonic() - self.read_at < freshness
        return "unchanged" if fresh and not self.closing else "changed"

    def close(self) -> None:
        """Answer every waiting request now and every later one at once (the process stops).
        Safe to call from a signal handler."""
        self.closing = True
        self._work.set()

    def _enter(self, run: Run, waiter: Waiter) -> bool:
        with self._lock:
            if self.closing or self._count >= self.slots:
                return False
            self._count += 1
            self._waiters.setdefault(run.pk, []).append(waiter)
            if str(run.pk) in self._finished:
                waiter.event.set()  # it finished between the caller's read and now
            if self._watcher is None or not self._watcher.is_alive():
                self._watcher = threading.Thread(target=self._watch, name="wait-room", daemon=True)
                self._watcher.start()
            if self._listener is None or not self._listener.is_alive():
                self._listener = threading.Thread(
                    target=self._listen, name="wait-room-listener", daemon=True
                )
                self._listener.start()
        if not self.listening:
            self._work.set()  # read its status now (with the listener up, a signal will come)
        return True

    def _leave(self, run: Run, waiter: Waiter) -> None:
        with self._lock:
            self._count -= 1
            waiters = self._waiters[run.pk]
            waiters.remove(waiter)
            if not waiters:
                del self._waiters[run.pk]

    def _watch(self) -> None:
        """Read the statuses of the waited-for runs, often while a wait is young (a short run
        may end any moment), less often later; wake the waiters whose run changed."""
        backoff = Backoff(first=0.1, longest=2.0)
        while True:
            self._work.clear()  # a waiter entering after the snapshot sets it again
            with self._lock:
                waiting = {run_id: list(waiters) for run_id, waiters in self._waiters.items()}
            if self.closing:
                for waiters in waiting.values():
                    for waiter in waiters:
                        waiter.event.set()
            if not waiting:
                discard_connection()
                self.idle = True
                self._work.wait(1.0)
                continue
            self.idle = False
            try:
                rows = Run.objects.filter(pk__in=list(waiting))
                states = {
                    pk: rest for pk, *rest in rows.values_list("pk", "status", "output_version")
                }
            except UNAVAILABLE as error:
                if is_unavailable(error):
                    logger.warning("Long-polls cannot read run statuses (%s); retrying.", error)
                else:
                    logger.exception("Long-polls cannot read run statuses; retrying.")
                discard_connection()
                time.sleep(backoff.next())
                continue
            backoff.reset()
            self.read_at = time.monotonic()
            for run_id, waiters in waiting.items():
                for waiter in waiters:
                    # A run gone from the database wakes its waiters too (they answer 404).
                    status, version = states.get(run_id, (None, None))
                    if status != waiter.status or waiter.output_version not in (None, version):
                        waiter.event.set()
            live = [w for ws in waiting.values() for w in ws if w.output_version is not None]
            if self.listening and not live:
                if connection.vendor != "sqlite":
                    discard_connection()  # back to the pool until the next read
                self._work.wait(self.FALLBACK_SECONDS)
                continue
            young = live or [waiter for waiters in waiting.values() for waiter in waiters]
            age = time.monotonic() - max(waiter.since for waiter in young)
            self._work.wait(0.002 if age < 0.1 else 0.01 if age < 1 else 0.05)

    def _listen(self) -> None:
        """Wake the waiters of each run whose end is signalled (no query). The connection (or
        socket) is reopened when it breaks, and closed, ending the thread, once nobody has
        waited for LINGER_SECONDS (the next wait starts another)."""
        listener, pruned_at, idle_since = None, 0.0, None
        while True:
            now = time.monotonic()
            with self._lock:
                if self._waiters:
                    idle_since = None
                else:
                    idle_since = idle_since or now
                    if self._release or now - idle_since > self.LINGER_SECONDS:
                        self._listener = None
                        self.listening = False
                        if listener is not None:
                            listener.close()
                        return
            try:
                if listener is None:
                    listener = FinishedListener()
                listener.reopen()
                self.listening = listener.healthy
                if not self.listening:
                    time.sleep(0.25)
                    continue
                ready, _, _ = select.select([listener], [], [], 0.25)
                ids = listener.receive() if ready else []
                self.listening = listener.healthy  # false once its connection broke
            except Exception:  # a thread that died would leave the waiters to the poll
                logger.exception("The long-polls' listener failed; restarting it.")
                self.listening = False
                if listener is not None:
                    listener.close()
                listener = None
                time.sleep(FinishedListener.RECONNECT_SECONDS)
                continue
            now = time.monotonic()
            with self._lock:
                for run_id in ids:
                    self._finished[run_id] = now
                    for waiter in self._waiters.get(_uuid(run_id), ()):
                        waiter.event.set()
                if now - pruned_at > 1.0:
                    pruned_at, old = now, now - self.RECENT_SECONDS
                    self._finished = {k: t for k, t in self._finished.items() if t > old}

    def release(self, timeout: float = 5.0) -> None:
        """Close the listener's and the watcher's connections now if nobody waits (tests drop
        their database at the end)."""
        self._work.set()
        thread = self._listener
        if thread is not None:
            self._release = True
            try:
                thread.join(timeout)
            finally:
                self._release = False
        deadline = time.monotonic() + timeout
        while self._watcher is not None and not self.idle and time.monotonic() < deadline:
            self._work.set()
            time.sleep(0.01)


def _uuid(text: str) -> uuid.UUID | None:
    try:
        return uuid.UUID(text)
    except ValueError:
        return None


wait_room = WaitRoom(settings.WEB_WAIT_SLOTS)
