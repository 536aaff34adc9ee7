"""Invitations, from the attacker's side: only admins invite, within the assignment rules; a
link makes one account, at the invited level and address, once, and dies when the invitation
changes or its inviter may no longer grant it."""

import json
from datetime import timedelta

import pytest
from django.db import IntegrityError, connection, transaction
from django.utils import timezone
from rest_framework.test import APIClient

from tests.threads import run_together
from tests.users.mailflows import (
    GARBAGE_TOKENS,
    PUBLIC_URL,
    WRONG_TYPES,
    advance_link_clock,
    assert_account_email,
    queued,
    tampered,
    with_id,
)
from users import invitations, links
from users.models import Invitation, User
from users.roles import Level

LIST = "/api/invitations/"
PREVIEW = "/api/invitations/preview/"
ACCEPT = "/api/invitations/accept/"
PAGE = "/invitation"
CHOSEN = "a-passphrase-the-invitee-chose"


def detail(pk: int) -> str:
    return f"{LIST}{pk}/"


def invite(client, email="newcomer@example.com", level=Level.WRITE):
    return client.post(LIST, {"email": email, "level": int(level)}, format="json")


def post_json(path, body):
    # Serialised here: json.dumps escapes what the test client's renderer cannot encode.
    return APIClient().generic("POST", path, json.dumps(body), content_type="application/json")


def preview(token):
    return post_json(PREVIEW, {"token": token})


def accept(token, username="newcomer", password=CHOSEN, **extra):
    return post_json(ACCEPT, {"token": token, "username": username, "password": password, **extra})


@pytest.fixture
def owner(users):
    return users[Level.OWNER]


@pytest.fixture
def admin(users):
    return users[Level.ADMIN]


@pytest.fixture
def invited(admin, bearer_client, smtp, run_queued_tasks):
    """An admin's pending Read/Write invitation, delivered: (invitation, token)."""
    created = invite(bearer_client(admin))
    assert created.status_code == 201, created.content
    run_queued_tasks()
    invitation = Invitation.objects.get(pk=created.json()["id"])
    return invitation, smtp.wait_for(invitation.email).token


def test_the_whole_flow(settings, owner, admin, bearer_client, smtp, run_queued_tasks):
    settings.PUBLIC_URL = PUBLIC_URL
    settings.ALLOWED_HOSTS = ["testserver", "evil.example"]
    User.objects.filter(pk=admin.pk).update(first_name="Ada", last_name="Admin")
    client = bearer_client(admin)
    created = client.post(
        LIST, {"email": "Newcomer@Example.com", "level": 3}, format="json", HTTP_HOST="evil.example"
    )
    assert created.status_code == 201
    body = created.json()
    assert (body["email"], body["level"], body["status"], body["send_count"]) == (
        "Newcomer@Example.com",
        3,
        "pending",
        1,
    )
    assert body["invited_by"] == admin.username and body["delivered_at"] is None
    assert body["user"] is None and body["accepted_at"] is None
    assert [t.priority for t in queued("send_invitation")] == [10]
    assert run_queued_tasks() == 1
    received = smtp.wait_for("newcomer@example.com")
    token = assert_account_email(received, page=PAGE, lifetime="7 days")
    assert "Ada Admin" in received.text and "Read/Write" in received.text
    assert "evil.example" not in received.text + received.html
    delivered = client.get(detail(body["id"])).json()
    assert delivered["delivered_at"] is not None and delivered["delivery_error"] == ""
    # The admin's views never carry the link: only the invited mailbox does.
    listing = client.get(LIST)
    for response in (created, listing, client.get(detail(body["id"]))):
        assert token.partition(".")[2] not in response.content.decode()

    shown = preview(token)
    assert shown.status_code == 200
    assert shown.json() | {"expires_at": None} == {
        "email": "Newcomer@Example.com",
        "level": 3,
        "level_name": "Read/Write",
        "invited_by": "Ada Admin",
        "expires_at": None,
    }
    # The invitee tries to choose a level, an address and privileges of their own.
    accepted = accept(
        token,
        first_name="New",
        level=0,
        email="attacker@example.com",
        is_staff=True,
        is_superuser=True,
    )
    assert accepted.status_code == 201, accepted.content
    user = User.objects.get(pk=accepted.json()["user"]["id"])
    assert (user.username, user.email, user.level, user.first_name) == (
        "newcomer",
        "Newcomer@Example.com",
        Level.WRITE,
        "New",
    )
    assert (user.is_staff, user.is_superuser, user.email_verified) == (False, False, True)
    assert not user.must_verify_email
    signed_in = APIClient().post(
        "/api/auth/login/", {"username": "newcomer", "password": CHOSEN}, format="json"
    )
    assert signed_in.status_code == 200
    me = APIClient().get(
        "/api/auth/me/", HTTP_AUTHORIZATION=f"Bearer {signed_in.json()['access_token']}"
    )
    assert me.json()["policies"] == ["authenticated", "staff"]
    after = client.get(detail(body["id"])).json()
    assert (after["status"], after["user"]) == ("accepted", user.pk)
    # The link is spent.
    assert accept(token, username="second").status_code == 400
    assert preview(token).status_code == 400
    assert User.objects.filter(username="second").count() == 0


