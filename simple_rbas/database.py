"""What the whole project must know of its database: which errors mean "unreachable", how to
retry until it answers, and which text it cannot store."""

import logging
import re
import sqlite3
import time
from collections.abc import Callable
from typing import TypeVar

from django.db import InterfaceError, OperationalError, connection

logger = logging.getLogger(__name__)
T = TypeVar("T")

# The exception classes that may mean "unreachable for now"; `is_unavailable` decides.
UNAVAILABLE = (OperationalError, InterfaceError)
# SQLSTATE classes that pass: connection exceptions, transaction rollbacks (deadlock,
# serialization), insufficient resources (too many connections), operator intervention (a
# cancelled statement, a server shutting down or starting).
TRANSIENT_SQLSTATE_CLASSES = {"08", "40", "53", "57"}


def is_unavailable(error: BaseException) -> bool:
    """Whether `error` means the database cannot be reached for now: retry it, or answer 503.

    A failure with no answer from the server (refused, reset, a pool timeout) or of a transient
    SQLSTATE class is; so is a locked SQLite file. Other errors, OperationalErrors included
    (PostgreSQL's "program limit exceeded", SQLite's "no such table"), are bugs or bad data:
    retrying them would never end.
    """
    if isinstance(error, InterfaceError):
        return True
    if not isinstance(error, OperationalError):
        return False
    cause = error.__cause__
    if isinstance(cause, sqlite3.Error):
        return "locked" in str(cause) or "busy" in str(cause)
    sqlstate = getattr(cause, "sqlstate", None)
    return sqlstate is None or sqlstate[:2] in TRANSIENT_SQLSTATE_CLASSES


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
            if not is_unavailable(error):
                raise
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


# Text no database here stores: NUL, and unpaired surrogates (neither PostgreSQL nor SQLite's
# driver takes them; a surrogate pair in a Python str is one character already).
UNSTORABLE_TEXT = re.compile("[\x00\ud800-\udfff]")


def storable(value):
    """`value` (str, or JSON-like data) with the characters no database stores as text
    (NUL, lone surrogates) replaced by U+FFFD, for what a script produced and we must keep."""
    if isinstance(value, str):
        return UNSTORABLE_TEXT.sub("\ufffd", value)
    if isinstance(value, list):
        return [storable(item) for item in value]
    if isinstance(value, dict):
        return {storable(key): storable(item) for key, item in value.items()}
    return value
