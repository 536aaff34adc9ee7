"""The user admin API and API.md's assignment rules, tried from the escalating side."""

import pytest

from users import services
from users.models import LoginSession, User
from users.roles import Level

OWNER, INVESTOR, ADMIN, WRITE, READER = (
    Level.OWNER,
    Level.INVESTOR,
    Level.ADMIN,
    Level.WRITE,
    Level.READ_ONLY,
)


def detail(pk: int) -> str:
    return f"/api/users/{pk}/"


@pytest.mark.parametrize("level", [INVESTOR, WRITE, READER])
def test_users_outside_the_admin_policy_cannot_list_or_change_users(users, bearer_client, level):
    client = bearer_client(users[level])
    assert client.get("/api/users/").status_code == 403
    assert client.get(detail(users[READER].pk)).status_code == 403
    response = client.patch(detail(users[level].pk), {"level": 0}, format="json")
    assert response.status_code == 403
    assert User.objects.get(pk=users[level].pk).level == level


def test_list_is_paginated_and_filtered(users, make_user, bearer_client):
    make_user(READER, username="zed", first_name="Zed", is_active=False)
    client = bearer_client(users[ADMIN])
    body = client.get("/api/users/", {"page_size": 2}).json()
    assert body["count"] == 6 and len(body["results"]) == 2 and body["next"]
    assert [u["username"] for u in client.get("/api/users/?search=ZED").json()["results"]] == [
        "zed"
    ]
    readers = client.get("/api/users/?level=4").json()["results"]
    assert {u["username"] for u in readers} == {users[READER].username, "zed"}
    inactive = client.get("/api/users/?is_active=false").json()["results"]
    assert [u["username"] for u in inactive] == ["zed"]
    assert client.get("/api/users/?page_size=500").json()["count"] == 6


@pytest.mark.parametrize("query", ["level=9", "level=owner", "is_active=maybe", "page=99"])
def test_list_with_bad_filters_is_4xx(users, bearer_client, query):
    response = bearer_client(users[ADMIN]).get(f"/api/users/?{query}")
    assert response.status_code in (400, 404)


def test_detail_of_unknown_user_is_404(users, bearer_client):
    assert bearer_client(users[OWNER]).get(detail(999999)).status_code == 404
    assert bearer_client(users[OWNER]).patch(detail(999999), {}, format="json").status_code == 404


# (actor, target, change, expected status) — every rule of API.md's list.
RULES = [
    # 1. Nobody changes their own level or deactivates themselves.
    (OWNER, "self", {"level": 4}, 403),
    (OWNER, "self", {"is_active": False}, 403),
    (ADMIN, "self", {"level": 0}, 403),
    (ADMIN, "self", {"is_active": False}, 403),
    (ADMIN, "self", {"first_name": "Me"}, 200),
    # 2. An admin cannot change an owner or another admin, nor grant owner or admin.
    (ADMIN, OWNER, {"level": 4}, 403),
    (ADMIN, OWNER, {"is_active": False}, 403),
    (ADMIN, OWNER, {"first_name": "X"}, 403),
    (ADMIN, "other_admin", {"level": 4}, 403),
    (ADMIN, "other_admin", {"is_active": False}, 403),
    (ADMIN, READER, {"level": 0}, 403),
    (ADMIN, READER, {"level": 2}, 403),
    (ADMIN, WRITE, {"level": 2}, 403),
    # ... but may manage everyone else.
    (ADMIN, READER, {"level": 3}, 200),
    (ADMIN, WRITE, {"level": 1}, 200),
    (ADMIN, INVESTOR, {"is_active": False}, 200),
    (ADMIN, READER, {"email": "new@example.com", "last_name": "Y"}, 200),
    # 3. An owner can do everything else.
    (OWNER, READER, {"level": 0}, 200),
    (OWNER, READER, {"level": 2}, 200),
    (OWNER, ADMIN, {"level": 4}, 200),
    (OWNER, ADMIN, {"is_active": False}, 200),
    (OWNER, "other_owner", {"level": 3}, 200),
    (OWNER, "other_owner", {"is_active": False}, 200),
]


