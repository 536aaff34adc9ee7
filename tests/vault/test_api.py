"""The secrets API: owners and admins write values that no response, schema, admin page or log
line ever shows; nobody else gets in; nobody widens a secret they may not use."""

import logging

import pytest
from django.test import Client

from tests.conftest import PASSWORD
from users.models import User
from users.roles import Level
from vault.models import Secret

VALUE = "hunter2-but-longer-4b7e"


@pytest.fixture
def owner(users, bearer_client):
    return bearer_client(users[Level.OWNER])


@pytest.fixture
def admin(users, bearer_client):
    return bearer_client(users[Level.ADMIN])


def create(client, name="CRM_TOKEN", value=VALUE, **fields):
    return client.post("/api/secrets/", {"name": name, "value": value, **fields}, format="json")


def test_an_admin_stores_a_secret_and_no_answer_shows_its_value(admin, caplog):
    caplog.set_level(logging.DEBUG)
    created = create(admin, description="The CRM's API token")
    assert created.status_code == 201, created.json()
    body = created.json()
    assert body["name"] == "CRM_TOKEN" and body["policy"] == "admin"
    assert body["created_by"] == body["updated_by"] != None  # noqa: E711
    assert "value" not in body and "encrypted_value" not in body
    answers = [
        created,
        admin.get("/api/secrets/"),
        admin.get("/api/secrets/CRM_TOKEN/"),
        admin.patch("/api/secrets/CRM_TOKEN/", {"description": "new words"}, format="json"),
        admin.patch("/api/secrets/CRM_TOKEN/", {"value": VALUE + "2"}, format="json"),
    ]
    for answer in answers:
        assert answer.status_code in (200, 201), answer.content
        assert VALUE not in answer.content.decode()
    assert VALUE not in caplog.text
    assert "Secret CRM_TOKEN created by user" in caplog.text
    assert "Secret CRM_TOKEN: value changed by user" in caplog.text
    assert admin.get("/api/secrets/").json()["results"][0]["description"] == "new words"


def test_changing_the_value_is_recorded_and_changes_what_runs_get(users, admin):
    from vault.services import secrets_for_run

    create(admin)
    before = admin.get("/api/secrets/CRM_TOKEN/").json()
    admin.patch("/api/secrets/CRM_TOKEN/", {"value": "new-value"}, format="json")
    after = admin.get("/api/secrets/CRM_TOKEN/").json()
    assert after["value_changed_at"] > before["value_changed_at"]
    owner = users[Level.OWNER]
    assert secrets_for_run(user=owner, names=["CRM_TOKEN"]) == {"CRM_TOKEN": "new-value"}


def test_delete_removes_the_secret(admin):
    create(admin)
    assert admin.delete("/api/secrets/CRM_TOKEN/").status_code == 204
    assert admin.get("/api/secrets/CRM_TOKEN/").status_code == 404
    assert not Secret.objects.exists()


@pytest.mark.parametrize("level", [Level.READ_ONLY, Level.WRITE, Level.INVESTOR])
def test_other_levels_get_403_everywhere(users, bearer_client, owner, level):
    create(owner)
    client = bearer_client(users[level])
    assert client.get("/api/secrets/").status_code == 403
    assert create(client, name="MINE").status_code == 403
    assert client.get("/api/secrets/CRM_TOKEN/").status_code == 403
    patch = client.patch("/api/secrets/CRM_TOKEN/", {"value": "x"}, format="json")
    assert patch.status_code == 403
    assert client.delete("/api/secrets/CRM_TOKEN/").status_code == 403
    assert list(Secret.objects.values_list("name", flat=True)) == ["CRM_TOKEN"]


def test_anonymous_callers_get_401(api_client):
    assert api_client.get("/api/secrets/").status_code == 401


def test_cookie_clients_need_the_csrf_header_to_write(users, cookie_client):
    client = cookie_client(users[Level.OWNER])
    assert create(client).status_code == 403
    response = client.post(
        "/api/secrets/",
        {"name": "CRM_TOKEN", "value": VALUE},
        format="json",
        HTTP_X_CSRFTOKEN=client.csrf,
    )
    assert response.status_code == 201


def test_an_admin_cannot_widen_or_touch_an_owner_secret(owner, admin):
    assert create(owner, policy="owner").status_code == 201
    for change in ({"policy": "authenticated"}, {"value": "mine now"}, {"description": "x"}):
        response = admin.patch("/api/secrets/CRM_TOKEN/", change, format="json")
        assert response.status_code == 403, change
        assert response.json()["detail"].startswith("The secret CRM_TOKEN has the 'owner'")
    assert admin.delete("/api/secrets/CRM_TOKEN/").status_code == 403
    assert Secret.objects.get().policy == "owner"


