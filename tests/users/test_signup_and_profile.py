"""Signup (with its escalation attempts and modes) and changes to one's own profile."""

import unicodedata

import pytest
from rest_framework.throttling import ScopedRateThrottle

from users.models import User
from users.roles import Level

SIGNUP = "/api/auth/signup/"
ME = "/api/auth/me/"


def signup_body(**overrides):
    return {
        "username": "newcomer",
        "email": "newcomer@example.com",
        "password": "a-long-and-unusual-passphrase",
        "first_name": "New",
        "last_name": "Comer",
        **overrides,
    }


def test_signup_creates_a_read_only_user(api_client, db):
    response = api_client.post(SIGNUP, signup_body(), format="json")
    assert response.status_code == 201
    user = response.json()["user"]
    assert user["level"] == 4 and user["level_name"] == "Read Only"
    assert set(user) == {
        "id", "username", "email", "first_name", "last_name",
        "level", "level_name", "is_active", "date_joined",
    }  # fmt: skip
    assert "password" not in response.content.decode()
    assert User.objects.get(username="newcomer").check_password("a-long-and-unusual-passphrase")


@pytest.mark.parametrize("level", [0, 1, 2, 3, "0", "owner", "admin", True, None, 99, -1])
def test_signup_asking_for_another_level_is_403_and_creates_nothing(api_client, db, level):
    response = api_client.post(SIGNUP, signup_body(level=level), format="json")
    assert response.status_code == 403
    assert not User.objects.exists()


@pytest.mark.parametrize("level", [4, "read_only"])
def test_signup_may_name_the_default_level(api_client, db, level):
    assert api_client.post(SIGNUP, signup_body(level=level), format="json").status_code == 201


@pytest.mark.parametrize("field", ["is_staff", "is_superuser"])
def test_signup_cannot_grant_django_privileges(api_client, db, field):
    response = api_client.post(SIGNUP, signup_body(**{field: True}), format="json")
    assert response.status_code == 403
    assert not User.objects.exists()


def test_signup_at_the_configured_default_level(api_client, db, settings):
    settings.DEFAULT_LEVEL = "write"
    response = api_client.post(SIGNUP, signup_body(level=3), format="json")
    assert response.status_code == 201
    assert response.json()["user"]["level"] == Level.WRITE


@pytest.mark.parametrize(
    ("overrides", "field"),
    [
        ({"username": "Taken"}, "username"),
        ({"username": "TAKEN"}, "username"),
        ({"email": "Taken@Example.com"}, "email"),
        ({"password": "password"}, "password"),
        ({"password": "newcomer1"}, "password"),
        ({"password": "12345678901"}, "password"),
        ({"email": "not-an-email"}, "email"),
        ({"username": "bad name!"}, "username"),
        ({"username": "x" * 151}, "username"),
        ({"first_name": "x" * 151}, "first_name"),
        ({"password": "x" * 5000}, "password"),
        ({"username": 12}, "username"),
        ({"email": ["a@b.c"]}, "email"),
    ],
)
def test_signup_bad_input_is_400_with_field_errors(api_client, make_user, overrides, field):
    make_user(username="taken", email="taken@example.com")
    response = api_client.post(SIGNUP, signup_body(**overrides), format="json")
    assert response.status_code == 400
    assert field in response.json()
    assert User.objects.count() == 1


def test_signup_closed_is_403(api_client, db, settings):
    settings.SIGNUP_MODE = "closed"
    assert api_client.post(SIGNUP, signup_body(), format="json").status_code == 403
    assert not User.objects.exists()


def test_signup_by_domain(api_client, db, settings):
    settings.SIGNUP_MODE = "domain"
    settings.SIGNUP_ALLOWED_DOMAINS = ["corp.example"]
    outside = api_client.post(SIGNUP, signup_body(email="x@gmail.example"), format="json")
    assert outside.status_code == 403
    lookalike = api_client.post(SIGNUP, signup_body(email="x@corp.example.evil"), format="json")
    assert lookalike.status_code == 403
    inside = api_client.post(SIGNUP, signup_body(email="x@Corp.Example"), format="json")
    assert inside.status_code == 201


def test_signups_from_one_address_are_throttled(api_client, db):
    statuses = [
        api_client.post(
            SIGNUP, signup_body(username=f"u{i}", email=f"u{i}@example.com"), format="json"
        ).status_code
        for i in range(11)
    ]
    assert statuses == [201] * 10 + [429]


def test_me_lists_the_policies_of_the_user(users, bearer_client):
    body = bearer_client(users[Level.INVESTOR]).get(ME).json()
    assert body["policies"] == ["authenticated", "investor"]
    assert body["level"] == 1 and body["level_name"] == "Investor"


def test_patch_me_changes_names_and_email(users, bearer_client):
    client = bearer_client(users[Level.WRITE])
    response = client.patch(ME, {"first_name": "Ada", "email": "ada@example.com"}, format="json")
    assert response.status_code == 200
    assert response.json()["first_name"] == "Ada"
    assert response.json()["email"] == "ada@example.com"


