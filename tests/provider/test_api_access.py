"""The API accepts the provider's access tokens (scope `rbas`) as their user or service
account, and refuses them when forged, expired, revoked, without the scope, or when their user
can no longer act."""

from datetime import timedelta

import pytest
from django.test import Client
from django.utils import timezone
from oauth2_provider.models import AccessToken, Application
from rest_framework.test import APIClient

from provider import services
from tests.conftest import PASSWORD
from tests.provider.flows import authorize_query, code_of, consent, exchange, pkce_pair, web_app
from users.models import PersonalAccessToken
from users.roles import Level

pytestmark = pytest.mark.django_db


app_secrets: dict[str, str] = {}


def user_tokens(users, cookie_client, user, scope="openid rbas") -> dict:
    """Tokens of `user` for a web app, through the real authorization code flow."""
    application, secret = web_app(users[Level.OWNER], name=f"App for {user}")
    verifier, challenge = pkce_pair()
    code = code_of(consent(cookie_client(user), authorize_query(application, challenge, scope)))
    response = exchange(Client(), application, secret, code, verifier)
    assert response.status_code == 200, response.content
    app_secrets[application.client_id] = secret
    return response.json()


def bearer(token: str) -> APIClient:
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Bearer {token}")
    return client


def test_an_access_token_acts_as_its_user(users, cookie_client):
    tokens = user_tokens(users, cookie_client, users[Level.WRITE])
    response = bearer(tokens["access_token"]).get("/api/auth/me/")
    assert response.status_code == 200
    assert response.json()["username"] == users[Level.WRITE].username
    assert bearer(tokens["access_token"]).get("/api/access/staff/").status_code == 200
    assert bearer(tokens["access_token"]).get("/api/users/").status_code == 403


def test_a_token_without_the_rbas_scope_is_refused_by_the_api(users, cookie_client):
    tokens = user_tokens(users, cookie_client, users[Level.WRITE], scope="openid profile")
    response = bearer(tokens["access_token"]).get("/api/auth/me/")
    assert response.status_code == 401
    assert "rbas" in response.json()["detail"]


@pytest.mark.parametrize(
    "token", ["rbas_oat_forged", "rbas_oat_" + "A" * 43, "rbas_oat_", "rbas_oat_\u00e9\u00e9"]
)
def test_a_forged_token_is_refused(users, token):
    response = bearer(token).get("/api/auth/me/")
    assert response.status_code == 401
    assert response["WWW-Authenticate"].startswith("Bearer")


def test_a_token_is_refused_once_expired(users, cookie_client):
    tokens = user_tokens(users, cookie_client, users[Level.WRITE])
    AccessToken.objects.update(expires=timezone.now() - timedelta(seconds=1))
    assert bearer(tokens["access_token"]).get("/api/auth/me/").status_code == 401


def test_a_revoked_token_is_refused(users, cookie_client):
    tokens = user_tokens(users, cookie_client, users[Level.WRITE])
    app = Application.objects.get()
    assert bearer(tokens["access_token"]).get("/api/auth/me/").status_code == 200
    # A confidential client must authenticate to revoke: a stranger cannot.
    stranger = Client().post(
        "/o/revoke_token/", {"token": tokens["access_token"], "client_id": app.client_id}
    )
    assert stranger.status_code == 401
    assert bearer(tokens["access_token"]).get("/api/auth/me/").status_code == 200
    response = Client().post(
        "/o/revoke_token/",
        {"token": tokens["access_token"]},
        HTTP_AUTHORIZATION=basic(app.client_id, app_secrets[app.client_id]),
    )
    assert response.status_code == 200
    assert bearer(tokens["access_token"]).get("/api/auth/me/").status_code == 401


def test_deactivating_a_user_refuses_their_token_at_once(users, cookie_client):
    user = users[Level.WRITE]
    tokens = user_tokens(users, cookie_client, user)
    user.is_active = False
    user.save()
    response = bearer(tokens["access_token"]).get("/api/auth/me/")
    assert response.status_code == 401
    assert "username" not in response.json()


def test_a_level_change_applies_at_once(users, cookie_client):
    user = users[Level.ADMIN]
    tokens = user_tokens(users, cookie_client, user)
    assert bearer(tokens["access_token"]).get("/api/users/").status_code == 200
    user.level = Level.READ_ONLY
    user.save()
    assert bearer(tokens["access_token"]).get("/api/users/").status_code == 403


