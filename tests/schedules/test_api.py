"""The schedules API: who may schedule what, and the 400s of bad cron, zones and params."""

import pytest

from schedules.models import Schedule
from users.roles import Level

pytestmark = pytest.mark.django_db


@pytest.fixture
def owner_client(users, bearer_client):
    return bearer_client(users[Level.OWNER])


def _create(client, **fields):
    body = {"script": "hello", "cron": "0 7 * * MON", **fields}
    return client.post("/api/schedules/", body, format="json")


def test_owner_creates_a_schedule_with_next_runs_in_utc_and_its_zone(catalog, owner_client):
    response = _create(
        owner_client, timezone="Europe/Paris", params={"name": "team"}, cron="0  7 * * MON"
    )
    assert response.status_code == 201, response.content
    body = response.json()
    assert body["cron"] == "0 7 * * MON"
    assert body["source"] == "api" and body["paused"] is False
    assert len(body["next_runs"]) == 5
    first = body["next_runs"][0]
    assert first["at"].endswith("Z") and first["at"] == body["next_run_at"].replace("+00:00", "Z")
    assert first["local"].startswith(first["local"][:10]) and "T07:00:00+0" in first["local"]
    assert body["run_as"] == body["owner"]


@pytest.mark.parametrize(
    ("fields", "field", "words"),
    [
        ({"cron": "61 * * * *"}, "cron", "Bad minute"),
        ({"cron": "* * *"}, "cron", "five fields"),
        ({"cron": "0 0 0 * * *"}, "cron", "five fields"),
        ({"timezone": "Mars/Olympus"}, "timezone", "IANA"),
        ({"timezone": "../../etc/passwd"}, "timezone", "IANA"),
        ({"params": {"nom": "x"}}, "params", "Unknown parameter"),
        ({"params": {"excited": "yes"}}, "params", "true or false"),
        ({"script": "nope"}, "script", "No published script"),
        ({"run_as": "ghost"}, "run_as", "No user"),
    ],
)
def test_bad_input_is_a_400_with_the_reason(catalog, owner_client, fields, field, words):
    response = _create(owner_client, **fields)
    assert response.status_code == 400, response.content
    assert words in str(response.json()[field])
    assert not Schedule.objects.exists()


def test_run_as_user_must_be_allowed_by_the_scripts_policy(catalog, users, owner_client):
    reader = users[Level.READ_ONLY].username
    response = _create(owner_client, script="price-quote", run_as=reader)
    assert response.status_code == 400
    assert "may not run price-quote" in str(response.json()["run_as"])


def test_deactivated_run_as_user_is_refused(catalog, make_user, owner_client):
    gone = make_user(Level.WRITE, is_active=False)
    response = _create(owner_client, run_as=gone.username)
    assert response.status_code == 400
    assert "deactivated" in str(response.json()["run_as"])


@pytest.mark.parametrize("level", [Level.READ_ONLY, Level.WRITE, Level.INVESTOR])
def test_non_admins_are_refused(catalog, users, bearer_client, level):
    client = bearer_client(users[level])
    assert _create(client).status_code == 403
    assert client.get("/api/schedules/").status_code == 403


def test_anonymous_is_refused(catalog, api_client):
    assert api_client.get("/api/schedules/").status_code == 401


@pytest.mark.parametrize("victim", [Level.OWNER, Level.ADMIN])
def test_admin_cannot_schedule_as_an_owner_or_another_admin(
    catalog, users, make_user, bearer_client, victim
):
    target = users[victim] if victim == Level.OWNER else make_user(Level.ADMIN)
    response = _create(bearer_client(users[Level.ADMIN]), run_as=target.username)
    assert response.status_code == 403
    assert response.data["detail"].code == "protected_user"


def test_admin_cannot_touch_an_owners_schedule(catalog, users, owner_client, bearer_client):
    pk = _create(owner_client).json()["id"]
    admin = bearer_client(users[Level.ADMIN])
    assert admin.get(f"/api/schedules/{pk}/").status_code == 200
    assert admin.post(f"/api/schedules/{pk}/pause/").status_code == 403
    assert (
        admin.patch(f"/api/schedules/{pk}/", {"cron": "* * * * *"}, format="json").status_code
        == 403
    )
    assert admin.delete(f"/api/schedules/{pk}/").status_code == 403
    assert Schedule.objects.get(pk=pk).cron == "0 7 * * MON"


