"""Front ends on other origins (docs/front-ends.md): the CSRF token in answers, cookies on a
parent domain, Bearer clients refreshing by body, CORS and CSRF from the attacker's side."""

import pytest
from rest_framework.test import APIClient

from tests.conftest import PASSWORD
from tests.users import test_sso
from users.models import LoginSession
from users.oidc_views import safe_next
from users.roles import Level

LOGIN = "/api/auth/login/"
REFRESH = "/api/auth/refresh/"
LOGOUT = "/api/auth/logout/"
ME = "/api/auth/me/"
CSRF = "/api/auth/csrf/"
# The OpenID Connect provider of the single sign-on tests, and how they sign in with it.
provider, idp, sign_in = test_sso.provider, test_sso.idp, test_sso.sign_in
FRONT = "https://app.example.com"
EVIL = "https://evil.example.com"


@pytest.fixture
def reader(users):
    return users[Level.READ_ONLY]


@pytest.fixture
def front_end(settings):
    """FRONTEND_ORIGINS names FRONT, with what the settings module derives from it."""
    settings.FRONTEND_ORIGINS = [FRONT]
    settings.CORS_ALLOWED_ORIGINS = [FRONT]
    settings.CSRF_TRUSTED_ORIGINS = [FRONT]


def login(client, user, secure: bool = False, **fields):
    body = {"username": user.username, "password": PASSWORD, **fields}
    return client.post(LOGIN, body, format="json", secure=secure, **client_origin(client))


def client_origin(client) -> dict:
    return {"HTTP_ORIGIN": client.origin} if getattr(client, "origin", None) else {}


def browser_on(origin: str) -> APIClient:
    """A client whose requests carry `Origin: origin`, as a front end's fetch does."""
    client = APIClient(enforce_csrf_checks=True)
    client.origin = origin
    return client


# --- The CSRF token in answers -------------------------------------------------------------


def test_the_csrf_endpoint_answers_the_token_and_sets_its_cookie(api_client, db):
    response = api_client.get(CSRF)
    assert response.status_code == 200
    assert response["Cache-Control"] == "no-store"
    assert response.json()["csrf_token"]
    assert response.cookies["csrftoken"].value


def test_the_token_of_the_csrf_endpoint_lets_a_cookie_client_write(front_end, reader):
    client = browser_on(FRONT)
    login(client, reader)
    token = client.get(CSRF).json()["csrf_token"]
    response = client.post(LOGOUT, HTTP_ORIGIN=FRONT, HTTP_X_CSRFTOKEN=token)
    assert response.status_code == 204


def test_the_login_body_carries_a_csrf_token_that_works(front_end, reader):
    client = browser_on(FRONT)
    body = login(client, reader).json()
    assert client.post(LOGOUT, HTTP_ORIGIN=FRONT).status_code == 403  # no header
    response = client.post(LOGOUT, HTTP_ORIGIN=FRONT, HTTP_X_CSRFTOKEN=body["csrf_token"])
    assert response.status_code == 204
    assert client.get(ME).status_code == 401


def test_the_csrf_token_changes_at_sign_in(api_client, reader):
    before = api_client.get(CSRF).json()["csrf_token"]
    after = login(api_client, reader).json()["csrf_token"]
    token = api_client.cookies["csrftoken"].value
    assert before != after
    # Masked differently each time; the secret in the cookie is what changed.
    assert api_client.post(LOGOUT, HTTP_X_CSRFTOKEN=before).status_code == 403
    assert api_client.post(LOGOUT, HTTP_X_CSRFTOKEN=token).status_code == 204


def test_the_refresh_body_carries_the_csrf_token(api_client, reader):
    csrf = login(api_client, reader).json()["csrf_token"]
    body = api_client.post(REFRESH, format="json", HTTP_X_CSRFTOKEN=csrf).json()
    assert body["csrf_token"]
    assert "refresh_token" not in body


def test_a_write_from_an_untrusted_origin_is_refused_even_with_the_token(front_end, reader):
    client = browser_on(FRONT)
    csrf = login(client, reader).json()["csrf_token"]
    response = client.post(LOGOUT, HTTP_ORIGIN=EVIL, HTTP_X_CSRFTOKEN=csrf)
    assert response.status_code == 403
    assert response.json()["detail"].startswith("CSRF Failed: Origin checking failed")
    assert client.get(ME).status_code == 200  # still signed in


