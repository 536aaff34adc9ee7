"""Login, refresh rotation, logout, password change: cookies, revocation and throttling."""

import pytest
from rest_framework.test import APIClient

from tests.conftest import PASSWORD
from users.models import LoginSession, User
from users.roles import Level

LOGIN = "/api/auth/login/"
REFRESH = "/api/auth/refresh/"
ME = "/api/auth/me/"


@pytest.fixture
def reader(users):
    return users[Level.READ_ONLY]


def login(client, username, password=PASSWORD):
    return client.post(LOGIN, {"username": username, "password": password}, format="json")


def test_login_answers_tokens_and_sets_cookies(api_client, reader):
    response = login(api_client, reader.username)
    assert response.status_code == 200
    body = response.json()
    assert body["user"]["id"] == reader.pk
    assert body["user"]["level_name"] == "Read Only"
    assert body["token_type"] == "Bearer"
    assert body["expires_in"] == 900
    assert response.cookies["rbas_access"].value == body["access_token"]
    assert response.cookies["rbas_refresh"].value
    assert response.cookies["csrftoken"].value


def test_login_accepts_the_username_in_any_case(api_client, reader):
    assert login(api_client, reader.username.upper()).status_code == 200


def test_cookie_attributes_by_default(api_client, reader):
    cookies = login(api_client, reader.username).cookies
    access, refresh, csrf = cookies["rbas_access"], cookies["rbas_refresh"], cookies["csrftoken"]
    assert access["httponly"] and refresh["httponly"]
    assert not csrf["httponly"]
    assert access["path"] == "/"
    assert refresh["path"] == "/api/auth/"
    assert access["samesite"] == refresh["samesite"] == csrf["samesite"] == "Lax"
    assert access["max-age"] == 15 * 60
    assert refresh["max-age"] == 7 * 24 * 3600
    assert not access["secure"] and not refresh["secure"]


def test_cookie_attributes_when_secure(api_client, reader, settings):
    settings.COOKIE_SECURE = True
    settings.CSRF_COOKIE_SECURE = True
    settings.COOKIE_SAMESITE = settings.CSRF_COOKIE_SAMESITE = "Strict"
    cookies = login(api_client, reader.username).cookies
    assert "rbas_access" not in cookies
    access, refresh = cookies["__Host-rbas_access"], cookies["__Secure-rbas_refresh"]
    assert access["secure"] and refresh["secure"] and cookies["csrftoken"]["secure"]
    assert access["path"] == "/"  # required of __Host- cookies
    assert not access["domain"]
    assert access["samesite"] == refresh["samesite"] == "Strict"
    api_client.cookies.pop("csrftoken")
    assert api_client.get(ME).status_code == 200


def test_access_lifetime_comes_from_settings(api_client, reader, settings):
    from datetime import timedelta

    settings.ACCESS_TOKEN_LIFETIME = timedelta(minutes=5)
    response = login(api_client, reader.username)
    assert response.json()["expires_in"] == 300
    assert response.cookies["rbas_access"]["max-age"] == 300


def test_login_failures_are_byte_identical(api_client, make_user):
    make_user(username="alice")
    make_user(username="sleeper", is_active=False)
    responses = [
        login(api_client, "nobody-here"),
        login(api_client, "alice", "wrong-password"),
        login(api_client, "sleeper"),
    ]
    assert {r.status_code for r in responses} == {401}
    assert len({r.content for r in responses}) == 1
    assert responses[0].json() == {"detail": "Invalid credentials."}
    assert {r["WWW-Authenticate"] for r in responses} == {'Bearer realm="api"'}
    assert not any(r.cookies.get("rbas_access") for r in responses)


def test_repeated_logins_for_one_username_are_throttled(api_client, reader):
    statuses = [login(api_client, reader.username, "wrong").status_code for _ in range(6)]
    assert statuses == [401] * 5 + [429]
    throttled = login(api_client, reader.username)
    assert throttled.status_code == 429
    assert int(throttled["Retry-After"]) > 0


def test_logins_from_one_address_are_throttled_across_usernames(api_client, db):
    statuses = [login(api_client, f"user{i}", "wrong").status_code for i in range(21)]
    assert statuses[:20] == [401] * 20
    assert statuses[20] == 429


