"""The authorization code flow from the attacker's side, with Django's test client (the real
relying parties are in test_openid_client.py and test_provider_browser.py)."""

import jwt
import pytest
from django.test import Client

from tests.provider.flows import (
    REDIRECT_URI,
    authorize_query,
    code_of,
    consent,
    exchange,
    pkce_pair,
    web_app,
)
from users.roles import Level

pytestmark = pytest.mark.django_db


@pytest.fixture
def app(users):
    return web_app(users[Level.OWNER])


def signed_in(cookie_client, user) -> Client:
    return cookie_client(user)


def test_a_signed_in_user_gets_a_code_and_an_id_token_with_their_level(app, users, cookie_client):
    application, secret = app
    verifier, challenge = pkce_pair()
    client = cookie_client(users[Level.WRITE])
    code = code_of(consent(client, authorize_query(application, challenge)))
    response = exchange(Client(), application, secret, code, verifier)
    assert response.status_code == 200, response.content
    body = response.json()
    assert body["access_token"].startswith("rbas_oat_")
    assert body["refresh_token"].startswith("rbas_ort_")
    claims = jwt.decode(body["id_token"], options={"verify_signature": False})
    assert claims["level"] == Level.WRITE
    assert claims["level_name"] == "Read/Write"
    assert claims["policies"] == ["authenticated", "staff"]
    assert claims["aud"] == application.client_id
    assert claims["nonce"] == "nonce-1"


def test_an_anonymous_user_is_sent_to_the_sign_in_page_and_back(app):
    application, _secret = app
    _verifier, challenge = pkce_pair()
    query = authorize_query(application, challenge)
    response = Client().get(f"/o/authorize/?{query}")
    assert response.status_code == 302
    assert response["Location"].startswith("/login?next=/o/authorize/")
    page = Client().get(response["Location"])
    assert f'data-next="/o/authorize/?{query}"'.replace("&", "&amp;") in page.content.decode()


def test_the_consent_page_names_the_app_and_the_scopes_in_plain_words(app, users, cookie_client):
    application, _secret = app
    _verifier, challenge = pkce_pair()
    client = cookie_client(users[Level.READ_ONLY])
    page = client.get(f"/o/authorize/?{authorize_query(application, challenge)}")
    html = page.content.decode()
    assert "Sign in to Wiki" in html
    assert "See your RBAS level and act on the RBAS API as you" in html
    assert "form-action" not in page["Content-Security-Policy"]


def test_deny_sends_access_denied_back_to_the_app(app, users, cookie_client):
    application, _secret = app
    _verifier, challenge = pkce_pair()
    client = cookie_client(users[Level.READ_ONLY])
    response = consent(client, authorize_query(application, challenge), allow=False)
    assert response.status_code == 302
    assert response["Location"].startswith(REDIRECT_URI + "?error=access_denied")


def test_consent_without_csrf_token_is_refused(app, users, cookie_client):
    application, _secret = app
    _verifier, challenge = pkce_pair()
    client = cookie_client(users[Level.READ_ONLY])
    query = authorize_query(application, challenge)
    page = client.get(f"/o/authorize/?{query}")
    assert page.status_code == 200
    forged = Client(enforce_csrf_checks=True)
    forged.cookies = client.cookies
    del forged.cookies["csrftoken"]
    response = forged.post(
        f"/o/authorize/?{query}",
        {
            "allow": "on",
            "client_id": application.client_id,
            "redirect_uri": REDIRECT_URI,
            "response_type": "code",
            "scope": "openid rbas",
            "code_challenge": challenge,
            "code_challenge_method": "S256",
        },
    )
    assert response.status_code == 403
    assert "Location" not in response


def test_a_wrong_redirect_uri_is_never_redirected_to(app, users, cookie_client):
    application, _secret = app
    _verifier, challenge = pkce_pair()
    client = cookie_client(users[Level.READ_ONLY])
    query = authorize_query(application, challenge).replace("9999%2Fcallback", "9999%2Fevil")
    response = client.get(f"/o/authorize/?{query}")
    assert response.status_code == 400
    assert "Location" not in response


