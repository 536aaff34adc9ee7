"""Error pages: 503 with Retry-After, never 500, when the database cannot be reached; other
database errors stay 500. (The real outage, with gunicorn and PostgreSQL stopped and started,
is tests/faults/test_database_outage.py.)"""

import logging

import pytest
from django.db import InterfaceError, OperationalError, ProgrammingError
from django.urls import path
from rest_framework.views import APIView

from simple_rbas.errors import RETRY_AFTER_SECONDS, UNAVAILABLE_CODE, UNAVAILABLE_DETAIL
from users import roles
from users.roles import Level

UNAVAILABLE = {"detail": UNAVAILABLE_DETAIL, "code": UNAVAILABLE_CODE}


class FailingView(APIView):
    """Raises `error` as a query would."""

    required_policy = roles.PUBLIC
    authentication_classes = []
    error = OperationalError

    def get(self, request):
        raise self.error("could not connect to server")


def failing_page(request):
    raise InterfaceError("connection already closed")


class FailingMiddleware:
    """Fails before any view runs, as a middleware reading the session would."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        raise OperationalError("server closed the connection unexpectedly")


urlpatterns = [
    path("api/unreachable/", FailingView.as_view()),
    path("api/bug/", FailingView.as_view(error=ProgrammingError)),
    path("page/", failing_page),
]
handler500 = "simple_rbas.errors.server_error"

pytestmark = pytest.mark.urls(__name__)


def assert_unavailable_json(response):
    assert response.status_code == 503
    assert response["Retry-After"] == str(RETRY_AFTER_SECONDS)
    assert response.json() == UNAVAILABLE


def test_an_api_view_that_cannot_reach_the_database_answers_503_json(client):
    assert_unavailable_json(client.get("/api/unreachable/"))


def test_a_plain_django_view_answers_a_503_page(client):
    response = client.get("/page/")
    assert response.status_code == 503
    assert response["Retry-After"] == str(RETRY_AFTER_SECONDS)
    assert response["Content-Type"].startswith("text/html")
    assert b"Briefly unavailable" in response.content


def test_a_failure_in_middleware_answers_503_too(client, settings):
    settings.MIDDLEWARE = [*settings.MIDDLEWARE, f"{__name__}.FailingMiddleware"]
    client.raise_request_exception = False
    assert_unavailable_json(client.get("/api/unreachable/"))
    assert client.get("/page/").status_code == 503


@pytest.mark.urls("simple_rbas.urls")
def test_an_authentication_that_cannot_reach_the_database_answers_503(
    users, bearer_client, monkeypatch
):
    client = bearer_client(users[Level.WRITE])

    def unreachable(claims):
        raise OperationalError("could not connect to server")

    monkeypatch.setattr("users.authentication.user_for_claims", unreachable)
    assert_unavailable_json(client.get("/api/auth/me/"))


def test_other_database_errors_are_still_bugs(client):
    client.raise_request_exception = False
    response = client.get("/api/bug/")
    assert response.status_code == 500
    assert "Retry-After" not in response


def test_debug_pages_do_not_replace_the_503(client, settings):
    settings.DEBUG = True
    assert_unavailable_json(client.get("/api/unreachable/"))


def test_each_refused_request_is_one_warning_without_a_traceback(client, caplog):
    caplog.set_level(logging.DEBUG)
    client.get("/api/unreachable/")
    client.get("/page/")
    records = [r for r in caplog.records if r.levelno >= logging.WARNING]
    assert [(r.name, r.levelname) for r in records] == [("simple_rbas.errors", "WARNING")] * 2
    assert all(r.exc_info is None for r in records)
    assert "GET /api/unreachable/" in records[0].getMessage()