@pytest.mark.parametrize(
    ("method", "path", "body"),
    [
        ("post", "/api/tokens/", {"name": "persistence"}),
        ("post", "/api/auth/password/", {"old_password": PASSWORD, "new_password": "x-Y-z-123456"}),
        ("patch", "/api/auth/me/", {"email": "attacker@example.net"}),
        ("post", "/api/auth/logout/", None),
        ("post", "/api/auth/logout-all/", None),
    ],
)
def test_an_oauth_token_cannot_entrench_itself(users, cookie_client, method, path, body):
    """An app holding a user's access token cannot mint a personal token, take the account or
    end the user's sessions: only a signed-in session can."""
    user = users[Level.WRITE]
    tokens = user_tokens(users, cookie_client, user)
    response = getattr(bearer(tokens["access_token"]), method)(path, body, format="json")
    assert response.status_code == 403, response.content
    assert response.data["detail"].code == "session_required"
    assert not PersonalAccessToken.objects.exists()
    user.refresh_from_db()
    assert user.email != "attacker@example.net"
    assert user.check_password(PASSWORD)


def client_credentials(app, secret, scope="rbas"):
    return Client().post(
        "/o/token/",
        {"grant_type": "client_credentials", "scope": scope},
        HTTP_AUTHORIZATION=basic(app.client_id, secret),
    )


def basic(client_id: str, secret: str) -> str:
    import base64

    return "Basic " + base64.b64encode(f"{client_id}:{secret}".encode()).decode()


def service_app(actor, level=Level.WRITE):
    return services.application_create(
        actor=actor,
        name="Nightly report",
        client_type=Application.CLIENT_CONFIDENTIAL,
        authorization_grant_type=Application.GRANT_CLIENT_CREDENTIALS,
        redirect_uris=[],
        level=level,
    )


def test_a_client_credentials_token_acts_as_the_service_account(users):
    app, secret = service_app(users[Level.ADMIN])
    response = client_credentials(app, secret)
    assert response.status_code == 200, response.content
    token = response.json()["access_token"]
    assert "refresh_token" not in response.json()
    me = bearer(token).get("/api/auth/me/").json()
    assert me["username"].startswith("service-nightly-report-")
    assert me["level"] == Level.WRITE
    assert bearer(token).get("/api/users/").status_code == 403


def test_deactivating_a_service_account_refuses_its_tokens_at_once(users):
    app, secret = service_app(users[Level.ADMIN])
    token = client_credentials(app, secret).json()["access_token"]
    assert bearer(token).get("/api/auth/me/").status_code == 200
    account = app.service_account.user
    account.is_active = False
    account.save()
    response = bearer(token).get("/api/auth/me/")
    assert response.status_code == 401
    assert response.json()["detail"] == "User is inactive."
    refused = client_credentials(app, secret)
    assert refused.status_code in (400, 401)
    assert "access_token" not in refused.json()


def test_a_service_account_cannot_sign_in_with_a_password(users):
    app, _secret = service_app(users[Level.ADMIN])
    account = app.service_account.user
    assert not account.has_usable_password()
    assert account.email == ""


def test_deleting_a_service_app_ends_its_tokens_and_account(users, bearer_client):
    app, secret = service_app(users[Level.ADMIN])
    token = client_credentials(app, secret).json()["access_token"]
    account = app.service_account.user
    admin = bearer_client(users[Level.ADMIN])
    assert admin.delete(f"/api/oauth/applications/{app.pk}/").status_code == 204
    assert bearer(token).get("/api/auth/me/").status_code == 401
    account.refresh_from_db()
    assert not account.is_active


def test_introspection_takes_the_token_in_the_body_only(users):
    app, secret = service_app(users[Level.OWNER])
    token = client_credentials(app, secret).json()["access_token"]
    auth = basic(app.client_id, secret)
    in_url = Client().get(f"/o/introspect/?token={token}", HTTP_AUTHORIZATION=auth)
    assert in_url.status_code == 405
    in_body = Client().post("/o/introspect/", {"token": token}, HTTP_AUTHORIZATION=auth)
    assert in_body.json()["active"] is True
    stranger = Client().post("/o/introspect/", {"token": token})
    assert stranger.status_code in (401, 403)
    assert "active" not in stranger.content.decode()


def test_a_sign_in_app_cannot_get_client_credentials_tokens(users):
    app, secret = web_app(users[Level.OWNER])
    response = client_credentials(app, secret)
    assert response.status_code in (400, 401)
    assert response.json()["error"] == "unauthorized_client"