def test_admin_schedules_as_a_write_user(catalog, users, bearer_client):
    writer = users[Level.WRITE].username
    params = {"customer": "ACME", "plan": "team", "seats": 3, "start_date": "2027-01-04"}
    response = _create(
        bearer_client(users[Level.ADMIN]), script="price-quote", run_as=writer, params=params
    )
    assert response.status_code == 201, response.content
    assert response.json()["run_as"] == writer


def test_patch_changes_cron_and_moves_next_run(catalog, owner_client):
    pk = _create(owner_client).json()["id"]
    response = owner_client.patch(
        f"/api/schedules/{pk}/", {"cron": "30 6 1 * *", "timezone": "Asia/Tokyo"}, format="json"
    )
    assert response.status_code == 200, response.content
    assert "T06:30:00+09:00" in response.json()["next_runs"][0]["local"]
    bad = owner_client.patch(f"/api/schedules/{pk}/", {"cron": "nope"}, format="json")
    assert bad.status_code == 400 and "cron" in bad.json()


def test_pause_resume_and_delete(catalog, owner_client):
    pk = _create(owner_client).json()["id"]
    paused = owner_client.post(f"/api/schedules/{pk}/pause/").json()
    assert paused["paused"] is True and paused["next_runs"] == []
    resumed = owner_client.post(f"/api/schedules/{pk}/resume/").json()
    assert resumed["paused"] is False and len(resumed["next_runs"]) == 5
    assert owner_client.delete(f"/api/schedules/{pk}/").status_code == 204
    assert owner_client.get(f"/api/schedules/{pk}/").status_code == 404


def test_cookie_client_needs_csrf(catalog, users, cookie_client):
    client = cookie_client(users[Level.OWNER])
    assert _create(client).status_code == 403
    response = client.post(
        "/api/schedules/",
        {"script": "hello", "cron": "0 7 * * *"},
        format="json",
        HTTP_X_CSRFTOKEN=client.csrf,
    )
    assert response.status_code == 201, response.content


def test_admin_cannot_move_their_schedule_to_run_as_an_owner(catalog, users, bearer_client):
    admin = bearer_client(users[Level.ADMIN])
    pk = _create(admin).json()["id"]
    owner = users[Level.OWNER].username
    response = admin.patch(f"/api/schedules/{pk}/", {"run_as": owner}, format="json")
    assert response.status_code == 403
    assert Schedule.objects.get(pk=pk).run_as == users[Level.ADMIN]


def test_patch_params_are_validated_against_the_script(catalog, owner_client):
    pk = _create(owner_client).json()["id"]
    response = owner_client.patch(f"/api/schedules/{pk}/", {"params": {"x": 1}}, format="json")
    assert response.status_code == 400 and "Unknown parameter" in str(response.json()["params"])


def test_list_filters_by_script(catalog, owner_client):
    _create(owner_client)
    assert owner_client.get("/api/schedules/?script=hello").json()["count"] == 1
    assert owner_client.get("/api/schedules/?script=price-quote").json()["count"] == 0


def test_a_schedule_id_that_is_not_a_number_is_a_404(catalog, owner_client):
    assert owner_client.get("/api/schedules/x/").status_code == 404
    assert owner_client.post("/api/schedules/999/pause/").status_code == 404
    assert owner_client.get(f"/api/schedules/{10**30}/").status_code == 404  # beyond bigint


@pytest.mark.parametrize(
    "body",
    [
        {"script": "hello", "cron": "0 7 * * *", "params": "name=x"},
        {"script": "hello", "cron": ["0 7 * * *"]},
        {"script": "hello"},
        {"script": "../etc", "cron": "0 7 * * *"},
        {"script": "hello", "cron": "0 7 * * *", "paused": "maybe"},
    ],
)
def test_malformed_bodies_are_400s(catalog, owner_client, body):
    assert owner_client.post("/api/schedules/", body, format="json").status_code == 400
    assert not Schedule.objects.exists()


def test_djangos_admin_shows_schedules_read_only():
    from django.contrib.admin.sites import site

    from schedules.models import ScheduleTick

    for model in (Schedule, ScheduleTick):
        page = site._registry[model]
        assert not page.has_add_permission(None)
        assert not page.has_change_permission(None)
        assert not page.has_delete_permission(None)
