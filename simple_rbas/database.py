"""What the whole project must know of its database: which errors mean "unreachable", how to
retry until it answers, and which text it cannot store."""

import logging
import re
import time
from collections.abc import Callable
from typing import TypeVar

from django.db import InterfaceError, OperationalError, connection

logger = logging.getLogger(__name__)
T = TypeVar("T")

# Connection-level failures: the server is down, restarting, unreachable, or cancelled the
# statement (PostgreSQL's QueryCanceled is an OperationalError too), or SQLite is locked. Any
# other DatabaseError (bad data, a constraint) is a bug or bad input, never retried.
UNAVAILABLE = (OperationalError, InterfaceError)


class Backoff:
    """Exponential delays between attempts: `first`, doubled each time, at most `longest`."""

    def __init__(self, first: float = 0.1, longest: float = 5.0) -> None:
        self.first, self.longest = first, longest
        self.delay = first

    def next(self) -> float:
        """The delay to wait now; the following one doubles."""
        delay, self.delay = self.delay, min(self.delay * 2, self.longest)
        return delay

    def reset(self) -> None:
        """Start again from the first delay (the database answered)."""
        self.delay = self.first


def discard_connection() -> None:
    """Drop this thread's connection so that the next query opens a new one."""
    try:
        connection.close()
    except UNAVAILABLE:
        connection.connection = None  # closing a dead connection can fail; forget it anyway


def call_until_available(fn: Callable[[], T], *, what: str, longest_delay: float = 5.0) -> T:
    """Call `fn` until it runs without a connection-level database error, however long the
    outage; `fn` must be safe to repeat (a transaction rolled back by the failure is).

    Other errors propagate at once. `what` names the work in the log lines said when the
    outage starts and when it ends.
    """
    backoff = Backoff(longest=longest_delay)
    failed_at = None
    while True:
        try:
            value = fn()
        except UNAVAILABLE as error:
            if failed_at is None:
                failed_at = time.monotonic()
                logger.warning("Database unreachable while %s (%s); retrying.", what, error)
            discard_connection()
            time.sleep(backoff.next())
            continue
        if failed_at is not None:
            logger.warning(
                "Database reachable again after %.1f s; %s done.",
                time.monotonic() - failed_at,
                what,
            )
        return value


_UNSTORABLE = re.compile("[\x00\ud800-\udfff]")


def storable(value):
    """`value` (str, or JSON-like data) with the characters no database stores as text
    (NUL, lone surrogates) replaced by U+FFFD, for what a script produced and we must keep."""
    if isinstance(value, str):
        return _UNSTORABLE.sub("\ufffd", value)
    if isinstance(value, list):
        return [storable(item) for item in value]
    if isinstance(value, dict):
        return {storable(key): storable(item) for key, item in value.items()}
    return value
