"""One JSON log line per request, with a request id that the response echoes."""

import json
import logging

import pytest

from simple_rbas.logging import JsonFormatter
from users.roles import Level


@pytest.fixture
def request_lines(caplog):
    caplog.set_level(logging.INFO, logger="simple_rbas.request")

    def lines() -> list[dict]:
        formatter = JsonFormatter()
        records = [r for r in caplog.records if r.name == "simple_rbas.request"]
        return [json.loads(formatter.format(record)) for record in records]

    return lines


def test_each_request_is_one_json_line_with_its_id_user_and_timing(
    users, bearer_client, request_lines
):
    client = bearer_client(users[Level.WRITE])
    response = client.get("/api/auth/me/?token=never-logged", HTTP_X_REQUEST_ID="trace-42")
    assert response["X-Request-ID"] == "trace-42"
    [line] = request_lines()
    assert line["request_id"] == "trace-42"
    assert line["method"] == "GET"
    assert line["path"] == "/api/auth/me/"
    assert line["status"] == 200
    assert line["user_id"] == users[Level.WRITE].pk
    assert line["duration_ms"] >= 0
    assert "never-logged" not in json.dumps(line)


def test_a_request_without_an_id_gets_a_new_one(client, db, request_lines):
    first = client.get("/healthz")["X-Request-ID"]
    second = client.get("/healthz")["X-Request-ID"]
    assert len(first) == 32 and first != second
    assert [line["request_id"] for line in request_lines()] == [first, second]
    assert request_lines()[0]["user_id"] is None


@pytest.mark.parametrize("given", ["two\nlines", "x" * 200, '{"forged": 1}', ""])
def test_an_unsafe_request_id_is_replaced(client, db, given):
    echoed = client.get("/healthz", HTTP_X_REQUEST_ID=given)["X-Request-ID"]
    assert echoed != given and len(echoed) == 32


def test_failures_are_logged_with_their_exception():
    try:
        raise ValueError("boom")
    except ValueError:
        record = logging.getLogger("x").makeRecord(
            "x", logging.ERROR, __file__, 1, "failed", None, __import__("sys").exc_info()
        )
    line = json.loads(JsonFormatter().format(record))
    assert line["level"] == "ERROR" and line["message"] == "failed"
    assert "ValueError: boom" in line["exception"]