def test_without_frontend_origins_a_front_ends_write_is_refused(reader):
    client = browser_on(FRONT)
    csrf = login(client, reader).json()["csrf_token"]
    response = client.post(LOGOUT, HTTP_ORIGIN=FRONT, HTTP_X_CSRFTOKEN=csrf)
    assert response.status_code == 403
    assert "Origin checking failed" in response.json()["detail"]


# --- Cookies on a parent domain ------------------------------------------------------------


def test_cookies_carry_the_cookie_domain(api_client, reader, settings):
    settings.COOKIE_DOMAIN = settings.CSRF_COOKIE_DOMAIN = "example.com"
    cookies = login(api_client, reader).cookies
    assert cookies["rbas_access"]["domain"] == "example.com"
    assert cookies["rbas_refresh"]["domain"] == "example.com"
    assert cookies["csrftoken"]["domain"] == "example.com"
    cleared = api_client.post(LOGOUT, HTTP_X_CSRFTOKEN=cookies["csrftoken"].value).cookies
    assert cleared["rbas_access"]["domain"] == "example.com"
    assert cleared["rbas_access"]["max-age"] == 0


def test_a_secure_access_cookie_with_a_domain_is_named_secure_not_host(
    api_client, reader, settings
):
    settings.COOKIE_SECURE = settings.CSRF_COOKIE_SECURE = True
    settings.COOKIE_DOMAIN = "example.com"
    cookies = login(api_client, reader, secure=True).cookies
    assert "__Host-rbas_access" not in cookies  # a __Host- cookie may carry no Domain
    access = cookies["__Secure-rbas_access"]
    assert access["domain"] == "example.com" and access["secure"] and access["httponly"]
    assert api_client.get(ME, secure=True).status_code == 200


def test_the_host_only_cookie_of_before_the_change_still_signs_in_and_is_cleared(
    api_client, reader, settings
):
    settings.COOKIE_SECURE = settings.CSRF_COOKIE_SECURE = True
    body = login(api_client, reader, secure=True).json()
    host_only = api_client.cookies["__Host-rbas_access"].value
    settings.COOKIE_DOMAIN = "example.com"
    api_client.cookies.pop("__Host-rbas_access")
    api_client.cookies["__Host-rbas_access"] = host_only
    assert api_client.get(ME, secure=True).status_code == 200
    response = api_client.post(
        LOGOUT, secure=True, HTTP_X_CSRFTOKEN=body["csrf_token"], HTTP_REFERER="https://testserver/"
    )
    assert response.status_code == 204
    assert response.cookies["__Host-rbas_access"]["max-age"] == 0
    assert not response.cookies["__Host-rbas_access"]["domain"]
    assert response.cookies["__Secure-rbas_access"]["domain"] == "example.com"


# --- Bearer clients: the refresh token in the body -----------------------------------------


def test_body_delivery_sets_no_cookie_and_answers_the_refresh_token(api_client, reader):
    response = login(api_client, reader, token_delivery="body")
    assert response.status_code == 200
    assert dict(response.cookies) == {}
    body = response.json()
    assert body["refresh_token"] and body["access_token"]
    assert body["refresh_expires_in"] == 7 * 24 * 3600
    assert "csrf_token" not in body
    assert response["Cache-Control"] == "no-store"


def test_cookie_delivery_never_shows_the_refresh_token(api_client, reader):
    body = login(api_client, reader).json()
    assert "refresh_token" not in body
    assert body["access_token"]


def test_a_body_refresh_rotates_and_a_replay_revokes_the_session(api_client, reader):
    first = login(api_client, reader, token_delivery="body").json()
    second = api_client.post(
        REFRESH, {"refresh": first["refresh_token"], "token_delivery": "body"}, format="json"
    )
    assert second.status_code == 200
    assert dict(second.cookies) == {}
    rotated = second.json()
    assert rotated["refresh_token"] != first["refresh_token"]
    bearer = APIClient()
    bearer.credentials(HTTP_AUTHORIZATION=f"Bearer {rotated['access_token']}")
    assert bearer.get(ME).status_code == 200

    replay = api_client.post(
        REFRESH, {"refresh": first["refresh_token"], "token_delivery": "body"}, format="json"
    )
    assert replay.status_code == 401
    assert "already used" in replay.json()["detail"]
    assert LoginSession.objects.get(user=reader).revoked_reason == "refresh_reuse"
    assert bearer.get(ME).status_code == 401
    again = api_client.post(
        REFRESH, {"refresh": rotated["refresh_token"], "token_delivery": "body"}, format="json"
    )
    assert again.status_code == 401


