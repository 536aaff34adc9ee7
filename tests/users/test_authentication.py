"""Cookie and header authentication: CSRF, origins, cost per request, freshness of rights."""

import pytest

from tests.conftest import PASSWORD
from users.models import User
from users.roles import Level

ME = "/api/auth/me/"
STAFF_ROUTE = "/only-staff/"


@pytest.fixture
def owner(users) -> User:
    return users[Level.OWNER]


def test_cookie_request_with_unsafe_method_and_no_csrf_header_is_403(owner, cookie_client):
    client = cookie_client(owner)
    response = client.post(STAFF_ROUTE)
    assert response.status_code == 403
    assert "CSRF" in response.json()["detail"]


def test_cookie_request_with_a_wrong_csrf_header_is_403(owner, cookie_client):
    client = cookie_client(owner)
    response = client.post(STAFF_ROUTE, HTTP_X_CSRFTOKEN="x" * 64)
    assert response.status_code == 403


def test_cookie_request_with_the_csrf_header_is_allowed(owner, cookie_client):
    client = cookie_client(owner)
    assert client.post(STAFF_ROUTE, HTTP_X_CSRFTOKEN=client.csrf).status_code == 200


def test_cookie_get_needs_no_csrf_header(owner, cookie_client):
    assert cookie_client(owner).get(ME).status_code == 200


def test_bearer_request_needs_no_csrf_token(owner, bearer_client):
    assert bearer_client(owner).post(STAFF_ROUTE).status_code == 200


def test_cookie_write_from_a_foreign_origin_is_refused(owner, cookie_client):
    client = cookie_client(owner)
    response = client.post(
        STAFF_ROUTE, HTTP_X_CSRFTOKEN=client.csrf, HTTP_ORIGIN="https://evil.example"
    )
    assert response.status_code == 403
    assert "Origin" in response.json()["detail"]


def test_cookie_write_from_a_trusted_origin_is_allowed(owner, cookie_client, settings):
    settings.CSRF_TRUSTED_ORIGINS = ["https://app.example"]
    client = cookie_client(owner)
    response = client.post(
        STAFF_ROUTE, HTTP_X_CSRFTOKEN=client.csrf, HTTP_ORIGIN="https://app.example"
    )
    assert response.status_code == 200


def test_cookie_write_from_the_same_origin_is_allowed(owner, cookie_client):
    client = cookie_client(owner)
    response = client.post(
        STAFF_ROUTE, HTTP_X_CSRFTOKEN=client.csrf, HTTP_ORIGIN="http://testserver"
    )
    assert response.status_code == 200


def test_authenticating_a_request_costs_one_query(
    owner, bearer_client, cookie_client, django_assert_max_num_queries
):
    header_client = bearer_client(owner)
    browser = cookie_client(owner)
    # /only-staff/ renders the already loaded user: any query here is authentication's.
    with django_assert_max_num_queries(1):
        assert header_client.get(STAFF_ROUTE).status_code == 200
    with django_assert_max_num_queries(1):
        assert browser.get(STAFF_ROUTE).status_code == 200


def test_role_change_applies_on_the_next_request_with_the_same_token(users, bearer_client):
    reader = users[Level.READ_ONLY]
    client = bearer_client(reader)
    assert client.get(STAFF_ROUTE).status_code == 403
    User.objects.filter(pk=reader.pk).update(level=Level.WRITE)
    assert client.get(STAFF_ROUTE).status_code == 200
    User.objects.filter(pk=reader.pk).update(level=Level.INVESTOR)
    assert client.get(STAFF_ROUTE).status_code == 403
    assert client.get("/only-investor-owner/").status_code == 200


def test_deactivation_in_the_database_applies_on_the_next_request(owner, bearer_client):
    client = bearer_client(owner)
    User.objects.filter(pk=owner.pk).update(is_active=False)
    assert client.get(ME).status_code == 401


def test_a_stale_access_cookie_does_not_block_login(owner, api_client):
    api_client.cookies["rbas_access"] = "expired-or-revoked"
    response = api_client.post(
        "/api/auth/login/", {"username": owner.username, "password": PASSWORD}, format="json"
    )
    assert response.status_code == 200


def test_the_written_session_lookup_reads_what_the_orm_reads(owner, bearer_client):
    # users/authentication.py writes the LoginSession ⋈ User query once: every field of both
    # rows, converted (UUIDs, datetimes, booleans), must equal what the ORM loads.
    from users.authentication import find_session
    from users.models import LoginSession

    bearer_client(owner)
    expected = LoginSession.objects.select_related("user").get(user=owner)
    found = find_session(expected.pk, owner.pk)
    for field in LoginSession._meta.concrete_fields:
        assert getattr(found, field.attname) == getattr(expected, field.attname), field.name
    for field in User._meta.concrete_fields:
        assert getattr(found.user, field.attname) == getattr(expected.user, field.attname)
    assert found._state.fields_cache["user"] is found.user  # no second query for the user
    assert find_session(expected.pk, owner.pk + 1) is None


def test_message_storage_is_prepared_everywhere_but_the_api(rf):
    # The admin's pages store and show messages; no API view does, so /api/ skips the storage.
    from django.http import HttpResponse

    from simple_rbas.middleware import PageMessageMiddleware

    middleware = PageMessageMiddleware(lambda request: HttpResponse())
    for path, prepared in (("/admin/", True), ("/", True), ("/api/auth/me/", False)):
        request = rf.get(path)
        request.session = {}
        middleware(request)
        assert hasattr(request, "_messages") is prepared, path
