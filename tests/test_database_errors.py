"""Which database errors mean "unreachable for now" (retried by workers, 503 for clients) and
which are bugs or bad data (never retried: a retry would never end)."""

import sqlite3

import psycopg
import pytest
from django.db import DataError, InterfaceError, OperationalError

from simple_rbas.database import is_unavailable, storable


def wrapped(django_error, cause):
    """A Django database error as Django raises it: the driver's error as its cause."""
    try:
        raise django_error(str(cause)) from cause
    except django_error as error:
        return error


@pytest.mark.parametrize(
    ("error", "unavailable"),
    [
        (wrapped(OperationalError, psycopg.OperationalError("connection refused")), True),
        (wrapped(OperationalError, psycopg.errors.AdminShutdown("terminating")), True),
        (wrapped(OperationalError, psycopg.errors.QueryCanceled("canceling statement")), True),
        (wrapped(OperationalError, psycopg.errors.TooManyConnections("too many")), True),
        (wrapped(OperationalError, psycopg.errors.DeadlockDetected("deadlock")), True),
        (wrapped(OperationalError, sqlite3.OperationalError("database is locked")), True),
        (wrapped(InterfaceError, psycopg.InterfaceError("connection already closed")), True),
        (wrapped(OperationalError, psycopg.errors.StatementTooComplex("stack depth")), False),
        (wrapped(OperationalError, sqlite3.OperationalError("no such table: x")), False),
        (wrapped(DataError, psycopg.errors.UntranslatableCharacter("NUL")), False),
        (ValueError("not a database error"), False),
    ],
)
def test_only_passing_failures_count_as_unavailable(error, unavailable):
    assert is_unavailable(error) is unavailable


def test_text_no_database_stores_is_replaced_at_any_depth():
    value = {"a\x00": ["x\ud800y", {"k": "\x00"}], "n": 1, "ok": "é😀"}
    assert storable(value) == {"a\ufffd": ["x\ufffdy", {"k": "\ufffd"}], "n": 1, "ok": "é😀"}