def test_pkce_is_required(app, users, cookie_client):
    application, _secret = app
    client = cookie_client(users[Level.READ_ONLY])
    query = authorize_query(application, "x").replace(
        "&code_challenge=x&code_challenge_method=S256", ""
    )
    response = client.get(f"/o/authorize/?{query}")
    assert response.status_code == 302
    assert "error=invalid_request" in response["Location"]


def test_the_plain_pkce_method_is_refused(app, users, cookie_client):
    application, _secret = app
    client = cookie_client(users[Level.READ_ONLY])
    query = authorize_query(application, "v" * 50, code_challenge_method="plain")
    response = consent(client, query)
    assert response.status_code == 302
    assert response["Location"].startswith(REDIRECT_URI + "?error=invalid_request")
    assert "code=" not in response["Location"]


@pytest.mark.parametrize("verifier", ["", "wrong-verifier-" + "x" * 40])
def test_a_missing_or_wrong_verifier_gets_no_token(app, users, cookie_client, verifier):
    application, secret = app
    _verifier, challenge = pkce_pair()
    client = cookie_client(users[Level.READ_ONLY])
    code = code_of(consent(client, authorize_query(application, challenge)))
    response = exchange(Client(), application, secret, code, verifier)
    assert response.status_code in (400, 401)
    assert "access_token" not in response.json()


def test_a_code_works_once(app, users, cookie_client):
    application, secret = app
    verifier, challenge = pkce_pair()
    client = cookie_client(users[Level.READ_ONLY])
    code = code_of(consent(client, authorize_query(application, challenge)))
    assert exchange(Client(), application, secret, code, verifier).status_code == 200
    again = exchange(Client(), application, secret, code, verifier)
    assert again.status_code == 400
    assert again.json()["error"] == "invalid_grant"


def test_another_clients_code_is_refused(app, users, cookie_client):
    application, _secret = app
    other, other_secret = web_app(users[Level.OWNER], name="Other")
    verifier, challenge = pkce_pair()
    client = cookie_client(users[Level.READ_ONLY])
    code = code_of(consent(client, authorize_query(application, challenge)))
    response = exchange(Client(), other, other_secret, code, verifier)
    assert response.status_code == 400
    assert response.json()["error"] == "invalid_grant"


def test_a_wrong_client_secret_is_refused(app, users, cookie_client):
    application, _secret = app
    verifier, challenge = pkce_pair()
    client = cookie_client(users[Level.READ_ONLY])
    code = code_of(consent(client, authorize_query(application, challenge)))
    response = exchange(Client(), application, "not-the-secret", code, verifier)
    assert response.status_code == 401


def test_an_unverified_signup_cannot_authorize(app, make_user, cookie_client):
    application, _secret = app
    _verifier, challenge = pkce_pair()
    user = make_user(Level.READ_ONLY, must_verify_email=True)
    client = cookie_client(user)
    response = client.get(f"/o/authorize/?{authorize_query(application, challenge)}")
    assert response.status_code == 403
    assert "Confirm your email address" in response.content.decode()


def test_a_deactivated_user_is_sent_to_sign_in_not_to_consent(app, users, cookie_client):
    application, _secret = app
    _verifier, challenge = pkce_pair()
    user = users[Level.WRITE]
    client = cookie_client(user)
    user.is_active = False
    user.save()
    response = client.get(f"/o/authorize/?{authorize_query(application, challenge)}")
    assert response.status_code == 302
    assert response["Location"].startswith("/login?next=")


def test_a_code_of_a_user_deactivated_since_consent_gets_no_token(app, users, cookie_client):
    application, secret = app
    verifier, challenge = pkce_pair()
    user = users[Level.WRITE]
    code = code_of(consent(cookie_client(user), authorize_query(application, challenge)))
    user.is_active = False
    user.save()
    response = exchange(Client(), application, secret, code, verifier)
    assert response.status_code == 400
    assert "access_token" not in response.json()