def test_an_inviters_name_is_escaped_in_the_html(admin, bearer_client, smtp, run_queued_tasks):
    User.objects.filter(pk=admin.pk).update(first_name="<img src=https://evil.example/p.gif>")
    assert invite(bearer_client(admin)).status_code == 201
    run_queued_tasks()
    html = smtp.wait_for("newcomer@example.com").html
    assert "<img" not in html and "&lt;img" in html


@pytest.mark.parametrize("level", [Level.OWNER, Level.ADMIN])
def test_an_admin_cannot_invite_at_owner_or_admin_level(admin, bearer_client, level):
    response = invite(bearer_client(admin), level=level)
    assert response.status_code == 403
    assert response.data["detail"].code == "level_not_grantable"
    assert not Invitation.objects.exists() and not queued()


@pytest.mark.parametrize("level", list(Level))
def test_an_owner_may_invite_at_any_level(owner, bearer_client, level):
    assert invite(bearer_client(owner), level=level).status_code == 201


@pytest.mark.parametrize("action", ["resend", "revoke"])
def test_an_admin_cannot_resend_or_revoke_an_owners_admin_level_invitation(
    owner, admin, bearer_client, action
):
    created = invite(bearer_client(owner), level=Level.ADMIN).json()
    before = Invitation.objects.get(pk=created["id"])
    refused = bearer_client(admin).post(f"{detail(created['id'])}{action}/")
    assert refused.status_code == 403
    after = Invitation.objects.get(pk=created["id"])
    assert (after.send_count, after.revoked_at, after.expires_at) == (
        before.send_count,
        None,
        before.expires_at,
    )
    assert len(queued("send_invitation")) == 1
    # The owner may.
    assert bearer_client(owner).post(f"{detail(created['id'])}{action}/").status_code == 200


def test_an_admin_resends_and_revokes_what_they_may_grant(owner, admin, bearer_client):
    created = invite(bearer_client(owner), level=Level.READ_ONLY).json()
    client = bearer_client(admin)
    assert client.post(f"{detail(created['id'])}resend/").status_code == 200
    assert client.post(f"{detail(created['id'])}revoke/").status_code == 200


def admin_endpoints(pk):
    return [
        ("get", LIST, None),
        ("post", LIST, {"email": "x@example.com", "level": 4}),
        ("get", detail(pk), None),
        ("post", f"{detail(pk)}resend/", None),
        ("post", f"{detail(pk)}revoke/", None),
    ]


@pytest.mark.parametrize("level", [Level.INVESTOR, Level.WRITE, Level.READ_ONLY])
def test_users_below_admin_are_403_everywhere(users, owner, bearer_client, level):
    pk = invite(bearer_client(owner), level=Level.READ_ONLY).json()["id"]
    client = bearer_client(users[level])
    for method, path, body in admin_endpoints(pk):
        response = getattr(client, method)(path, body, format="json")
        assert response.status_code == 403, (method, path)
        assert response.data["detail"].code == "policy_denied"
    invitation = Invitation.objects.get(pk=pk)
    assert (invitation.send_count, invitation.revoked_at) == (1, None)
    assert Invitation.objects.count() == 1


def test_anonymous_callers_are_401_everywhere(owner, bearer_client, api_client):
    pk = invite(bearer_client(owner)).json()["id"]
    for method, path, body in admin_endpoints(pk):
        response = getattr(api_client, method)(path, body, format="json")
        assert response.status_code == 401, (method, path)
        assert response["WWW-Authenticate"] == 'Bearer realm="api"'
    assert Invitation.objects.count() == 1