@pytest.mark.parametrize("policy", ["owner", "investor"])
def test_an_admin_cannot_give_a_policy_they_do_not_satisfy(admin, policy):
    assert create(admin, policy=policy).status_code == 403
    create(admin)
    patch = admin.patch("/api/secrets/CRM_TOKEN/", {"policy": policy}, format="json")
    assert patch.status_code == 403
    assert Secret.objects.get().policy == "admin"


def test_an_owner_may_open_a_secret_to_everyone(owner):
    assert create(owner, policy="owner").status_code == 201
    patch = owner.patch("/api/secrets/CRM_TOKEN/", {"policy": "authenticated"}, format="json")
    assert patch.status_code == 200
    assert patch.json()["policy"] == "authenticated"


@pytest.mark.parametrize(
    "body, field",
    [
        ({"name": "crm_token", "value": "xxxx"}, "name"),
        ({"name": "1TOKEN", "value": "xxxx"}, "name"),
        ({"name": "A" * 65, "value": "xxxx"}, "name"),
        ({"name": "PATH", "value": "xxxx"}, "name"),
        ({"name": "HOME", "value": "xxxx"}, "name"),
        ({"name": "RBAS_OUTPUT_DIR", "value": "xxxx"}, "name"),
        ({"name": "RBAS_ANYTHING", "value": "xxxx"}, "name"),
        ({"name": "LD_PRELOAD", "value": "xxxx"}, "name"),
        ({"name": "PYTHONPATH", "value": "xxxx"}, "name"),
        ({"name": "TOKEN", "value": ""}, "value"),
        ({"name": "TOKEN", "value": "abc"}, "value"),
        ({"name": "TOKEN", "value": "      "}, "value"),
        ({"name": "TOKEN", "value": 12}, "value"),
        ({"name": "TOKEN", "value": ["x"]}, "value"),
        ({"name": "TOKEN", "value": "a\x00b"}, "value"),
        ({"name": "TOKEN", "value": "xxxx" * 16385}, "value"),
        ({"name": "TOKEN"}, "value"),
        ({"name": "TOKEN", "value": "xxxx", "policy": "root"}, "policy"),
        ({"name": ["TOKEN"], "value": "xxxx"}, "name"),
    ],
)
def test_bad_input_is_a_400_naming_the_field_and_stores_nothing(admin, body, field):
    response = admin.post("/api/secrets/", body, format="json")
    assert response.status_code == 400, response.content
    assert field in str(response.json())  # a field error, or the parser naming the field
    assert not Secret.objects.exists()


def test_a_name_taken_is_a_400(admin):
    create(admin)
    response = create(admin, value="other")
    assert response.status_code == 400
    assert response.json() == {"name": ["A secret named CRM_TOKEN already exists."]}


@pytest.mark.parametrize(
    "body", [{}, {"name": "OTHER"}, {"policy": "root"}, {"value": ""}, {"value": None}]
)
def test_bad_changes_are_400s(admin, body):
    create(admin)
    response = admin.patch("/api/secrets/CRM_TOKEN/", body, format="json")
    assert response.status_code == 400, response.content


def test_unknown_and_malformed_names_are_404s(admin):
    for path in ["NOPE", "lower", "%00", "A%00", "X" * 70, "..%2F"]:
        assert admin.get(f"/api/secrets/{path}/").status_code == 404, path


def test_the_schema_shows_the_value_as_write_only_and_no_value_anywhere(admin, api_client):
    create(admin)
    schema = api_client.get("/api/schema/", HTTP_ACCEPT="application/json").json()
    components = schema["components"]["schemas"]
    assert "value" not in components["Secret"]["properties"]
    assert components["SecretCreateRequest"]["properties"]["value"]["writeOnly"] is True
    assert "example" not in components["SecretCreateRequest"]["properties"]["value"]
    assert VALUE not in str(schema)


def test_the_django_admin_shows_secrets_without_their_values(owner, users):
    create(owner)
    User.objects.create_superuser("root", "root@example.com", PASSWORD)
    client = Client()
    assert client.login(username="root", password=PASSWORD)
    listing = client.get("/admin/vault/secret/")
    assert listing.status_code == 200 and b"CRM_TOKEN" in listing.content
    secret = Secret.objects.get()
    detail = client.get(f"/admin/vault/secret/{secret.pk}/change/")
    assert detail.status_code == 200
    page = detail.content.decode()
    assert VALUE not in page and secret.encrypted_value not in page
    assert client.get("/admin/vault/secret/add/").status_code == 403


def test_refusals_never_echo_the_value(admin):
    for body in [
        {"name": "TOKEN", "value": VALUE * 1000},
        {"name": "TOKEN", "value": [VALUE]},
        {"name": "TOKEN", "value": {VALUE: VALUE}},
        {"name": "bad name", "value": VALUE},
        {"name": "TOKEN", "value": VALUE, "policy": "root"},
    ]:
        response = admin.post("/api/secrets/", body, format="json")
        assert response.status_code == 400
        assert VALUE not in response.content.decode()
