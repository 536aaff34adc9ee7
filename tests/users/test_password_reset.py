"""Password reset, from the attacker's side: asking reveals nothing about who has an account
(answer, queued work, queries, time), the asking is throttled per address and per client, and
a link works once, for one account, for a short while, and ends every session."""

import asyncio
import json
import statistics
import time
from datetime import timedelta

import pytest
from aiosmtpd.controller import Controller
from django.db import connection
from django.test.utils import CaptureQueriesContext
from rest_framework.test import APIClient
from rest_framework.throttling import SimpleRateThrottle

from tests.conftest import PASSWORD
from tests.users.mailflows import (
    GARBAGE_TOKENS,
    PUBLIC_URL,
    WRONG_TYPES,
    advance_link_clock,
    assert_account_email,
    client_at,
    free_port,
    point_at,
    queued,
    tampered,
    with_id,
)
from users import invitations, links
from users.models import LoginSession, User
from users.roles import Level

RESET = "/api/auth/password-reset/"
CONFIRM = "/api/auth/password-reset/confirm/"
LOGIN = "/api/auth/login/"
ME = "/api/auth/me/"
PAGE = "/reset-password"
NEW_PASSWORD = "a-brand-new-passphrase-77"


@pytest.fixture
def alice(make_user):
    return make_user(Level.WRITE, username="alice", email="alice@example.com")


@pytest.fixture
def generous_throttles(monkeypatch):
    """Rates no test here reaches, for tests about something else than the throttles."""
    rates = {
        **SimpleRateThrottle.THROTTLE_RATES,
        "password_reset_address": "10000/hour",
        "password_reset_email": "10000/hour",
    }
    monkeypatch.setattr(SimpleRateThrottle, "THROTTLE_RATES", rates)


def ask(email, client=None, **extra):
    return (client or APIClient()).post(RESET, {"email": email}, format="json", **extra)


def confirm(token, new_password=NEW_PASSWORD, client=None):
    # Serialised here: json.dumps escapes what the test client's renderer cannot encode.
    body = json.dumps({"token": token, "new_password": new_password})
    return (client or APIClient()).generic("POST", CONFIRM, body, content_type="application/json")


def login(username, password):
    return APIClient().post(LOGIN, {"username": username, "password": password}, format="json")


def reset_token(smtp, run_queued_tasks, user, count=1) -> str:
    """Ask for a link for `user` and return the token that arrives."""
    assert ask(user.email).status_code == 202
    run_queued_tasks()
    return smtp.wait_for(user.email, count).token


def test_the_reset_email_arrives_under_public_url_despite_a_forged_host(
    settings, alice, smtp, run_queued_tasks
):
    settings.PUBLIC_URL = PUBLIC_URL
    settings.ALLOWED_HOSTS = ["testserver", "evil.example"]
    response = ask(alice.email, APIClient(HTTP_HOST="evil.example"))
    assert response.status_code == 202
    assert run_queued_tasks() == 1
    received = smtp.wait_for(alice.email)
    assert received.recipients == ["alice@example.com"]
    token = assert_account_email(received, page=PAGE, lifetime="1 hour")
    assert "evil.example" not in received.text + received.html
    assert alice.username in received.text
    assert confirm(token).status_code == 204