def test_a_deactivated_user_gets_no_refresh_and_no_userinfo(app, users, cookie_client):
    application, secret = app
    verifier, challenge = pkce_pair()
    user = users[Level.WRITE]
    code = code_of(consent(cookie_client(user), authorize_query(application, challenge)))
    tokens = exchange(Client(), application, secret, code, verifier).json()
    bearer = {"HTTP_AUTHORIZATION": f"Bearer {tokens['access_token']}"}
    assert Client().get("/o/userinfo/", **bearer).json()["level"] == Level.WRITE
    user.is_active = False
    user.save()
    assert Client().get("/o/userinfo/", **bearer).status_code == 401
    refresh = Client().post(
        "/o/token/",
        {
            "grant_type": "refresh_token",
            "refresh_token": tokens["refresh_token"],
            "client_id": application.client_id,
            "client_secret": secret,
        },
    )
    assert refresh.status_code == 400
    assert refresh.json()["error"] == "invalid_grant"


def test_userinfo_follows_a_level_change_at_once(app, users, cookie_client):
    application, secret = app
    verifier, challenge = pkce_pair()
    user = users[Level.ADMIN]
    code = code_of(consent(cookie_client(user), authorize_query(application, challenge)))
    tokens = exchange(Client(), application, secret, code, verifier).json()
    user.level = Level.READ_ONLY
    user.save()
    info = Client().get("/o/userinfo/", HTTP_AUTHORIZATION=f"Bearer {tokens['access_token']}")
    assert (info.json()["level"], info.json()["policies"]) == (Level.READ_ONLY, ["authenticated"])


def test_a_public_client_signs_in_with_pkce_alone(users, cookie_client):
    application, secret = web_app(users[Level.OWNER], client_type="public")
    assert secret is None
    verifier, challenge = pkce_pair()
    code = code_of(
        consent(cookie_client(users[Level.READ_ONLY]), authorize_query(application, challenge))
    )
    response = Client().post(
        "/o/token/",
        {
            "grant_type": "authorization_code",
            "code": code,
            "redirect_uri": REDIRECT_URI,
            "code_verifier": verifier,
            "client_id": application.client_id,
        },
    )
    assert response.status_code == 200, response.content
    assert response.json()["access_token"].startswith("rbas_oat_")


def test_prompt_none_tells_the_app_consent_is_required(app, users, cookie_client):
    application, _secret = app
    client = cookie_client(users[Level.WRITE])
    query = authorize_query(application, pkce_pair()[1], prompt="none")
    response = client.get(f"/o/authorize/?{query}")
    assert response.status_code == 302
    assert response["Location"].startswith(REDIRECT_URI + "?error=consent_required")
    assert "state=state-1" in response["Location"]


def test_prompt_none_without_a_sign_in_tells_the_app_login_is_required(app):
    application, _secret = app
    query = authorize_query(application, pkce_pair()[1], prompt="none")
    response = Client().get(f"/o/authorize/?{query}")
    assert response.status_code == 302
    assert response["Location"].startswith(REDIRECT_URI + "?error=login_required")
    assert "state=state-1" in response["Location"]


def test_prompt_none_never_redirects_to_an_unregistered_uri(app):
    application, _secret = app
    query = authorize_query(application, pkce_pair()[1], prompt="none").replace(
        "9999%2Fcallback", "9999%2Fevil"
    )
    response = Client().get(f"/o/authorize/?{query}")
    assert response.status_code == 400
    assert "Location" not in response


def test_prompt_login_asks_for_the_password_again(app, users, cookie_client):
    application, _secret = app
    client = cookie_client(users[Level.WRITE])
    query = authorize_query(application, pkce_pair()[1], prompt="login")
    response = client.get(f"/o/authorize/?{query}")
    assert response.status_code == 302
    location = response["Location"]
    assert location.startswith("/login?next=/o/authorize/%3Fresponse_type%3Dcode")
    assert location.endswith("&reauth=1")
    assert "prompt" not in location
