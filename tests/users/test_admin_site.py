"""Django's admin follows the level on every request: a demoted owner or a staff user below
the owner level cannot use it."""

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