def test_a_known_and_an_unknown_address_get_the_same_answer_and_queue_the_same_work(
    alice, smtp, run_queued_tasks
):
    with CaptureQueriesContext(connection) as known_queries:
        known = ask("alice@example.com", client_at("198.51.100.1"))
    with CaptureQueriesContext(connection) as unknown_queries:
        unknown = ask("nobody@example.com", client_at("198.51.100.2"))
    assert known.status_code == unknown.status_code == 202
    assert known.content == unknown.content
    headers = [{k: v for k, v in r.items() if k != "X-Request-ID"} for r in (known, unknown)]
    assert headers[0] == headers[1]
    # The request never looks for the account: the same statements, none on the users table.
    assert len(known_queries) == len(unknown_queries)
    statements = known_queries.captured_queries + unknown_queries.captured_queries
    assert not [q["sql"] for q in statements if "users_user" in q["sql"]]
    tasks = queued()
    assert [(t.task_path, t.priority, t.args_kwargs) for t in tasks] == [
        ("users.tasks.send_password_reset", 10, {"args": [], "kwargs": {"email": email}})
        for email in ("alice@example.com", "nobody@example.com")
    ]
    # The worker decides: a link for the account, nothing for the unknown address.
    assert run_queued_tasks() == 2
    assert [t.return_value for t in queued()] == ["sent", "no account"]
    smtp.wait_for("alice@example.com")
    assert not smtp.to("nobody@example.com")
    assert len(smtp.messages) == 1


class SlowMailHandler:
    """A mail server that takes 50 ms to accept each message (and keeps nothing)."""

    async def handle_DATA(self, server, session, envelope):
        await asyncio.sleep(0.05)
        return "250 2.0.0 OK"


@pytest.fixture
def slow_mail_server(settings):
    controller = Controller(SlowMailHandler(), hostname="127.0.0.1", port=free_port())
    controller.start()
    point_at(settings, controller)
    yield controller
    controller.stop()


def test_a_known_and_an_unknown_address_take_the_same_time(
    alice, generous_throttles, slow_mail_server
):
    """This holds because the request only validates the address and queues it: no query
    depends on whether an account uses it, and no password hashing or mail sending happens
    while the client waits (the worker does both later). The mail server takes 50 ms a
    message, so a request that sent the link itself would be that much slower for alice."""
    timings: dict[str, list[float]] = {"alice@example.com": [], "nobody@example.com": []}
    client = APIClient()
    for _ in range(3):  # warm up caches, URL resolution and the JSON parser
        ask("warm-up@example.com", client)
    for round_number in range(30):
        order = list(timings) if round_number % 2 else list(reversed(timings))
        for email in order:
            start = time.perf_counter()
            response = ask(email, client)
            timings[email].append(time.perf_counter() - start)
            assert response.status_code == 202
    known = statistics.median(timings["alice@example.com"])
    unknown = statistics.median(timings["nobody@example.com"])
    # Absolute: on a busy 2-core machine medians of ~2 ms can differ by half of themselves.
    assert abs(known - unknown) < 0.025, (known, unknown)


def test_asking_is_throttled_per_email_whatever_the_client_address(alice, db):
    # The per-email limit (PASSWORD_RESET_THROTTLE_PER_EMAIL, 3/hour) holds however the
    # address is spelt and wherever the requests come from.
    spellings = [
        "alice@example.com",
        "ALICE@example.com",
        " Alice@Example.COM",
        "alice@EXAMPLE.com",
    ]
    statuses = [ask(s, client_at(f"198.51.100.{n}")).status_code for n, s in enumerate(spellings)]
    assert statuses == [202, 202, 202, 429]
    throttled = ask("alice@example.com", client_at("192.0.2.200"))
    assert throttled.status_code == 429
    assert int(throttled["Retry-After"]) > 0
    assert len(queued("send_password_reset")) == 3
    # An unknown address is throttled exactly alike: a 429 reveals nothing either.
    unknown = [ask("nobody@example.com", client_at(f"203.0.113.{n}")) for n in range(4)]
    assert [r.status_code for r in unknown] == [202, 202, 202, 429]
    assert unknown[3].content == throttled.content


def test_asking_is_throttled_per_client_address_across_emails(db):
    attacker = client_at("203.0.113.9")
    statuses = [ask(f"target{n}@example.com", attacker).status_code for n in range(20)]
    assert statuses == [202] * 20
    throttled = ask("target20@example.com", attacker)
    assert throttled.status_code == 429 and int(throttled["Retry-After"]) > 0
    # A forged X-Forwarded-For is not a new client (NUM_PROXIES=0: no proxy is trusted).
    spoofed = ask("target21@example.com", attacker, HTTP_X_FORWARDED_FOR="192.0.2.77")
    assert spoofed.status_code == 429
    assert len(queued("send_password_reset")) == 20
    assert ask("target22@example.com", client_at("203.0.113.10")).status_code == 202


