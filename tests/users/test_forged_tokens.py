"""Tokens an attacker could present: every one of them gives 401, never 500 or access."""

import base64
import json
import time
import uuid

import pytest
from django.conf import settings
from jose import jwt

from tests.conftest import PASSWORD
from users import sessions
from users.roles import Level

ME = "/api/auth/me/"


def b64(data: dict) -> str:
    return base64.urlsafe_b64encode(json.dumps(data).encode()).rstrip(b"=").decode()


def valid_claims(issued) -> dict:
    return jwt.get_unverified_claims(issued.access.raw)


def sign(claims: dict, key: str | None = None, algorithm: str = "HS256") -> str:
    return jwt.encode(claims, key or settings.JWT_SIGNING_KEY, algorithm=algorithm)


@pytest.fixture
def owner_session(users):
    owner = users[Level.OWNER]
    return sessions.session_login(request=None, username=owner.username, password=PASSWORD)


def assert_refused(api_client, token: str, detail: str = "Token is invalid or expired."):
    response = api_client.get(ME, HTTP_AUTHORIZATION=f"Bearer {token}")
    assert response.status_code == 401, response.content
    assert response["WWW-Authenticate"] == 'Bearer realm="api"'
    assert response.json() == {"detail": detail}


def test_the_genuine_token_is_accepted(api_client, owner_session):
    response = api_client.get(ME, HTTP_AUTHORIZATION=f"Bearer {owner_session.access.raw}")
    assert response.status_code == 200


def test_alg_none_token_is_refused(api_client, owner_session):
    token = f"{b64({'alg': 'none', 'typ': 'JWT'})}.{b64(valid_claims(owner_session))}."
    assert_refused(api_client, token)


def test_hs512_token_with_the_right_key_is_refused(api_client, owner_session):
    assert_refused(api_client, sign(valid_claims(owner_session), algorithm="HS512"))


def test_token_signed_with_another_key_is_refused(api_client, owner_session):
    assert_refused(api_client, sign(valid_claims(owner_session), key="x" * 64))


def test_tampered_payload_with_the_old_signature_is_refused(api_client, owner_session, users):
    header, _payload, signature = owner_session.access.raw.split(".")
    claims = valid_claims(owner_session) | {"sub": str(users[Level.READ_ONLY].pk)}
    assert_refused(api_client, f"{header}.{b64(claims)}.{signature}")


def test_expired_token_is_refused(api_client, owner_session):
    now = int(time.time())
    claims = valid_claims(owner_session) | {"iat": now - 3600, "exp": now - 1}
    assert_refused(api_client, sign(claims))


def test_refresh_token_used_as_access_is_refused(api_client, owner_session):
    assert_refused(api_client, owner_session.refresh.raw)


def test_refresh_token_in_the_access_cookie_is_refused(api_client, owner_session):
    api_client.cookies["rbas_access"] = owner_session.refresh.raw
    assert api_client.get(ME).status_code == 401


def test_wrong_issuer_is_refused(api_client, owner_session):
    assert_refused(api_client, sign(valid_claims(owner_session) | {"iss": "someone-else"}))


@pytest.mark.parametrize("claim", ["exp", "iat", "sub", "jti", "iss", "sid", "type"])
def test_token_missing_a_claim_is_refused(api_client, owner_session, claim):
    claims = valid_claims(owner_session)
    del claims[claim]
    assert_refused(api_client, sign(claims))


@pytest.mark.parametrize(
    ("claim", "value"),
    [
        ("sub", 1),
        ("sub", "1 OR 1=1"),
        ("sub", "\u0661"),  # ARABIC-INDIC DIGIT ONE: isdecimal() but not ASCII
        ("sid", "not-a-uuid"),
        ("sid", 42),
        ("exp", "soon"),
        ("exp", [1]),
        ("iat", {"a": 1}),
        ("jti", ""),
        ("type", "ACCESS"),
    ],
)
def test_token_with_a_malformed_claim_is_refused(api_client, owner_session, claim, value):
    assert_refused(api_client, sign(valid_claims(owner_session) | {claim: value}))