def test_a_limited_signup_at_admin_level_cannot_invite(owner, bearer_client, make_user):
    """An owner promoting an unverified signup does not let it invite before verifying."""
    pending = make_user(Level.ADMIN, username="pending", must_verify_email=True)
    response = invite(bearer_client(pending))
    assert response.status_code == 403
    assert response.data["detail"].code == "email_unverified"


def test_inviting_an_address_that_has_an_account_is_400(admin, users, bearer_client):
    taken = users[Level.READ_ONLY].email.upper()
    response = invite(bearer_client(admin), email=taken)
    assert response.status_code == 400 and "email" in response.json()
    assert not Invitation.objects.exists()


def test_a_second_invitation_while_one_is_pending_is_409(admin, bearer_client):
    client = bearer_client(admin)
    assert invite(client).status_code == 201
    duplicate = invite(client, email="NEWCOMER@example.COM", level=Level.READ_ONLY)
    assert duplicate.status_code == 409
    assert duplicate.data["detail"].code == "already_invited"
    assert Invitation.objects.count() == 1 and len(queued()) == 1


def test_a_revoked_or_expired_invitation_can_be_replaced(
    admin, bearer_client, smtp, run_queued_tasks
):
    client = bearer_client(admin)
    first = invite(client).json()
    run_queued_tasks()
    first_token = smtp.wait_for("newcomer@example.com").token
    Invitation.objects.filter(pk=first["id"]).update(
        expires_at=timezone.now() - timedelta(minutes=1)
    )
    assert client.get(detail(first["id"])).json()["status"] == "expired"
    second = invite(client)
    assert second.status_code == 201
    # The expired one is closed (revoked), so its link can never come back by a resend.
    assert client.get(detail(first["id"])).json()["status"] == "revoked"
    assert client.post(f"{detail(first['id'])}resend/").status_code == 409
    assert preview(first_token).status_code == 400
    assert client.post(f"{detail(second.json()['id'])}revoke/").status_code == 200
    assert invite(client).status_code == 201
    assert Invitation.objects.open().count() == 1


def test_the_database_refuses_two_open_invitations_for_one_address(admin, db):
    now = timezone.now()
    fields = {"level": Level.WRITE, "invited_by": admin, "expires_at": now + timedelta(days=7)}
    Invitation.objects.create(email="twice@example.com", **fields)
    with pytest.raises(IntegrityError), transaction.atomic():
        Invitation.objects.create(email="TWICE@example.com", **fields)
    # Closed ones do not count.
    Invitation.objects.filter(email="twice@example.com").update(revoked_at=now)
    Invitation.objects.create(email="twice@example.com", **fields)


@pytest.mark.skipif(connection.vendor != "postgresql", reason="needs concurrent connections")
@pytest.mark.parametrize("attempt", range(3))
def test_concurrent_invitations_of_one_address_make_one(transactional_db, make_user, attempt):
    first, second = make_user(Level.OWNER), make_user(Level.ADMIN)
    outcomes = run_together(
        lambda: invitations.invitation_create(actor=first, email="race@example.com", level=4),
        lambda: invitations.invitation_create(actor=second, email="Race@example.com", level=3),
    )
    assert sorted(type(o).__name__ for o in outcomes) == ["Conflict", "Invitation"]
    assert Invitation.objects.count() == 1
    assert len(queued("send_invitation")) == 1


@pytest.mark.skipif(connection.vendor != "postgresql", reason="needs concurrent connections")
@pytest.mark.parametrize("attempt", range(3))
def test_a_link_accepted_twice_at_once_makes_one_account(transactional_db, make_user, attempt):
    inviter = make_user(Level.OWNER)
    invitation = invitations.invitation_create(actor=inviter, email="race@example.com", level=4)
    token = links.make_token("invitation", invitation)
    outcomes = run_together(
        lambda: invitations.invitation_accept(token=token, username="one", password=CHOSEN),
        lambda: invitations.invitation_accept(token=token, username="two", password=CHOSEN),
    )
    assert sorted(type(o).__name__ for o in outcomes) == ["User", "ValidationError"]
    assert User.objects.filter(email="race@example.com").count() == 1


def test_accepting_with_a_taken_username_writes_nothing(invited, users):
    invitation, token = invited
    taken = users[Level.READ_ONLY].username.upper()
    refused = accept(token, username=taken)
    assert refused.status_code == 400 and "username" in refused.json()
    invitation.refresh_from_db()
    assert invitation.status == "pending" and invitation.user is None
    assert not User.objects.filter(email__iexact=invitation.email).exists()
    assert accept(token).status_code == 201


