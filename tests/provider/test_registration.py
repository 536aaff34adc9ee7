"""Registering applications: owners and admins only, the secret shown once and stored hashed,
service accounts under the rules for granting levels."""

import pytest
from oauth2_provider.models import Application

from users.models import User
from users.roles import Level

pytestmark = pytest.mark.django_db

WEB_APP = {
    "name": "Wiki",
    "client_type": "confidential",
    "authorization_grant_type": "authorization-code",
    "redirect_uris": ["https://wiki.example.com/oidc/callback"],
}
SERVICE = {
    "name": "Nightly report",
    "client_type": "confidential",
    "authorization_grant_type": "client-credentials",
    "level": Level.WRITE,
}


def test_an_owner_registers_an_app_and_sees_its_secret_once(users, bearer_client):
    client = bearer_client(users[Level.OWNER])
    response = client.post("/api/oauth/applications/", WEB_APP, format="json")
    assert response.status_code == 201, response.content
    body = response.json()
    secret = body["client_secret"]
    assert len(secret) >= 40
    stored = Application.objects.get(client_id=body["client_id"])
    assert stored.client_secret != secret
    assert stored.client_secret.startswith(("pbkdf2_", "md5$", "argon2", "bcrypt", "sha1$"))
    assert body["redirect_uris"] == WEB_APP["redirect_uris"]
    assert body["service_account"] is None
    listed = client.get("/api/oauth/applications/").json()["results"]
    assert [a["client_id"] for a in listed] == [body["client_id"]]
    assert "client_secret" not in listed[0]
    detail = client.get(f"/api/oauth/applications/{body['id']}/").json()
    assert "client_secret" not in detail
    assert secret not in str(detail)


def test_an_admin_registers_a_service_account_at_a_grantable_level(users, bearer_client):
    response = bearer_client(users[Level.ADMIN]).post(
        "/api/oauth/applications/", SERVICE, format="json"
    )
    assert response.status_code == 201, response.content
    account = response.json()["service_account"]
    assert account["level"] == Level.WRITE
    user = User.objects.get(pk=account["id"])
    assert user.username.startswith("service-nightly-report-")
    assert not user.has_usable_password()


@pytest.mark.parametrize("level", [Level.READ_ONLY, Level.WRITE])
def test_read_only_and_read_write_users_cannot_register_apps(users, bearer_client, level):
    client = bearer_client(users[level])
    response = client.post("/api/oauth/applications/", WEB_APP, format="json")
    assert response.status_code == 403
    assert client.get("/api/oauth/applications/").status_code == 403
    assert not Application.objects.exists()


def test_anonymous_callers_get_401(api_client):
    assert api_client.get("/api/oauth/applications/").status_code == 401


@pytest.mark.parametrize("level", [Level.OWNER, Level.ADMIN])
def test_an_admin_cannot_create_an_owner_or_admin_service_account(users, bearer_client, level):
    response = bearer_client(users[Level.ADMIN]).post(
        "/api/oauth/applications/", {**SERVICE, "level": level}, format="json"
    )
    assert response.status_code == 403
    assert not Application.objects.exists()
    assert not User.objects.filter(username__startswith="service-").exists()


def test_an_admin_cannot_delete_an_app_whose_service_account_is_an_admin(users, bearer_client):
    created = bearer_client(users[Level.OWNER]).post(
        "/api/oauth/applications/", {**SERVICE, "level": Level.ADMIN}, format="json"
    )
    assert created.status_code == 201
    pk = created.json()["id"]
    response = bearer_client(users[Level.ADMIN]).delete(f"/api/oauth/applications/{pk}/")
    assert response.status_code == 403
    assert Application.objects.filter(pk=pk).exists()
    owner = bearer_client(users[Level.OWNER])
    assert owner.delete(f"/api/oauth/applications/{pk}/").status_code == 204
    assert not Application.objects.filter(pk=pk).exists()


@pytest.mark.parametrize(
    "body",
    [
        {**WEB_APP, "redirect_uris": ["javascript:alert(1)"]},
        {**WEB_APP, "redirect_uris": ["ftp://example.com/cb"]},
        {**WEB_APP, "redirect_uris": []},
        {**WEB_APP, "authorization_grant_type": "password"},
        {**WEB_APP, "authorization_grant_type": "implicit"},
        {**WEB_APP, "level": Level.WRITE},
        {**SERVICE, "level": None},
        {**SERVICE, "client_type": "public"},
        {k: v for k, v in SERVICE.items() if k != "level"},
        {**WEB_APP, "name": ""},
        {**WEB_APP, "redirect_uris": "https://not-a-list.example.com"},
    ],
)
def test_bad_registrations_get_a_400(users, bearer_client, body):
    response = bearer_client(users[Level.OWNER]).post(
        "/api/oauth/applications/", body, format="json"
    )
    assert response.status_code == 400, response.content
    assert not Application.objects.exists()


def test_an_unknown_application_is_a_404(users, bearer_client):
    client = bearer_client(users[Level.OWNER])
    assert client.get("/api/oauth/applications/999999/").status_code == 404
    assert client.delete("/api/oauth/applications/999999/").status_code == 404


def test_a_public_client_gets_no_secret(users, bearer_client):
    body = {**WEB_APP, "client_type": "public"}
    response = bearer_client(users[Level.OWNER]).post(
        "/api/oauth/applications/", body, format="json"
    )
    assert response.status_code == 201
    assert response.json()["client_secret"] is None
