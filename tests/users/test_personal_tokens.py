"""Personal API tokens: created once, stored hashed, used as `Bearer rbas_pat_...`, narrowed,
revoked, and unable to entrench themselves."""

from datetime import timedelta

import pytest
from django.utils import timezone
from rest_framework.test import APIClient

from users.authentication import WWW_AUTHENTICATE
from users.models import PersonalAccessToken
from users.personal_tokens import LAST_USED_EVERY, PREFIX, token_digest
from users.roles import Level

pytestmark = pytest.mark.django_db


def create_token(client, **body) -> dict:
    body.setdefault("name", "ci")
    response = client.post("/api/tokens/", body, format="json")
    assert response.status_code == 201, response.content
    return response.json()


def pat_client(raw: str, **extra) -> APIClient:
    client = APIClient(enforce_csrf_checks=True, **extra)
    client.credentials(HTTP_AUTHORIZATION=f"Bearer {raw}")
    return client


@pytest.fixture
def token_of(bearer_client):
    """Create a token as `user` (signed in by password) and return a client using it."""

    def make(user, **body):
        created = create_token(bearer_client(user), **body)
        client = pat_client(created["token"])
        client.created = created
        return client

    return make


def test_the_token_is_shown_once_and_only_its_digest_is_stored(users, bearer_client):
    client = bearer_client(users[Level.WRITE])
    created = create_token(client, name="nightly build")
    raw = created["token"]
    assert raw.startswith(PREFIX) and len(raw) >= len(PREFIX) + 43
    stored = PersonalAccessToken.objects.get(pk=created["id"])
    assert stored.digest == token_digest(raw) and raw not in stored.digest
    assert not PersonalAccessToken.objects.filter(digest__contains=raw[len(PREFIX) :]).exists()
    listed = client.get("/api/tokens/").json()
    assert listed["count"] == 1 and "token" not in listed["results"][0]
    assert raw not in str(listed)
    assert created["expires_at"][:10] == (timezone.now() + timedelta(days=90)).date().isoformat()


def test_a_token_runs_a_script_and_reads_its_result(users, token_of, catalog, run_queued_tasks):
    client = token_of(users[Level.READ_ONLY])
    run = client.post("/api/scripts/hello/runs/", {"params": {"name": "CI"}}, format="json")
    assert run.status_code == 202, run.content
    run_queued_tasks()
    result = client.get(f"/api/runs/{run.json()['id']}/").json()
    assert result["status"] == "succeeded" and result["result"] == {"greeting": "Hello, CI."}
    assert client.get("/api/auth/me/").json()["username"] == users[Level.READ_ONLY].username


@pytest.mark.parametrize(
    "raw",
    [
        PREFIX + "A" * 43,  # forged
        "rbas_xyz_" + "A" * 43,  # a prefix nobody issues
        PREFIX,  # empty secret
    ],
)
def test_forged_tokens_are_refused_with_401(users, raw):
    response = pat_client(raw).get("/api/auth/me/")
    assert response.status_code == 401
    assert response["WWW-Authenticate"] == WWW_AUTHENTICATE


def test_a_token_with_a_wrong_prefix_is_not_accepted(users, token_of):
    raw = token_of(users[Level.ADMIN]).created["token"]
    response = pat_client("rbas_oat_" + raw[len(PREFIX) :]).get("/api/auth/me/")
    assert response.status_code == 401
    assert pat_client(raw.upper()).get("/api/auth/me/").status_code == 401


def test_revoked_and_expired_tokens_are_refused(users, token_of):
    client = token_of(users[Level.WRITE])
    assert client.get("/api/auth/me/").status_code == 200
    PersonalAccessToken.objects.update(expires_at=timezone.now() - timedelta(seconds=1))
    expired = client.get("/api/auth/me/")
    assert expired.status_code == 401 and expired.data["detail"].code == "token_expired"
    PersonalAccessToken.objects.update(
        expires_at=timezone.now() + timedelta(days=1), revoked_at=timezone.now()
    )
    revoked = client.get("/api/auth/me/")
    assert revoked.status_code == 401 and revoked.data["detail"].code == "token_revoked"
    assert revoked["WWW-Authenticate"] == WWW_AUTHENTICATE


def test_a_token_can_revoke_itself(users, token_of):
    client = token_of(users[Level.WRITE])
    assert client.delete(f"/api/tokens/{client.created['id']}/").status_code == 204
    assert client.get("/api/auth/me/").status_code == 401


def test_a_deactivated_user_is_refused_at_the_next_request(users, token_of):
    user = users[Level.ADMIN]
    client = token_of(user)
    assert client.get("/api/users/").status_code == 200
    user.is_active = False
    user.save(update_fields=["is_active"])
    response = client.get("/api/auth/me/")
    assert response.status_code == 401 and response.data["detail"].code == "user_inactive"


def test_a_demoted_user_loses_the_rights_at_once(users, token_of):
    user = users[Level.ADMIN]
    client = token_of(user)
    assert client.get("/api/users/").status_code == 200
    user.level = Level.READ_ONLY
    user.save(update_fields=["level"])
    assert client.get("/api/users/").status_code == 403
    assert client.get("/api/auth/me/").json()["policies"] == ["authenticated"]