def test_refresh_rotates_and_a_reused_token_revokes_the_session(api_client, reader):
    first = login(api_client, reader.username).json()
    old_refresh = api_client.cookies["rbas_refresh"].value
    csrf = api_client.cookies["csrftoken"].value
    rotated = api_client.post(REFRESH, HTTP_X_CSRFTOKEN=csrf)
    assert rotated.status_code == 200
    assert rotated.json()["access_token"] != first["access_token"]
    assert rotated.cookies["rbas_refresh"].value != old_refresh
    new_access = rotated.json()["access_token"]
    assert api_client.get(ME, HTTP_AUTHORIZATION=f"Bearer {new_access}").status_code == 200
    # The old refresh token is replayed, as a thief would: the whole session ends.
    replay = api_client.post(REFRESH, {"refresh": old_refresh}, format="json")
    assert replay.status_code == 401
    assert api_client.get(ME, HTTP_AUTHORIZATION=f"Bearer {new_access}").status_code == 401
    again = api_client.post(REFRESH, HTTP_X_CSRFTOKEN=csrf)
    assert again.status_code == 401


def test_refresh_from_the_cookie_needs_the_csrf_header(api_client, reader):
    login(api_client, reader.username)
    assert api_client.post(REFRESH).status_code == 403


def test_refresh_from_the_body_needs_no_csrf(api_client, reader):
    refresh = login(api_client, reader.username).cookies["rbas_refresh"].value
    fresh_client = type(api_client)(enforce_csrf_checks=True)
    assert fresh_client.post(REFRESH, {"refresh": refresh}, format="json").status_code == 200


def test_refresh_refuses_an_access_token(api_client, reader):
    access = login(api_client, reader.username).json()["access_token"]
    response = api_client.post(REFRESH, {"refresh": access}, format="json")
    assert response.status_code == 401


def test_refresh_without_any_token_is_401(api_client, db):
    response = api_client.post(REFRESH)
    assert response.status_code == 401
    assert response["WWW-Authenticate"] == 'Bearer realm="api"'


def test_refresh_of_a_deactivated_user_is_refused(api_client, reader):
    refresh = login(api_client, reader.username).cookies["rbas_refresh"].value
    reader.is_active = False
    reader.save()
    assert api_client.post(REFRESH, {"refresh": refresh}, format="json").status_code == 401


def test_logout_revokes_the_session_and_clears_cookies(api_client, reader):
    body = login(api_client, reader.username).json()
    refresh = api_client.cookies["rbas_refresh"].value
    csrf = api_client.cookies["csrftoken"].value
    response = api_client.post("/api/auth/logout/", HTTP_X_CSRFTOKEN=csrf)
    assert response.status_code == 204
    assert response.cookies["rbas_access"]["max-age"] == 0
    assert response.cookies["rbas_refresh"]["max-age"] == 0
    assert api_client.get(ME, HTTP_AUTHORIZATION=f"Bearer {body['access_token']}").status_code == (
        401
    )
    assert api_client.post(REFRESH, {"refresh": refresh}, format="json").status_code == 401


def test_logout_needs_authentication(api_client, db):
    assert api_client.post("/api/auth/logout/").status_code == 401


def test_logout_all_revokes_every_session(reader, bearer_client):
    laptop, phone = bearer_client(reader), bearer_client(reader)
    assert phone.post("/api/auth/logout-all/").status_code == 204
    assert laptop.get(ME).status_code == 401
    assert phone.get(ME).status_code == 401
    assert not LoginSession.objects.active().filter(user=reader).exists()


def test_password_change_keeps_this_session_and_ends_the_others(reader, bearer_client):
    current, other = bearer_client(reader), bearer_client(reader)
    new_password = "a-brand-new-passphrase-42"
    response = current.post(
        "/api/auth/password/",
        {"old_password": PASSWORD, "new_password": new_password},
        format="json",
    )
    assert response.status_code == 204
    assert current.get(ME).status_code == 200
    assert other.get(ME).status_code == 401
    reader.refresh_from_db()
    assert reader.check_password(new_password)


def test_password_change_needs_the_old_password(reader, bearer_client):
    response = bearer_client(reader).post(
        "/api/auth/password/",
        {"old_password": "wrong", "new_password": "a-brand-new-passphrase-42"},
        format="json",
    )
    assert response.status_code == 400
    assert "old_password" in response.json()


def test_password_change_validates_the_new_password(reader, bearer_client):
    response = bearer_client(reader).post(
        "/api/auth/password/", {"old_password": PASSWORD, "new_password": "123"}, format="json"
    )
    assert response.status_code == 400
    assert "new_password" in response.json()
    reader.refresh_from_db()
    assert reader.check_password(PASSWORD)