def test_token_issued_in_the_future_is_refused(api_client, owner_session):
    now = int(time.time())
    claims = valid_claims(owner_session) | {"iat": now + 3600, "exp": now + 7200}
    assert_refused(api_client, sign(claims))


def test_a_few_seconds_of_clock_skew_in_iat_are_tolerated(api_client, owner_session):
    claims = valid_claims(owner_session) | {"iat": int(time.time()) + 5}
    response = api_client.get(ME, HTTP_AUTHORIZATION=f"Bearer {sign(claims)}")
    assert response.status_code == 200


@pytest.mark.parametrize("claim", ["exp", "iat"])
@pytest.mark.parametrize("kind", [str, float])
def test_times_that_are_not_json_integers_are_refused(api_client, owner_session, claim, kind):
    claims = valid_claims(owner_session)
    assert_refused(api_client, sign(claims | {claim: kind(claims[claim])}))


def test_a_far_future_expiry_as_a_string_is_refused(api_client, owner_session):
    assert_refused(api_client, sign(valid_claims(owner_session) | {"exp": "99999999999"}))


def test_a_critical_header_extension_is_refused(api_client, owner_session):
    headers = {"crit": ["urn:example:must-understand"], "urn:example:must-understand": True}
    token = jwt.encode(
        valid_claims(owner_session), settings.JWT_SIGNING_KEY, algorithm="HS256", headers=headers
    )
    assert_refused(api_client, token)
    # The refresh endpoint decodes with the same rules.
    claims = jwt.get_unverified_claims(owner_session.refresh.raw)
    forged = jwt.encode(claims, settings.JWT_SIGNING_KEY, algorithm="HS256", headers=headers)
    refresh = api_client.post("/api/auth/refresh/", {"refresh": forged}, format="json")
    assert refresh.status_code == 401


def test_token_for_an_unknown_user_is_refused(api_client, owner_session):
    claims = valid_claims(owner_session) | {"sub": "987654"}
    assert_refused(api_client, sign(claims), detail="Session not found.")


def test_token_for_an_unknown_session_is_refused(api_client, owner_session):
    claims = valid_claims(owner_session) | {"sid": str(uuid.uuid4())}
    assert_refused(api_client, sign(claims), detail="Session not found.")


def test_token_of_an_inactive_user_is_refused(api_client, owner_session):
    owner_session.user.is_active = False
    owner_session.user.save()
    assert_refused(api_client, owner_session.access.raw, detail="User is inactive.")


def test_token_of_a_revoked_session_is_refused(api_client, owner_session):
    sessions.session_revoke(session_id=owner_session.session.pk, reason="test")
    assert_refused(api_client, owner_session.access.raw, detail="Session has ended.")


@pytest.mark.parametrize(
    "garbage",
    ["garbage", "a.b.c", "...", "eyJhbGciOiJIUzI1NiJ9..", "ä.ö.ü", "x" * 5000, "null"],
)
def test_garbage_token_is_refused(api_client, db, garbage):
    assert_refused(api_client, garbage)


@pytest.mark.parametrize(
    "header",
    ["Bearer", "Bearer ", "Bearer a b", "BearereyJhbGciOiJIUzI1NiJ9.e30.x"],
)
def test_malformed_authorization_header_is_refused(api_client, db, header):
    response = api_client.get(ME, HTTP_AUTHORIZATION=header)
    assert response.status_code == 401


def test_header_without_a_space_gets_401_even_with_a_valid_token(api_client, owner_session):
    response = api_client.get(ME, HTTP_AUTHORIZATION=f"Bearer{owner_session.access.raw}")
    assert response.status_code == 401


def test_other_authorization_schemes_are_not_accepted(api_client, db):
    response = api_client.get(ME, HTTP_AUTHORIZATION="Basic b3duZXI6cGFzcw==")
    assert response.status_code == 401


def test_garbage_access_cookie_is_refused(api_client, db):
    api_client.cookies["rbas_access"] = "not-a-token"
    response = api_client.get(ME)
    assert response.status_code == 401