def test_look_alike_spellings_cannot_multiply_the_mails_to_one_address(
    make_user, smtp, run_queued_tasks
):
    """PostgreSQL's case-insensitive match takes a dotless i (U+0131) for an i, which the
    per-email throttle (NFKC, casefold) keeps apart: each spelling of the domain used to get
    its own 3 mails an hour to the one mailbox (15 here)."""
    victim = make_user(username="bob", email="bob@mail.digital.example")
    spellings = [
        "bob@mail.digital.example",
        "bob@ma\u0131l.digital.example",
        "bob@mail.d\u0131gital.example",
        "bob@mail.dig\u0131tal.example",
        "bob@ma\u0131l.d\u0131g\u0131tal.example",
    ]
    for number, spelling in enumerate(spellings):
        for attempt in range(3):
            ask(spelling, client_at(f"198.51.{number}.{attempt}"))
    run_queued_tasks()
    # Whatever was typed, mail only ever goes to the stored address, and at most 3 an hour.
    assert all(m.recipients == [victim.email] for m in smtp.messages)
    assert len(smtp.to(victim.email)) <= 3


def test_the_link_goes_to_the_stored_address_not_to_what_was_typed(alice, smtp, run_queued_tasks):
    assert ask("ALICE@EXAMPLE.COM").status_code == 202
    run_queued_tasks()
    received = smtp.wait_for("alice@example.com")
    assert received.recipients == ["alice@example.com"]
    assert received.message["To"] == "alice@example.com"


def test_a_link_works_once_and_a_second_link_dies_with_the_first_use(
    monkeypatch, alice, smtp, run_queued_tasks
):
    first = reset_token(smtp, run_queued_tasks, alice)
    advance_link_clock(monkeypatch, "password_reset", timedelta(minutes=2))
    second = reset_token(smtp, run_queued_tasks, alice, count=2)
    monkeypatch.undo()
    assert first != second
    assert confirm(first).status_code == 204
    replay = confirm(first, "yet-another-passphrase-88")
    assert replay.status_code == 400
    assert "not valid" in replay.json()["token"][0]
    # The password changed: every other link made before it is dead too.
    assert confirm(second, "yet-another-passphrase-88").status_code == 400
    alice.refresh_from_db()
    assert alice.check_password(NEW_PASSWORD)


def test_a_link_expires_after_password_reset_minutes(monkeypatch, alice, smtp, run_queued_tasks):
    token = reset_token(smtp, run_queued_tasks, alice)
    advance_link_clock(monkeypatch, "password_reset", timedelta(minutes=61))
    expired = confirm(token)
    assert expired.status_code == 400
    assert "expired" in expired.json()["token"][0]
    alice.refresh_from_db()
    assert alice.check_password(PASSWORD)
    advance_link_clock(monkeypatch, "password_reset", timedelta(minutes=59))
    assert confirm(token).status_code == 204


def test_a_link_is_bound_to_its_account(make_user, smtp, run_queued_tasks):
    victim = make_user(username="victim", email="victim@example.com")
    attacker = make_user(username="attacker", email="attacker@example.com")
    token = reset_token(smtp, run_queued_tasks, attacker)
    assert confirm(with_id(token, victim.pk)).status_code == 400
    assert confirm(tampered(token)).status_code == 400
    assert confirm(with_id(token, 10**9)).status_code == 400
    victim.refresh_from_db()
    attacker.refresh_from_db()
    assert victim.check_password(PASSWORD) and attacker.check_password(PASSWORD)
    assert login("victim", NEW_PASSWORD).status_code == 401
    # The genuine token still works for its own account.
    assert confirm(token).status_code == 204


