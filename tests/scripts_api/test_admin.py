"""The Django admin shows scripts and runs to superusers and never edits history."""

import pytest
from django.test import Client

from scripts_api.models import Run, RunStatus, Script, ScriptVersion
from tests.conftest import PASSWORD
from users.roles import Level


@pytest.fixture
def superuser_client(db):
    from users.models import User

    User.objects.create_superuser("root", "root@example.com", PASSWORD)
    client = Client()
    assert client.login(username="root", password=PASSWORD)
    return client


def test_scripts_and_runs_are_listed_and_read_only(catalog, users, superuser_client):
    run = Run.objects.create(
        script=Script.objects.get(slug="hello"), script_version="v", user=users[Level.WRITE]
    )
    assert superuser_client.get("/admin/scripts_api/script/").status_code == 200
    listing = superuser_client.get("/admin/scripts_api/run/")
    assert listing.status_code == 200
    assert str(run.pk) in listing.content.decode()
    detail = superuser_client.get(f"/admin/scripts_api/run/{run.pk}/change/")
    assert detail.status_code == 200
    assert b'type="submit" value="Save"' not in detail.content
    assert superuser_client.get("/admin/scripts_api/run/add/").status_code == 403
    delete = superuser_client.post(f"/admin/scripts_api/run/{run.pk}/delete/", {"post": "yes"})
    assert delete.status_code == 403
    assert Run.objects.filter(pk=run.pk).exists()


def test_runs_can_be_cancelled_from_the_list(catalog, users, superuser_client):
    run = Run.objects.create(
        script=Script.objects.get(slug="sleepy"), script_version="v", user=users[Level.WRITE]
    )
    response = superuser_client.post(
        "/admin/scripts_api/run/",
        {"action": "cancel_runs", "_selected_action": [str(run.pk)]},
    )
    assert response.status_code == 302
    run.refresh_from_db()
    assert run.status == RunStatus.CANCELLED


def test_api_users_without_django_staff_rights_cannot_enter(users):
    client = Client()
    assert client.login(username=users[Level.OWNER].username, password=PASSWORD)
    assert client.get("/admin/scripts_api/run/").status_code == 302  # to the admin login


def test_script_versions_are_listed_and_read_only(catalog, superuser_client):
    version = ScriptVersion.objects.get(script__slug="hello")
    listing = superuser_client.get("/admin/scripts_api/scriptversion/")
    assert listing.status_code == 200 and version.version in listing.content.decode()
    detail = superuser_client.get(f"/admin/scripts_api/scriptversion/{version.pk}/change/")
    assert detail.status_code == 200 and b"Say hello" in detail.content
    assert superuser_client.get("/admin/scripts_api/scriptversion/add/").status_code == 403