@pytest.mark.parametrize("password", ["password", "12345678901", "short", "newcomer1"])
def test_accepting_with_a_weak_password_writes_nothing(invited, password):
    invitation, token = invited
    refused = accept(token, password=password)
    assert refused.status_code == 400 and "password" in refused.json()
    assert not User.objects.filter(email__iexact=invitation.email).exists()
    assert accept(token).status_code == 201


def test_accepting_after_someone_took_the_address_is_409(invited, users, bearer_client):
    invitation, token = invited
    # Another user moves to the invited address before the invitee accepts.
    mover = users[Level.READ_ONLY]
    moved = bearer_client(mover).patch(
        "/api/auth/me/", {"email": "NEWCOMER@example.com"}, format="json"
    )
    assert moved.status_code == 200
    refused = accept(token)
    assert refused.status_code == 409
    assert refused.data["detail"].code == "email_taken"
    invitation.refresh_from_db()
    assert invitation.status == "pending"
    assert not User.objects.filter(username="newcomer").exists()


def test_a_deactivated_inviter_kills_the_link(invited, owner, admin, bearer_client):
    _, token = invited
    response = bearer_client(owner).patch(
        f"/api/users/{admin.pk}/", {"is_active": False}, format="json"
    )
    assert response.status_code == 200
    assert preview(token).status_code == 400
    assert accept(token).status_code == 400
    assert not User.objects.filter(username="newcomer").exists()


def test_a_deleted_inviter_kills_the_link(invited, admin):
    _, token = invited
    admin.delete()
    assert preview(token).status_code == 400
    assert accept(token).status_code == 400


@pytest.mark.parametrize("demoted_to", [Level.WRITE, Level.READ_ONLY, Level.INVESTOR])
def test_an_inviter_demoted_below_admin_kills_the_link(
    invited, owner, admin, bearer_client, demoted_to
):
    _, token = invited
    demoted = bearer_client(owner).patch(
        f"/api/users/{admin.pk}/", {"level": int(demoted_to)}, format="json"
    )
    assert demoted.status_code == 200
    assert preview(token).status_code == 400
    assert accept(token).status_code == 400
    assert not User.objects.filter(username="newcomer").exists()


def test_an_owner_demoted_to_admin_cannot_have_an_admin_invited(
    make_user, users, bearer_client, smtp, run_queued_tasks
):
    boss = make_user(Level.OWNER, username="boss")
    created = invite(bearer_client(boss), level=Level.ADMIN)
    run_queued_tasks()
    token = smtp.wait_for("newcomer@example.com").token
    response = bearer_client(users[Level.OWNER]).patch(
        f"/api/users/{boss.pk}/", {"level": int(Level.ADMIN)}, format="json"
    )
    assert response.status_code == 200
    assert accept(token).status_code == 400
    assert Invitation.objects.get(pk=created.json()["id"]).status == "pending"


def test_resending_makes_a_new_link_and_kills_the_old(
    invited, admin, bearer_client, smtp, run_queued_tasks
):
    invitation, old_token = invited
    Invitation.objects.filter(pk=invitation.pk).update(
        sent_at=timezone.now() - timedelta(days=6), expires_at=timezone.now() + timedelta(days=1)
    )
    resent = bearer_client(admin).post(f"{detail(invitation.pk)}resend/")
    assert resent.status_code == 200
    body = resent.json()
    assert body["send_count"] == 2 and body["delivered_at"] is None
    renewed = timezone.now() + timedelta(days=7)
    assert abs(Invitation.objects.get(pk=invitation.pk).expires_at - renewed) < timedelta(minutes=1)
    assert run_queued_tasks() == 1
    new_token = smtp.wait_for(invitation.email, 2).token
    assert new_token != old_token
    assert preview(old_token).status_code == 400
    assert accept(old_token).status_code == 400
    assert accept(new_token).status_code == 201


def test_revoking_kills_the_link(invited, admin, bearer_client):
    invitation, token = invited
    client = bearer_client(admin)
    revoked = client.post(f"{detail(invitation.pk)}revoke/")
    assert revoked.status_code == 200 and revoked.json()["status"] == "revoked"
    assert preview(token).status_code == 400
    assert accept(token).status_code == 400
    assert client.post(f"{detail(invitation.pk)}revoke/").status_code == 200  # harmless
    assert client.post(f"{detail(invitation.pk)}resend/").status_code == 409
    assert not User.objects.filter(username="newcomer").exists()