def test_a_narrowed_token_never_outranks_its_demoted_user(users, token_of):
    user = users[Level.ADMIN]
    client = token_of(user, level=Level.WRITE)
    assert client.get("/api/access/staff/").status_code == 200
    user.level = Level.INVESTOR
    user.save(update_fields=["level"])
    # Neither the write token's staff nor the investor's own policy is reachable.
    assert client.get("/api/access/staff/").status_code == 403
    assert client.get("/api/access/investor/").status_code == 403
    assert client.get("/api/auth/me/").json()["policies"] == ["authenticated"]


def test_a_narrowed_token_cannot_run_what_its_level_cannot(users, token_of, catalog):
    admin_token = token_of(users[Level.ADMIN], level=Level.READ_ONLY)
    body = {"params": {"customer": "ACME", "quantity": 1, "unit_price": "1.00"}}
    refused = admin_token.post("/api/scripts/price-quote/runs/", body, format="json")
    assert refused.status_code == 403 and refused.data["detail"].code == "policy_denied"
    assert admin_token.get("/api/users/").status_code == 403
    assert admin_token.get("/api/auth/me/").json()["policies"] == ["authenticated"]
    slugs = {script["slug"] for script in admin_token.get("/api/scripts/").json()["results"]}
    assert "hello" in slugs and "price-quote" not in slugs


def test_a_narrowed_token_cannot_reach_a_level_list_script_its_user_lacks(users, token_of, catalog):
    # sales_report's POLICY is ["owner", "investor"]: an admin-narrowed owner token is refused.
    owner = users[Level.OWNER]
    assert token_of(owner).get("/api/scripts/sales-report/").status_code == 200
    narrowed = token_of(owner, level=Level.ADMIN)
    assert narrowed.get("/api/scripts/sales-report/").status_code == 403
    investor_token = token_of(owner, level=Level.INVESTOR)
    assert investor_token.get("/api/scripts/sales-report/").status_code == 200


@pytest.mark.parametrize(
    ("user_level", "token_level", "allowed"),
    [
        (Level.ADMIN, Level.WRITE, True),
        (Level.ADMIN, Level.READ_ONLY, True),
        (Level.ADMIN, Level.INVESTOR, False),
        (Level.ADMIN, Level.OWNER, False),
        (Level.WRITE, Level.ADMIN, False),
        (Level.READ_ONLY, Level.WRITE, False),
        (Level.INVESTOR, Level.READ_ONLY, True),
        (Level.OWNER, Level.INVESTOR, True),
    ],
)
def test_a_token_is_narrowed_only_within_its_users_policies(
    users, bearer_client, user_level, token_level, allowed
):
    response = bearer_client(users[user_level]).post(
        "/api/tokens/", {"name": "ci", "level": token_level}, format="json"
    )
    assert response.status_code == (201 if allowed else 400), response.content
    if not allowed:
        assert "level" in response.json()


@pytest.mark.parametrize(
    "body",
    [
        {"name": "ci", "expires_in_days": 366},
        {"name": "ci", "expires_in_days": 0},
        {"name": "ci", "expires_in_days": "soon"},
        {"name": "ci", "level": 9},
        {"name": ""},
        {"name": "x" * 101},
        {"name": 5},
        {},
    ],
)
def test_bad_bodies_get_400(users, bearer_client, body):
    response = bearer_client(users[Level.WRITE]).post("/api/tokens/", body, format="json")
    assert response.status_code == 400, response.content
    assert not PersonalAccessToken.objects.exists()


def test_the_longest_expiry_is_a_setting(users, bearer_client, settings):
    settings.API_TOKEN_MAX_DAYS = 30
    client = bearer_client(users[Level.WRITE])
    too_long = client.post("/api/tokens/", {"name": "a", "expires_in_days": 31}, format="json")
    assert too_long.status_code == 400 and "expires_in_days" in too_long.json()
    longest = client.post("/api/tokens/", {"name": "a", "expires_in_days": 30}, format="json")
    assert longest.status_code == 201


@pytest.mark.parametrize(
    ("method", "path", "body"),
    [
        ("post", "/api/tokens/", {"name": "successor"}),
        ("post", "/api/auth/password/", {"old_password": "x", "new_password": "y"}),
        ("patch", "/api/auth/me/", {"email": "attacker@example.net"}),
        ("post", "/api/auth/logout/", {}),
        ("post", "/api/auth/logout-all/", {}),
    ],
)
def test_a_token_cannot_entrench_itself(users, token_of, method, path, body):
    user = users[Level.OWNER]
    client = token_of(user)
    response = getattr(client, method)(path, body, format="json")
    assert response.status_code == 403, response.content
    assert response.data["detail"].code == "session_required"
    assert PersonalAccessToken.objects.count() == 1
    user.refresh_from_db()
    assert user.email != "attacker@example.net"