def test_every_login_failure_costs_one_password_hash(api_client, make_user, settings):
    """Unknown users are hashed too (Django's authenticate()), so timing tells nothing."""
    from tests.hashers import CountingHasher

    settings.PASSWORD_HASHERS = ["tests.hashers.CountingHasher"]
    make_user(username="alice")
    make_user(username="sleeper", is_active=False)
    costs = []
    for username, password in [("nobody", "x"), ("alice", "wrong"), ("sleeper", PASSWORD)]:
        CountingHasher.calls = 0
        assert login(api_client, username, password).status_code == 401
        costs.append(CountingHasher.calls)
    assert costs == [1, 1, 1]


@pytest.mark.parametrize(
    ("path", "body"),
    [
        (LOGIN, {"username": "a\x00b", "password": "x"}),
        ("/api/auth/signup/", {"username": "a\x00b", "email": "a@b.example", "password": "x"}),
        (REFRESH, {"refresh": "a\x00b"}),
    ],
)
def test_nul_characters_are_400(api_client, db, path, body):
    assert api_client.post(path, body, format="json").status_code == 400


def test_nul_characters_in_a_search_are_400(users, bearer_client):
    response = bearer_client(users[Level.ADMIN]).get("/api/users/", {"search": "a\x00b"})
    assert response.status_code == 400


def assert_never_cached(response) -> None:
    assert response.status_code == 200
    assert response["Cache-Control"] == "no-store"
    assert response["Pragma"] == "no-cache"


def test_responses_carrying_tokens_are_never_cached(api_client, reader):
    assert_never_cached(login(api_client, reader.username))
    csrf = api_client.cookies["csrftoken"].value
    assert_never_cached(api_client.post(REFRESH, HTTP_X_CSRFTOKEN=csrf))
    login(api_client, reader.username)
    refresh = api_client.cookies["rbas_refresh"].value
    fresh_client = type(api_client)(enforce_csrf_checks=True)
    assert_never_cached(fresh_client.post(REFRESH, {"refresh": refresh}, format="json"))
    legacy = {"username": reader.username, "password": PASSWORD}
    assert_never_cached(fresh_client.post("/user-auth/", legacy, format="json"))


LONG_S = "\u017f"  # LATIN SMALL LETTER LONG S: NFKC makes it "s"


def fullwidth(text: str) -> str:
    """`text` in fullwidth Latin letters (NFKC makes them plain ones)."""
    return "".join(chr(ord(char) + 0xFEE0) for char in text)


def test_look_alike_spellings_of_a_username_share_one_throttle_count(api_client, make_user):
    make_user(username="stefan")
    # The attacker spreads guesses over spellings that all name the same account.
    for spelling in ["stefan", LONG_S + "tefan", fullwidth("stefan"), "STEFAN", LONG_S + "TEFAN"]:
        assert login(api_client, spelling, "wrong-guess").status_code == 401
    assert login(api_client, fullwidth("STEFAN")).status_code == 429


def test_a_look_alike_spelling_signs_in_to_the_one_account(api_client, make_user):
    user = make_user(username="stefan")
    response = login(api_client, LONG_S + "tefan")
    assert response.status_code == 200 and response.json()["user"]["id"] == user.pk


def test_an_account_stored_before_normalisation_still_signs_in(api_client, db):
    legacy = User(username=LONG_S + "tefan", email="old@example.com")
    legacy.set_password(PASSWORD)
    legacy.save()
    response = login(api_client, LONG_S + "tefan")
    assert response.status_code == 200 and response.json()["user"]["id"] == legacy.pk


def test_a_flood_of_made_up_usernames_does_not_reset_a_throttled_count(make_user):
    make_user(username="victim")
    attacker = APIClient(REMOTE_ADDR="203.0.113.7")
    for _ in range(5):
        assert login(attacker, "victim", "wrong-guess").status_code == 401
    assert login(attacker, "victim").status_code == 429
    # Each attempt writes a count for its username, refused or not: 400 of them used to
    # overflow the cache's 300 entries, which evicted the oldest, the victim's count.
    for number in range(400):
        login(APIClient(REMOTE_ADDR=f"198.51.100.{number % 250}"), f"made-up-{number}", "x")
    assert login(APIClient(REMOTE_ADDR="192.0.2.1"), "victim").status_code == 429