def test_body_delivery_refuses_to_refresh_from_the_cookie(api_client, reader):
    csrf = login(api_client, reader).json()["csrf_token"]
    response = api_client.post(
        REFRESH, {"token_delivery": "body"}, format="json", HTTP_X_CSRFTOKEN=csrf
    )
    assert response.status_code == 400
    assert "refresh" in response.json()


def test_an_unknown_token_delivery_is_a_400(api_client, reader):
    response = login(api_client, reader, token_delivery="url")
    assert response.status_code == 400
    assert "token_delivery" in response.json()


@pytest.mark.parametrize("path", [LOGOUT, "/api/auth/logout-all/"])
def test_a_bearer_client_signs_out_and_its_refresh_token_dies(api_client, reader, path):
    tokens = login(api_client, reader, token_delivery="body").json()
    bearer = APIClient(enforce_csrf_checks=True)
    bearer.credentials(HTTP_AUTHORIZATION=f"Bearer {tokens['access_token']}")
    assert bearer.post(path).status_code == 204
    assert bearer.get(ME).status_code == 401
    refreshed = api_client.post(
        REFRESH, {"refresh": tokens["refresh_token"], "token_delivery": "body"}, format="json"
    )
    assert refreshed.status_code == 401
    assert refreshed.json()["detail"] == "Session has ended."


# --- CORS ----------------------------------------------------------------------------------


def preflight(client, origin: str):
    return client.options(
        LOGIN,
        HTTP_ORIGIN=origin,
        HTTP_ACCESS_CONTROL_REQUEST_METHOD="POST",
        HTTP_ACCESS_CONTROL_REQUEST_HEADERS="content-type,x-csrftoken,authorization",
    )


def test_a_listed_front_end_gets_a_credentialed_preflight_answer(api_client, front_end, db):
    response = preflight(api_client, FRONT)
    assert response.status_code == 200
    assert response["Access-Control-Allow-Origin"] == FRONT
    assert response["Access-Control-Allow-Credentials"] == "true"
    allowed = response["Access-Control-Allow-Headers"].lower()
    assert {"content-type", "x-csrftoken", "authorization"} <= set(allowed.split(", "))


@pytest.mark.parametrize("origin", [EVIL, "https://app.example.com.evil.example.com", "null"])
def test_other_origins_get_no_cors_answer(api_client, front_end, db, origin):
    assert "Access-Control-Allow-Origin" not in preflight(api_client, origin)
    response = api_client.get(CSRF, HTTP_ORIGIN=origin)
    assert "Access-Control-Allow-Origin" not in response


# --- Single sign-on's `next` ---------------------------------------------------------------


@pytest.mark.parametrize(
    ("asked", "kept"),
    [
        ("/runs?status=failed", "/runs?status=failed"),
        (f"{FRONT}/signed-in?tab=2#top", f"{FRONT}/signed-in?tab=2#top"),
        (FRONT, FRONT),
        (f"{EVIL}/phish", "/"),
        ("//evil.example.com/phish", "/"),
        ("//app.example.com/", "/"),
        ("https://app.example.com@evil.example.com/", "/"),
        ("https://app.example.com:443@evil.example.com/", "/"),
        ("https://evil.example.com\\@app.example.com/", "/"),
        ("https:\\\\app.example.com/", "/"),
        ("http://app.example.com/", "/"),  # scheme change
        ("https://app.example.com:8443/", "/"),
        ("https://app.example.com.evil.example.com/", "/"),
        ("https://APP.example.com/", "/"),
        ("https://app.example.com\t.evil.example.com/", "/"),
        ("javascript://app.example.com/%0Aalert(1)", "/"),
        ("https://app.example.com:99999/", "/"),
        ("", "/"),
        (None, "/"),
    ],
)
def test_next_may_name_a_listed_front_end_and_nothing_else(front_end, asked, kept):
    assert safe_next(asked) == kept


def test_next_may_not_leave_the_site_without_frontend_origins(settings):
    settings.FRONTEND_ORIGINS = []
    assert safe_next(f"{FRONT}/signed-in") == "/"


@pytest.mark.parametrize(
    ("asked", "landed"),
    [(f"{FRONT}/signed-in", f"{FRONT}/signed-in"), ("https://app.example.com@evil.example/", "/")],
)
def test_single_sign_on_returns_to_a_listed_front_end_only(idp, front_end, settings, asked, landed):
    settings.COOKIE_DOMAIN = "example.com"
    idp.add("alice-sub", "alice@example.com")
    _, response = sign_in(idp, "alice-sub", next_path=asked)
    assert response.status_code == 302
    assert response["Location"] == landed
    assert response.cookies["rbas_access"]["domain"] == "example.com"
