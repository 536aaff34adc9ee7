"""Django's admin follows the level on every request, and its sign-in form is throttled like the
API login: attacks from the outside and from a demoted owner."""

import pytest
from django.test import Client

from scripts_api.models import Run, RunStatus, Script
from tests.conftest import PASSWORD
from users.models import User
from users.roles import Level


@pytest.fixture
def root(db) -> User:
    return User.objects.create_superuser("root", "root@example.com", PASSWORD)


def admin_sign_in(client: Client, username: str, password: str):
    return client.post("/admin/login/?next=/admin/", {"username": username, "password": password})


def test_an_owner_demoted_through_the_api_loses_the_admin_at_the_next_request(
    root, catalog, users, bearer_client
):
    run = Run.objects.create(
        script=Script.objects.get(slug="sleepy"), script_version="v", user=users[Level.WRITE]
    )
    client = Client()
    assert admin_sign_in(client, "root", PASSWORD)["Location"] == "/admin/"
    assert client.get("/admin/scripts_api/run/").status_code == 200
    demoted = bearer_client(users[Level.OWNER]).patch(
        f"/api/users/{root.pk}/", {"level": Level.ADMIN}, format="json"
    )
    assert demoted.status_code == 200
    # The same Django session, the very next request: refused, to the admin's sign-in.
    listing = client.get("/admin/scripts_api/run/")
    assert listing.status_code == 302 and listing["Location"].startswith("/admin/login/")
    assert client.get("/admin/").status_code == 302
    cancel = client.post(
        "/admin/scripts_api/run/", {"action": "cancel_runs", "_selected_action": [str(run.pk)]}
    )
    assert cancel.status_code == 302
    run.refresh_from_db()
    assert run.status == RunStatus.QUEUED
    # Signing in again does not help either.
    response = admin_sign_in(Client(), "root", PASSWORD)
    assert response.status_code == 200 and b"errornote" in response.content


def test_a_deactivated_or_non_owner_staff_user_cannot_enter(make_user):
    make_user(Level.ADMIN, username="staffer", is_staff=True)
    response = admin_sign_in(Client(), "staffer", PASSWORD)
    assert response.status_code == 200 and b"errornote" in response.content


def test_the_admin_sign_in_shares_the_api_logins_limit_per_username(root, api_client):
    attacker = Client()
    for _ in range(5):
        assert admin_sign_in(attacker, "root", "wrong-guess").status_code == 200
    guessed = admin_sign_in(attacker, "ROOT", PASSWORD)
    assert guessed.status_code == 429 and int(guessed["Retry-After"]) > 0
    assert "_auth_user_id" not in attacker.session
    # One budget for both doors: the API login for that username is throttled too.
    login = api_client.post(
        "/api/auth/login/", {"username": "root", "password": PASSWORD}, format="json"
    )
    assert login.status_code == 429


def test_the_admin_sign_in_is_limited_per_address(root):
    attacker = Client()
    for number in range(20):
        assert admin_sign_in(attacker, f"user{number}", "wrong-guess").status_code == 200
    assert admin_sign_in(attacker, "root", PASSWORD).status_code == 429