@pytest.mark.parametrize(("actor_level", "target_ref", "change", "expected"), RULES)
def test_assignment_rules(
    users, make_user, bearer_client, actor_level, target_ref, change, expected
):
    actor = users[actor_level]
    target = {
        "self": actor,
        "other_admin": make_user(ADMIN) if target_ref == "other_admin" else None,
        "other_owner": make_user(OWNER) if target_ref == "other_owner" else None,
    }.get(target_ref) or users.get(target_ref)
    before = User.objects.get(pk=target.pk)
    response = bearer_client(actor).patch(detail(target.pk), change, format="json")
    assert response.status_code == expected, response.content
    after = User.objects.get(pk=target.pk)
    if expected == 200:
        for field, value in change.items():
            assert getattr(after, field) == value
            assert response.json()[field] == value
    else:
        assert (after.level, after.is_active, after.first_name) == (
            before.level,
            before.is_active,
            before.first_name,
        )


def test_deactivation_revokes_every_session_at_once(users, bearer_client):
    target = users[WRITE]
    laptop, phone = bearer_client(target), bearer_client(target)
    response = bearer_client(users[ADMIN]).patch(
        detail(target.pk), {"is_active": False}, format="json"
    )
    assert response.status_code == 200
    assert laptop.get("/api/auth/me/").status_code == 401
    assert phone.get("/api/auth/me/").status_code == 401
    assert not LoginSession.objects.active().filter(user=target).exists()
    # Reactivation does not bring the old sessions back.
    bearer_client(users[ADMIN]).patch(detail(target.pk), {"is_active": True}, format="json")
    assert laptop.get("/api/auth/me/").status_code == 401


def test_level_change_applies_to_the_targets_next_request(users, bearer_client):
    reader_client = bearer_client(users[READER])
    assert reader_client.get("/only-staff/").status_code == 403
    bearer_client(users[OWNER]).patch(detail(users[READER].pk), {"level": 3}, format="json")
    assert reader_client.get("/only-staff/").status_code == 200


def test_the_last_active_owner_cannot_be_demoted(users, make_user):
    """Two owners demote each other at once: whichever comes second must get 409.

    The first demotion has committed; the second actor still holds the owner object its
    request authenticated with. Only the locked re-count in the service can refuse it.
    """
    first, second = users[OWNER], make_user(OWNER)
    services.user_update_by_admin(actor=first, target_pk=second.pk, level=READER)
    with pytest.raises(services.Conflict):
        services.user_update_by_admin(actor=second, target_pk=first.pk, level=READER)
    with pytest.raises(services.Conflict):
        services.user_update_by_admin(actor=second, target_pk=first.pk, is_active=False)
    assert User.objects.get(pk=first.pk).level == OWNER
    assert User.objects.get(pk=first.pk).is_active


def test_a_demoted_owner_can_no_longer_touch_the_other_owner(users, make_user, bearer_client):
    first, second = users[OWNER], make_user(OWNER)
    second_client = bearer_client(second)
    # The second owner's request is authenticated, then the first owner demotes them.
    services.user_update_by_admin(actor=first, target_pk=second.pk, level=ADMIN)
    response = second_client.patch(detail(first.pk), {"level": 4}, format="json")
    # Now an admin, the second user may not touch an owner at all: 403, nothing changed.
    assert response.status_code == 403
    assert User.objects.get(pk=first.pk).level == OWNER


def test_a_second_owner_can_be_demoted_while_another_remains(users, make_user):
    first, second = users[OWNER], make_user(OWNER)
    services.user_update_by_admin(actor=first, target_pk=second.pk, level=READER)
    assert User.objects.get(pk=second.pk).level == READER


@pytest.mark.parametrize(
    ("actor_level", "level", "expected"),
    [
        (ADMIN, 3, 201),
        (ADMIN, 1, 201),
        (ADMIN, 2, 403),
        (ADMIN, 0, 403),
        (OWNER, 2, 201),
        (OWNER, 0, 201),
    ],
)
def test_create_user_applies_assignment_rules(users, bearer_client, actor_level, level, expected):
    body = {
        "username": "hire",
        "email": "hire@example.com",
        "password": "a-long-and-unusual-passphrase",
        "level": level,
    }
    response = bearer_client(users[actor_level]).post("/api/users/", body, format="json")
    assert response.status_code == expected
    assert User.objects.filter(username="hire").exists() == (expected == 201)
    if expected == 201:
        assert response.json()["level"] == level