def test_a_token_cannot_revoke_the_users_other_tokens(users, token_of):
    user = users[Level.WRITE]
    first, second = token_of(user, name="a"), token_of(user, name="b")
    response = first.delete(f"/api/tokens/{second.created['id']}/")
    assert response.status_code == 403
    assert response.data["detail"].code == "personal_token_not_allowed"
    assert second.get("/api/auth/me/").status_code == 200


def test_users_list_and_revoke_only_their_own_tokens(users, bearer_client, token_of):
    owner_token = token_of(users[Level.OWNER])
    reader = bearer_client(users[Level.READ_ONLY])
    create_token(reader, name="mine")
    assert [t["name"] for t in reader.get("/api/tokens/").json()["results"]] == ["mine"]
    owner_id = users[Level.OWNER].pk
    assert reader.get(f"/api/tokens/?user={owner_id}").status_code == 403
    assert reader.get("/api/tokens/?all=true").status_code == 403
    assert reader.delete(f"/api/tokens/{owner_token.created['id']}/").status_code == 404
    assert owner_token.get("/api/auth/me/").status_code == 200


def test_admins_list_everyones_tokens(users, bearer_client, token_of):
    token_of(users[Level.OWNER], name="owner's")
    token_of(users[Level.WRITE], name="writer's")
    admin = bearer_client(users[Level.ADMIN])
    everyone = admin.get("/api/tokens/?all=true").json()
    assert {t["name"] for t in everyone["results"]} == {"owner's", "writer's"}
    writer = admin.get(f"/api/tokens/?user={users[Level.WRITE].pk}").json()["results"]
    assert [t["username"] for t in writer] == [users[Level.WRITE].username]
    assert admin.get("/api/tokens/").json()["count"] == 0
    assert admin.get("/api/tokens/?user=abc").status_code == 400


def test_admins_revoke_by_the_assignment_rules(users, bearer_client, token_of):
    writer_token, owner_token = token_of(users[Level.WRITE]), token_of(users[Level.OWNER])
    other_admin_token = token_of(users[Level.ADMIN])
    admin = bearer_client(users[Level.ADMIN])
    assert admin.delete(f"/api/tokens/{writer_token.created['id']}/").status_code == 204
    assert writer_token.get("/api/auth/me/").status_code == 401
    refused = admin.delete(f"/api/tokens/{owner_token.created['id']}/")
    assert refused.status_code == 403 and refused.data["detail"].code == "protected_user"
    assert owner_token.get("/api/auth/me/").status_code == 200
    owner = bearer_client(users[Level.OWNER])
    assert owner.delete(f"/api/tokens/{other_admin_token.created['id']}/").status_code == 204
    revoked = PersonalAccessToken.objects.get(pk=writer_token.created["id"])
    assert revoked.revoked_by == users[Level.ADMIN]


def test_an_admin_cannot_revoke_another_admins_token(users, make_user, bearer_client, token_of):
    other_admin_token = token_of(make_user(Level.ADMIN))
    admin = bearer_client(users[Level.ADMIN])
    refused = admin.delete(f"/api/tokens/{other_admin_token.created['id']}/")
    assert refused.status_code == 403
    assert other_admin_token.get("/api/auth/me/").status_code == 200


def test_a_narrowed_admin_token_cannot_list_or_revoke_others(users, token_of):
    writer_token = token_of(users[Level.WRITE])
    narrowed = token_of(users[Level.ADMIN], level=Level.WRITE)
    assert narrowed.get("/api/tokens/?all=true").status_code == 403
    assert narrowed.delete(f"/api/tokens/{writer_token.created['id']}/").status_code == 404


def test_last_use_is_recorded_at_most_once_a_minute(users, token_of):
    raw = token_of(users[Level.WRITE]).created["token"]
    pat_client(raw, REMOTE_ADDR="203.0.113.7").get("/api/auth/me/")
    token = PersonalAccessToken.objects.get()
    first = token.last_used_at
    assert first is not None and token.last_used_address == "203.0.113.7"
    moved = pat_client(raw, REMOTE_ADDR="198.51.100.1")
    moved.get("/api/auth/me/")
    token.refresh_from_db()
    assert token.last_used_at == first and token.last_used_address == "203.0.113.7"
    PersonalAccessToken.objects.update(last_used_at=first - LAST_USED_EVERY)
    moved.get("/api/auth/me/")
    token.refresh_from_db()
    assert token.last_used_at > first and token.last_used_address == "198.51.100.1"
    listed = moved.get("/api/tokens/").json()["results"][0]
    assert listed["last_used_address"] == "198.51.100.1" and listed["last_used_at"]


def test_a_token_needs_no_csrf_token_and_a_jwt_cookie_still_does(users, token_of, cookie_client):
    client = token_of(users[Level.WRITE])
    assert client.delete(f"/api/tokens/{client.created['id']}/").status_code == 204
    cookie = cookie_client(users[Level.READ_ONLY])
    refused = cookie.post("/api/tokens/", {"name": "no csrf"}, format="json")
    assert refused.status_code == 403 and refused.data["detail"].code == "csrf_failed"
