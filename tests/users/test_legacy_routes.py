"""The seed tutorial's login and signup routes, and the defects they must not carry over."""

import pytest

from tests.conftest import PASSWORD
from users.models import LoginSession, User
from users.roles import Level


def test_legacy_login_answers_the_tutorial_fields_and_real_tokens(users, api_client):
    owner = users[Level.OWNER]
    response = api_client.post(
        "/user-auth/", {"username": owner.username, "password": PASSWORD}, format="json"
    )
    assert response.status_code == 200
    body = response.json()
    assert body["success"] is True
    assert body["message"] == "You've successfully logged in"
    assert body["email"] == owner.email
    assert body["user_level"] == 0
    assert body["user_id"] == owner.pk
    assert body["token"] == f"Bearer {body['access_token']}"
    assert response.cookies["rbas_access"]["httponly"]
    # The token really works, and lives 15 minutes, not the tutorial's 30 hours.
    assert body["expires_in"] == 900
    only_owner = api_client.get("/only-owner/", HTTP_AUTHORIZATION=body["token"])
    assert only_owner.status_code == 200
    assert LoginSession.objects.filter(user=owner).count() == 1


def test_legacy_login_failure_is_the_same_401(users, api_client):
    response = api_client.post("/user-auth/", {"username": "ghost", "password": "x"}, format="json")
    assert response.status_code == 401
    assert response.json() == {"detail": "Invalid credentials."}


def test_legacy_signup_answers_user_and_success(api_client, db):
    body = {
        "username": "legacy",
        "email": "legacy@example.com",
        "password": "a-long-and-unusual-passphrase",
        "first_name": "L",
        "last_name": "Egacy",
    }
    response = api_client.post("/user-signup/", body, format="json")
    assert response.status_code == 201
    assert response.json()["success"] is True
    assert response.json()["user"]["level"] == Level.READ_ONLY


@pytest.mark.parametrize("level", [0, 1, 2, 3])
def test_legacy_signup_cannot_create_an_owner_or_any_privileged_user(api_client, db, level):
    body = {
        "username": "climber",
        "email": "climber@example.com",
        "password": "a-long-and-unusual-passphrase",
        "level": level,
    }
    assert api_client.post("/user-signup/", body, format="json").status_code == 403
    assert not User.objects.exists()


@pytest.mark.parametrize(
    "body",
    [
        {"username": "dup", "email": "other@example.com", "password": "a-long-passphrase-1"},
        {"username": "new", "email": "new@example.com", "password": "short"},
        {"username": "new", "email": "new@example.com"},
    ],
)
def test_legacy_signup_bad_input_is_400_not_500(api_client, make_user, body):
    make_user(username="dup")
    response = api_client.post("/user-signup/", body, format="json")
    assert response.status_code == 400
    assert User.objects.count() == 1


def test_legacy_all_user_route_shows_a_signed_in_user(users, bearer_client):
    body = bearer_client(users[Level.WRITE]).get("/all-user/").json()
    assert body["user"]["username"] == users[Level.WRITE].username