def test_create_user_ignores_signup_mode(users, bearer_client, settings):
    settings.SIGNUP_MODE = "closed"
    body = {"username": "hire", "email": "hire@x.example", "password": "a-long-passphrase-42"}
    response = bearer_client(users[ADMIN]).post("/api/users/", body, format="json")
    assert response.status_code == 201
    assert response.json()["level"] == READER


@pytest.mark.parametrize(
    "change",
    [{"level": True}, {"level": 7}, {"level": -1}, {"is_active": "nope"}, {"email": "x"}],
)
def test_patch_with_bad_values_is_400(users, bearer_client, change):
    target = users[READER]
    response = bearer_client(users[OWNER]).patch(detail(target.pk), change, format="json")
    assert response.status_code == 400
    assert User.objects.get(pk=target.pk).level == READER


def test_empty_filters_mean_no_filter(users, bearer_client):
    response = bearer_client(users[ADMIN]).get("/api/users/?level=&is_active=&search=")
    assert response.status_code == 200
    assert response.json()["count"] == len(users)


def test_an_admin_creates_a_user_without_knowing_a_password(
    users, bearer_client, api_client, smtp, run_queued_tasks, settings
):
    """Without a password the account cannot sign in until its owner follows the link that
    arrives by email (over real SMTP) and chooses one; the link works once."""
    settings.PUBLIC_URL = "https://rbas.example.com"
    admin = bearer_client(users[Level.ADMIN])
    body = {"username": "nina", "email": "nina@example.com", "level": Level.WRITE}
    response = admin.post("/api/users/", body, format="json")
    assert response.status_code == 201, response.json()
    nina = User.objects.get(username="nina")
    assert not nina.has_usable_password() and nina.email_verified and not nina.must_verify_email
    login = {"username": "nina", "password": "whatever-she-might-guess"}
    assert api_client.post("/api/auth/login/", login, format="json").status_code == 401

    assert run_queued_tasks() == 1
    message = smtp.wait_for("nina@example.com")
    assert "made you an account" in message.subject
    assert users[Level.ADMIN].username in message.subject and "Read/Write" in message.text
    assert message.link.startswith("https://rbas.example.com/reset-password#")
    assert "expires in 7 days" in message.text

    chosen = {"token": message.token, "new_password": "nina-chose-this-one-42"}
    confirm = api_client.post("/api/auth/password-reset/confirm/", chosen, format="json")
    assert confirm.status_code == 204
    login["password"] = chosen["new_password"]
    assert api_client.post("/api/auth/login/", login, format="json").status_code == 200
    again = api_client.post("/api/auth/password-reset/confirm/", chosen, format="json")
    assert again.status_code == 400 and "token" in again.json()


def test_creating_a_user_with_a_password_sends_no_link(users, bearer_client, run_queued_tasks):
    admin = bearer_client(users[Level.OWNER])
    body = {"username": "omar", "email": "omar@example.com", "password": "omar-s-own-pass-77"}
    assert admin.post("/api/users/", body, format="json").status_code == 201
    assert run_queued_tasks() == 0


def test_a_refused_creation_queues_no_email(users, bearer_client, run_queued_tasks):
    """An admin may not create an admin: nothing is written, no link goes out."""
    admin = bearer_client(users[Level.ADMIN])
    body = {"username": "eve", "email": "eve@example.com", "level": Level.ADMIN}
    assert admin.post("/api/users/", body, format="json").status_code == 403
    assert not User.objects.filter(username="eve").exists()
    assert run_queued_tasks() == 0


@pytest.mark.parametrize("field", ["password", "new_password"])
def test_an_admin_cannot_set_a_password_by_patch(users, bearer_client, field):
    target = users[Level.READ_ONLY]
    before = target.password
    admin = bearer_client(users[Level.OWNER])
    body = {field: "admin-picked-this-99", "first_name": "Changed"}
    response = admin.patch(f"/api/users/{target.pk}/", body, format="json")
    assert response.status_code == 400
    assert "/api/auth/password-reset/" in response.json()[field][0]
    target.refresh_from_db()
    assert target.password == before and target.first_name != "Changed"