@pytest.mark.parametrize("token", [*GARBAGE_TOKENS, *WRONG_TYPES])
def test_malformed_tokens_are_400_never_500(alice, token):
    response = confirm(token)
    assert response.status_code == 400, response.content
    alice.refresh_from_db()
    assert alice.check_password(PASSWORD)


def test_signing_in_kills_a_link(alice, smtp, run_queued_tasks):
    """Django's reset hash includes last_login: a sign-in after the link was made (by its owner,
    who remembered the password, or by anyone) makes it invalid."""
    token = reset_token(smtp, run_queued_tasks, alice)
    assert login("alice", PASSWORD).status_code == 200
    refused = confirm(token)
    assert refused.status_code == 400
    assert "not valid" in refused.json()["token"][0]
    alice.refresh_from_db()
    assert alice.check_password(PASSWORD)


def test_a_password_change_kills_a_link(alice, bearer_client, smtp, run_queued_tasks):
    client = bearer_client(alice)
    token = reset_token(smtp, run_queued_tasks, alice)
    changed = client.post(
        "/api/auth/password/",
        {"old_password": PASSWORD, "new_password": "changed-by-alice-99"},
        format="json",
    )
    assert changed.status_code == 204
    assert confirm(token).status_code == 400
    alice.refresh_from_db()
    assert alice.check_password("changed-by-alice-99")


def test_an_email_change_kills_a_link(alice, bearer_client, smtp, run_queued_tasks):
    client = bearer_client(alice)
    token = reset_token(smtp, run_queued_tasks, alice)
    assert client.patch(ME, {"email": "alice@new.example"}, format="json").status_code == 200
    assert confirm(token).status_code == 400


def test_a_weak_password_is_400_and_the_link_still_works(
    alice, bearer_client, smtp, run_queued_tasks
):
    client = bearer_client(alice)
    token = reset_token(smtp, run_queued_tasks, alice)
    for weak in ["password", "12345678901", "short", "alice-example"]:
        refused = confirm(token, weak)
        assert refused.status_code == 400, weak
        assert set(refused.json()) == {"new_password"}
    alice.refresh_from_db()
    assert alice.check_password(PASSWORD)
    assert client.get(ME).status_code == 200  # nothing ended
    assert confirm(token).status_code == 204


def test_a_reset_ends_every_session_and_swaps_the_passwords(
    alice, bearer_client, cookie_client, smtp, run_queued_tasks
):
    bearer = bearer_client(alice)
    browser = cookie_client(alice)
    assert bearer.get(ME).status_code == 200 and browser.get(ME).status_code == 200
    token = reset_token(smtp, run_queued_tasks, alice)
    assert confirm(token).status_code == 204
    assert bearer.get(ME).status_code == 401
    assert browser.get(ME).status_code == 401
    refresh = browser.post("/api/auth/refresh/", HTTP_X_CSRFTOKEN=browser.csrf)
    assert refresh.status_code == 401
    body_refresh = APIClient().post(
        "/api/auth/refresh/", {"refresh": bearer.issued.refresh.raw}, format="json"
    )
    assert body_refresh.status_code == 401
    sessions = LoginSession.objects.filter(user=alice)
    assert sessions.count() == 2
    assert set(sessions.values_list("revoked_reason", flat=True)) == {"password_reset"}
    assert login("alice", PASSWORD).status_code == 401
    assert login("alice", NEW_PASSWORD).status_code == 200


def test_a_reset_verifies_the_address_and_lifts_a_signups_limits(smtp, run_queued_tasks):
    signup = APIClient().post(
        "/api/auth/signup/",
        {"username": "forgetful", "email": "forgetful@example.com", "password": PASSWORD},
        format="json",
    )
    assert signup.status_code == 201
    user = User.objects.get(username="forgetful")
    run_queued_tasks()  # the verification link, which the user loses
    token = reset_token(smtp, run_queued_tasks, user, count=2)
    assert confirm(token).status_code == 204
    user.refresh_from_db()
    assert (user.email_verified, user.must_verify_email) == (True, False)