@pytest.mark.parametrize(
    "body", [{"level": 0}, {"level": 4}, {"is_active": False}, {"is_superuser": True}]
)
def test_patch_me_with_privileged_fields_is_403(users, bearer_client, body):
    reader = users[Level.READ_ONLY]
    response = bearer_client(reader).patch(ME, {"first_name": "Eve", **body}, format="json")
    assert response.status_code == 403
    reader.refresh_from_db()
    assert (reader.level, reader.is_active, reader.first_name) == (Level.READ_ONLY, True, "")


def test_patch_me_with_a_taken_email_is_400(users, bearer_client):
    taken = users[Level.OWNER].email.upper()
    response = bearer_client(users[Level.WRITE]).patch(ME, {"email": taken}, format="json")
    assert response.status_code == 400
    assert "email" in response.json()


@pytest.mark.parametrize(
    ("body", "content_type"),
    [
        ("{not json", "application/json"),
        ("[1, 2, 3]", "application/json"),
        ('"level"', "application/json"),
        ("null", "application/json"),
        ("username=a&password=b", "application/x-www-form-urlencoded"),
        ("username=a", "text/plain"),
    ],
)
@pytest.mark.parametrize("path", [SIGNUP, "/api/auth/login/", "/user-signup/", "/user-auth/"])
def test_malformed_bodies_are_4xx_never_5xx(api_client, db, body, content_type, path):
    response = api_client.generic("POST", path, body, content_type=content_type)
    expected = 415 if content_type != "application/json" else 400
    assert response.status_code == expected
    assert not User.objects.exists()


@pytest.mark.parametrize("body", ["[1]", "{bad", '"level"'])
def test_malformed_bodies_on_authenticated_endpoints_are_400(users, bearer_client, body):
    client = bearer_client(users[Level.OWNER])
    for method, path in [
        ("PATCH", ME),
        ("POST", "/api/auth/password/"),
        ("POST", "/api/users/"),
        ("PATCH", f"/api/users/{users[Level.READ_ONLY].pk}/"),
    ]:
        response = client.generic(method, path, body, content_type="application/json")
        assert response.status_code == 400, (method, path, response.content)


@pytest.mark.parametrize(
    "spelling", ["\u017ftefan", "\uff53\uff54\uff45\uff46\uff41\uff4e", "STEFAN"]
)
def test_a_look_alike_username_is_the_same_name(api_client, db, spelling):
    # The attacker registers a look-alike first; it is stored as the plain name it stands for.
    first = api_client.post(SIGNUP, signup_body(username=spelling), format="json")
    assert first.status_code == 201
    assert first.json()["user"]["username"] == unicodedata.normalize("NFKC", spelling)
    again = api_client.post(
        SIGNUP, signup_body(username="stefan", email="real@example.com"), format="json"
    )
    assert again.status_code == 400 and "username" in again.json()


def test_an_admin_creates_users_under_the_nfkc_name(users, bearer_client):
    body = signup_body(username="\uff4d\uff41\uff52\uff49\uff41", email="maria@example.com") | {
        "level": 3
    }
    created = bearer_client(users[Level.OWNER]).post("/api/users/", body, format="json")
    assert created.status_code == 201 and created.json()["username"] == "maria"


def test_domain_mode_keeps_ones_own_email_in_allowed_domains(make_user, bearer_client, settings):
    """A signup at an allowed domain cannot swap its address for one it controls elsewhere and
    verify that one instead: the domain rule would mean nothing."""
    settings.SIGNUP_MODE, settings.SIGNUP_ALLOWED_DOMAINS = "domain", ["company.example"]
    user = make_user(email="ceo@company.example", must_verify_email=True)
    client = bearer_client(user)
    outside = client.patch("/api/auth/me/", {"email": "mallory@evil.example"}, format="json")
    assert outside.status_code == 403
    user.refresh_from_db()
    assert user.email == "ceo@company.example"
    inside = client.patch("/api/auth/me/", {"email": "c.e.o@company.example"}, format="json")
    assert inside.status_code == 200


def test_email_changes_are_throttled_per_user(make_user, bearer_client, monkeypatch):
    """Each change sends two messages: a user cannot flood inboxes with them."""
    monkeypatch.setitem(ScopedRateThrottle.THROTTLE_RATES, "email_links", "2/hour")
    client = bearer_client(make_user())
    for number in range(2):
        body = {"email": f"new-{number}@example.com"}
        assert client.patch("/api/auth/me/", body, format="json").status_code == 200
    refused = client.patch("/api/auth/me/", {"email": "third@example.com"}, format="json")
    assert refused.status_code == 429 and refused.has_header("Retry-After")
    # Names alone send nothing and stay unthrottled; reading the account too.
    names = client.patch("/api/auth/me/", {"first_name": "Ann"}, format="json")
    assert names.status_code == 200
    assert client.get("/api/auth/me/").status_code == 200
