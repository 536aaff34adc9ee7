"""Bad input to the provider's endpoints: a clear 4xx (or an error sent back to a registered
redirect URI), never a 500."""

import base64
import re

import pytest
from django.test import Client

from tests.provider.flows import REDIRECT_URI, authorize_query, pkce_pair, web_app
from users.roles import Level

pytestmark = pytest.mark.django_db


@pytest.fixture
def app(users):
    return web_app(users[Level.OWNER])


@pytest.mark.parametrize(
    "extra",
    [
        {"claims": "not json"},
        {"claims": '{"id_token": 5}'},
        {"max_age": "soon"},
        {"code_challenge_method": "S512"},
        {"response_type": "token"},
        {"response_type": "code id_token"},
        {"scope": "openid unknown"},
        {"scope": ""},
        {"resource": "not a uri"},
        {"prompt": "none login"},
        {"prompt": "create"},
        {"id_token_hint": "garbage"},
        {"state": "x" * 5000},
        {"nonce": "\x00"},
        {"client_id": "no-such-client"},
        {"client_id": ""},
        {"client_id": "\x00"},
        {"redirect_uri": REDIRECT_URI + "\x00"},
        {"redirect_uri": "javascript:alert(1)"},
        {"ui_locales": "\x00"},
    ],
)
def test_bad_authorization_requests_never_fail_with_500(app, users, cookie_client, extra):
    application, _secret = app
    query = authorize_query(application, pkce_pair()[1], **extra)
    signed_in = cookie_client(users[Level.WRITE]).get(f"/o/authorize/?{query}")
    anonymous = Client().get(f"/o/authorize/?{query}")
    for response in (signed_in, anonymous):
        assert response.status_code < 500
        location = response.get("Location", "")
        assert location.startswith((REDIRECT_URI, "/login")) or not location


@pytest.mark.parametrize(
    "field, value",
    [
        ("client_id", "no-such-client"),
        ("redirect_uri", "https://evil.example.com/"),
        ("scope", "openid admin"),
        ("response_type", "token"),
        ("code_challenge_method", "plain"),
        ("claims", "{"),
        ("resource", "not a uri"),
        ("client_id", "\x00"),
        ("state", "\x00"),
    ],
)
def test_a_tampered_consent_form_never_fails_with_500(app, users, cookie_client, field, value):
    application, _secret = app
    client = cookie_client(users[Level.WRITE])
    query = authorize_query(application, pkce_pair()[1])
    page = client.get(f"/o/authorize/?{query}")
    assert page.status_code == 200
    fields = dict(
        re.findall(r'<input type="hidden" name="([^"]+)" value="([^"]*)"', page.content.decode())
    )
    fields.update({field: value, "allow": "on"})
    response = client.post(
        f"/o/authorize/?{query}", fields, HTTP_X_CSRFTOKEN=client.cookies["csrftoken"].value
    )
    assert response.status_code < 500
    location = response.get("Location", "")
    assert not location or location.startswith(REDIRECT_URI)
    assert "code=" not in location


@pytest.mark.parametrize(
    "body",
    [
        {},
        {"grant_type": "magic"},
        {"grant_type": "authorization_code", "code": "x"},
        {"grant_type": "refresh_token", "refresh_token": "rbas_ort_forged"},
        {"grant_type": "password", "username": "a", "password": "b"},
        {"grant_type": "client_credentials", "client_id": "\x00"},
        {"grant_type": "urn:ietf:params:oauth:grant-type:device_code", "device_code": "x"},
    ],
)
def test_bad_token_requests_never_fail_with_500(app, body):
    application, _secret = app
    response = Client().post("/o/token/", {"client_id": application.client_id, **body})
    assert 400 <= response.status_code < 500
    assert "access_token" not in response.content.decode()
    nul_client = "Basic " + base64.b64encode(b"\x00:secret").decode()
    response = Client().post("/o/token/", body, HTTP_AUTHORIZATION=nul_client)
    assert 400 <= response.status_code < 500


@pytest.mark.parametrize("path", ["/o/revoke_token/", "/o/introspect/", "/o/userinfo/"])
def test_other_endpoints_refuse_garbage_without_500(path):
    for headers in (
        {"HTTP_AUTHORIZATION": "Basic " + base64.b64encode(b"\x00:x").decode()},
        {},
        {"HTTP_AUTHORIZATION": "Bearer rbas_oat_forged"},
        {"HTTP_AUTHORIZATION": "Basic !!!"},
    ):
        for token in ("\x00garbage", "garbage"):
            response = Client().post(path, {"token": token}, **headers)
            assert response.status_code < 500
        assert response.status_code < 500


@pytest.mark.parametrize("path", ["/o/token/", "/o/revoke_token/", "/o/introspect/"])
def test_the_client_endpoints_need_no_csrf_token(path):
    response = Client(enforce_csrf_checks=True).post(path, {"token": "x", "grant_type": "x"})
    assert response.status_code in (400, 401, 403)
    assert b"CSRF" not in response.content


def test_the_consent_form_still_needs_one(app, users, cookie_client):
    application, _secret = app
    query = authorize_query(application, pkce_pair()[1])
    client = cookie_client(users[Level.WRITE])
    response = client.post(f"/o/authorize/?{query}", {"allow": "on"})
    assert response.status_code == 403
    assert b"CSRF" in response.content