def test_an_inactive_user_gets_no_mail(make_user, smtp, run_queued_tasks):
    make_user(username="gone", email="gone@example.com", is_active=False)
    assert ask("gone@example.com").status_code == 202
    assert run_queued_tasks() == 1
    assert queued()[0].return_value == "no account"
    assert not smtp.messages


def test_a_link_dies_when_its_user_is_deactivated(
    alice, users, bearer_client, smtp, run_queued_tasks
):
    token = reset_token(smtp, run_queued_tasks, alice)
    owner = bearer_client(users[Level.OWNER])
    deactivated = owner.patch(f"/api/users/{alice.pk}/", {"is_active": False}, format="json")
    assert deactivated.status_code == 200
    refused = confirm(token)
    assert refused.status_code == 400
    alice.refresh_from_db()
    assert alice.check_password(PASSWORD)


@pytest.mark.parametrize(
    ("mode", "domains", "email", "gets_link"),
    [
        ("open", [], "sso@example.com", True),
        ("closed", [], "sso@example.com", False),
        ("domain", ["example.com"], "sso@example.com", True),
        ("domain", ["corp.example"], "sso@example.com", False),
    ],
)
def test_a_single_sign_on_account_gets_a_link_only_where_signup_would_be_allowed(
    settings, db, smtp, run_queued_tasks, mode, domains, email, gets_link
):
    settings.SIGNUP_MODE = mode
    settings.SIGNUP_ALLOWED_DOMAINS = domains
    user = User.objects.create_user("sso-user", email, password=None, email_verified=True)
    assert not user.has_usable_password()
    response = ask(email)
    assert response.status_code == 202
    assert response.json() == ask("unknown@example.com").json()
    run_queued_tasks()
    if not gets_link:
        assert not smtp.messages
        return
    assert confirm(smtp.wait_for(email).token).status_code == 204
    assert login("sso-user", NEW_PASSWORD).status_code == 200


def test_tokens_of_the_other_kinds_cannot_reset(users, make_user):
    user = make_user(username="target", email="target@example.com")
    invitation = invitations.invitation_create(
        actor=users[Level.OWNER], email="guest@example.com", level=Level.READ_ONLY
    )
    forged = [
        links.make_token("email_verification", user),
        with_id(links.make_token("invitation", invitation), user.pk),
    ]
    for token in forged:
        assert confirm(token).status_code == 400
    user.refresh_from_db()
    assert user.check_password(PASSWORD)


def test_the_confirm_endpoint_is_throttled_per_address(alice):
    attacker = client_at("203.0.113.5")
    statuses = [confirm(f"MQ.guess-{n}", client=attacker).status_code for n in range(31)]
    assert statuses == [400] * 30 + [429]
    assert confirm("MQ.guess", client=client_at("203.0.113.6")).status_code == 400


@pytest.mark.parametrize("field", ["password", "new_password"])
def test_patching_a_password_into_me_is_400_naming_the_right_endpoints(alice, bearer_client, field):
    response = bearer_client(alice).patch(
        ME, {"first_name": "Mallory", field: "sneaky-new-passphrase-1"}, format="json"
    )
    assert response.status_code == 400
    message = response.json()[field][0]
    assert "/api/auth/password/" in message and "/api/auth/password-reset/" in message
    alice.refresh_from_db()
    assert alice.check_password(PASSWORD) and alice.first_name == ""


def test_an_admin_cannot_set_a_password_through_the_user_api(alice, users, bearer_client):
    response = bearer_client(users[Level.OWNER]).patch(
        f"/api/users/{alice.pk}/",
        {"last_name": "Changed", "password": "admin-chosen-passphrase-3"},
        format="json",
    )
    assert response.status_code == 400
    assert "/api/auth/password-reset/" in response.json()["password"][0]
    alice.refresh_from_db()
    assert alice.check_password(PASSWORD) and alice.last_name == ""