def test_an_accepted_invitation_cannot_be_revoked_or_resent(invited, admin, bearer_client):
    invitation, token = invited
    assert accept(token).status_code == 201
    client = bearer_client(admin)
    for action in ("revoke", "resend"):
        refused = client.post(f"{detail(invitation.pk)}{action}/")
        assert refused.status_code == 409
        assert refused.data["detail"].code == "invitation_accepted"
    assert User.objects.get(username="newcomer").is_active


def test_a_link_expires_with_its_invitation(invited):
    invitation, token = invited
    Invitation.objects.filter(pk=invitation.pk).update(
        expires_at=timezone.now() - timedelta(seconds=1)
    )
    refused = accept(token)
    assert refused.status_code == 400
    assert "expired" in refused.json()["token"][0]
    assert preview(token).status_code == 400
    assert not User.objects.filter(username="newcomer").exists()


def test_a_link_a_week_old_says_it_expired(invited, monkeypatch):
    invitation, token = invited
    # A week and a minute later, on both clocks (the token's and the invitation's).
    week = timedelta(days=7, minutes=1)
    Invitation.objects.filter(pk=invitation.pk).update(
        sent_at=invitation.sent_at - week, expires_at=invitation.expires_at - week
    )
    advance_link_clock(monkeypatch, "invitation", week)
    refused = accept(token)
    assert refused.status_code == 400
    assert "expired" in refused.json()["token"][0]


def test_a_link_is_bound_to_its_invitation(owner, bearer_client, smtp, run_queued_tasks):
    client = bearer_client(owner)
    mine = invite(client, email="attacker@example.com", level=Level.READ_ONLY).json()
    theirs = invite(client, email="victim@example.com", level=Level.OWNER).json()
    run_queued_tasks()
    token = smtp.wait_for("attacker@example.com").token
    # The attacker's genuine read-only token relabelled with the owner-level invitation's id.
    for forged in (with_id(token, theirs["id"]), tampered(token), with_id(token, 10**9)):
        assert preview(forged).status_code == 400
        assert accept(forged).status_code == 400
    assert not User.objects.filter(username="newcomer").exists()
    accepted = accept(token)
    assert accepted.status_code == 201
    assert accepted.json()["user"]["level"] == Level.READ_ONLY
    assert Invitation.objects.get(pk=mine["id"]).status == "accepted"


def test_a_token_of_another_kind_is_refused(invited, make_user):
    invitation, _ = invited
    # A verification token whose id happens to be the invitation's.
    user = make_user()
    forged = with_id(links.make_token("email_verification", user), invitation.pk)
    assert preview(forged).status_code == 400
    assert accept(forged).status_code == 400


@pytest.mark.parametrize("token", [*GARBAGE_TOKENS, *WRONG_TYPES])
def test_malformed_tokens_are_400_never_500(invited, token):
    assert preview(token).status_code == 400
    assert accept(token).status_code == 400
    assert not User.objects.filter(username="newcomer").exists()


def test_the_list_filters_by_status_and_address(owner, bearer_client):
    client = bearer_client(owner)
    pending = invite(client, email="pending@example.com").json()
    revoked = invite(client, email="revoked@example.com").json()
    client.post(f"{detail(revoked['id'])}revoke/")
    expired = invite(client, email="expired@example.com").json()
    Invitation.objects.filter(pk=expired["id"]).update(expires_at=timezone.now())

    def ids(**query):
        return [row["id"] for row in client.get(LIST, query).json()["results"]]

    assert ids(status="pending") == [pending["id"]]
    assert ids(status="revoked") == [revoked["id"]]
    assert ids(status="expired") == [expired["id"]]
    assert ids(search="REVOKED@") == [revoked["id"]]
    assert ids() == [expired["id"], revoked["id"], pending["id"]]
    assert client.get(LIST, {"status": "everything"}).status_code == 400
    assert client.get(detail(10**9)).status_code == 404


def test_preview_and_accept_need_no_session_and_ignore_one(invited, bearer_client, users):
    """The public endpoints ignore any credential: a signed-in owner following the link does
    not make the account as, or for, themselves."""
    invitation, token = invited
    owner_client = bearer_client(users[Level.OWNER])
    accepted = owner_client.post(
        ACCEPT, {"token": token, "username": "newcomer", "password": CHOSEN}, format="json"
    )
    assert accepted.status_code == 201
    assert accepted.json()["user"]["level"] == Level.WRITE
    assert User.objects.get(username="newcomer").email == invitation.email
