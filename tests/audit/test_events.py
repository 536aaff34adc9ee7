"""Every audited action, driven through the real API, leaves its event with the actor, the
target, the client's address and the request's id, and no event holds a secret value, a
password or a token."""

import json
import textwrap

import pytest
from cryptography.fernet import Fernet

from audit.models import AuditEvent
from scripts_api.models import Run
from scripts_api.services import scripts_sync
from tests.conftest import PASSWORD
from users.models import Invitation
from users.roles import Level

ADDRESS = "203.0.113.7"
KEY = Fernet.generate_key().decode()
VALUE = "s3cr3t-crm-value-0b9e51"
CHANGED = "s3cr3t-crm-value-changed-77aa"
WRONG = "a-wrong-password-e41d"
INVITEE_PASSWORD = "an-invitee-passphrase-93c1"

READER = '''
    """Read a secret

    Declares CRM_TOKEN.
    """
    import os

    POLICY = "authenticated"
    SECRETS = ["CRM_TOKEN"]

    def main():
        return len(os.environ["CRM_TOKEN"])
'''


class Caller:
    """Requests from one address, each with its own request id, remembered by name."""

    def __init__(self, client):
        self.client = client
        self.count = 0

    def __call__(self, method: str, path: str, body=None, **extra):
        self.count += 1
        rid = f"audit-test-{self.count}"
        response = getattr(self.client, method)(
            path, body, format="json", HTTP_X_REQUEST_ID=rid, REMOTE_ADDR=ADDRESS, **extra
        )
        response.rid = rid
        return response


def only(event: str, **filters) -> AuditEvent:
    rows = list(AuditEvent.objects.filter(event=event, **filters))
    assert len(rows) == 1, (event, rows)
    return rows[0]


def assert_from_request(event: AuditEvent, response, actor) -> None:
    assert event.request_id == response.rid
    assert event.client_address == ADDRESS
    assert event.actor_id == (actor.pk if actor else None)
    assert event.actor_username == (actor.username if actor else "")


@pytest.fixture
def reader_catalog(catalog, settings):
    settings.SECRETS_ENCRYPTION_KEYS = [KEY]
    (catalog / "reader.py").write_text(textwrap.dedent(READER))
    assert not scripts_sync().rejected
    return catalog


def test_every_audited_action_is_recorded_with_who_what_where_and_which_request(
    users, api_client, bearer_client, reader_catalog, smtp, run_queued_tasks
):
    owner, reader = users[Level.OWNER], users[Level.READ_ONLY]
    anonymous = Caller(api_client)

    signed_in = anonymous(
        "post",
        "/api/auth/login/",
        {"username": owner.username, "password": PASSWORD, "token_delivery": "body"},
    )
    assert signed_in.status_code == 200
    event = only("auth.login", client_address=ADDRESS)
    assert_from_request(event, signed_in, owner)
    assert (event.target_type, event.target_id, event.data) == ("user", str(owner.pk), {
        "method": "password"
    })  # fmt: skip

    failed = anonymous("post", "/api/auth/login/", {"username": owner.username, "password": WRONG})
    assert failed.status_code == 401
    event = only("auth.login_failed")
    assert_from_request(event, failed, None)
    assert event.target_label == owner.username

    call = Caller(api_client)
    api_client.credentials(HTTP_AUTHORIZATION=f"Bearer {signed_in.json()['access_token']}")

    promoted = call("patch", f"/api/users/{reader.pk}/", {"level": Level.WRITE})
    assert promoted.status_code == 200
    event = only("user.level_changed")
    assert_from_request(event, promoted, owner)
    assert (event.target_id, event.data) == (str(reader.pk), {"from": 4, "to": 3})
    deactivated = call("patch", f"/api/users/{reader.pk}/", {"is_active": False})
    assert_from_request(only("user.deactivated", target_id=str(reader.pk)), deactivated, owner)
    activated = call("patch", f"/api/users/{reader.pk}/", {"is_active": True})
    assert_from_request(only("user.activated", target_id=str(reader.pk)), activated, owner)

    invited = call("post", "/api/invitations/", {"email": "new@example.com", "level": 3})
    assert invited.status_code == 201
    assert_from_request(only("invitation.created"), invited, owner)
    run_queued_tasks()
    link_token = smtp.wait_for("new@example.com").token
    accepted = anonymous(
        "post",
        "/api/invitations/accept/",
        {"token": link_token, "username": "newcomer", "password": INVITEE_PASSWORD},
    )
    assert accepted.status_code == 201, accepted.content
    event = only("invitation.accepted")
    assert event.actor.username == "newcomer"
    assert (event.request_id, event.client_address) == (accepted.rid, ADDRESS)
    second = call("post", "/api/invitations/", {"email": "other@example.com", "level": 4})
    revoked = call("post", f"/api/invitations/{second.json()['id']}/revoke/")
    assert revoked.status_code == 200
    event = only("invitation.revoked")
    assert_from_request(event, revoked, owner)
    assert event.target_id == str(Invitation.objects.get(email="other@example.com").pk)

    token = call("post", "/api/tokens/", {"name": "ci"})
    assert token.status_code == 201
    assert_from_request(only("token.created"), token, owner)
    gone = call("delete", f"/api/tokens/{token.json()['id']}/")
    assert gone.status_code == 204
    assert_from_request(only("token.revoked", target_id=str(token.json()["id"])), gone, owner)

    app = call(
        "post",
        "/api/oauth/applications/",
        {"name": "Wiki", "client_type": "confidential",
         "authorization_grant_type": "authorization-code",
         "redirect_uris": ["https://wiki.example.com/cb"]},
    )  # fmt: skip
    assert app.status_code == 201
    assert_from_request(only("oauth_app.created"), app, owner)
    removed = call("delete", f"/api/oauth/applications/{app.json()['id']}/")
    assert removed.status_code == 204
    assert_from_request(only("oauth_app.deleted"), removed, owner)

    stored = call("post", "/api/secrets/", {"name": "CRM_TOKEN", "value": VALUE})
    assert stored.status_code == 201
    assert_from_request(only("secret.created", target_label="CRM_TOKEN"), stored, owner)
    changed = call("patch", "/api/secrets/CRM_TOKEN/", {"value": CHANGED})
    assert changed.status_code == 200
    event = only("secret.changed")
    assert_from_request(event, changed, owner)
    assert event.data["fields"] == ["value"]

    started = call("post", "/api/scripts/reader/runs/", {})
    assert started.status_code == 202, started.content
    run_id = started.json()["id"]
    event = only("run.started", target_id=run_id)
    assert_from_request(event, started, owner)
    assert event.data == {"script": "reader"}
    run_queued_tasks()
    assert Run.objects.get(pk=run_id).result == len(CHANGED)
    event = only("secret.read")
    assert (event.target_label, event.data, event.actor_id) == (
        "CRM_TOKEN", {"run": run_id}, owner.pk
    )  # fmt: skip

    queued = call("post", "/api/scripts/sleepy/runs/", {"params": {"seconds": 1}})
    cancelled = call("post", f"/api/runs/{queued.json()['id']}/cancel/")
    assert cancelled.status_code == 202
    event = only("run.cancelled")
    assert_from_request(event, cancelled, owner)
    assert (event.target_id, event.data) == (queued.json()["id"], {"was_queued": True})

    deleted = call("delete", "/api/secrets/CRM_TOKEN/")
    assert deleted.status_code == 204
    assert_from_request(only("secret.deleted"), deleted, owner)

    # Nothing secret anywhere in the table: values, passwords, tokens, client secrets.
    everything = json.dumps(list(AuditEvent.objects.values()), default=str)
    for credential in (
        VALUE, CHANGED, PASSWORD, WRONG, INVITEE_PASSWORD, link_token,
        signed_in.json()["access_token"], signed_in.json()["refresh_token"],
        token.json()["token"], app.json()["client_secret"],
    ):  # fmt: skip
        assert credential not in everything


def test_an_event_carrying_a_credential_is_refused(db):
    from audit import services as audit

    with pytest.raises(ValueError, match="credentials"):
        audit.record("secret.changed", value="x")
    with pytest.raises(ValueError):
        audit.record("auth.login", password="x")
    assert not AuditEvent.objects.exists()


def test_a_failed_change_leaves_no_event(users, bearer_client):
    owner = users[Level.OWNER]
    # The last active owner cannot demote themself: nothing changes, nothing is recorded.
    response = bearer_client(owner).patch(f"/api/users/{owner.pk}/", {"level": 4}, format="json")
    assert response.status_code == 403
    assert not AuditEvent.objects.filter(event__startswith="user.").exists()


def test_the_address_follows_num_proxies_so_a_forged_header_is_not_believed(
    users, api_client, settings
):
    owner = users[Level.OWNER]
    body = {"username": owner.username, "password": WRONG}
    forged = {"REMOTE_ADDR": ADDRESS, "HTTP_X_FORWARDED_FOR": "198.51.100.66"}
    api_client.post("/api/auth/login/", body, format="json", **forged)
    settings.REST_FRAMEWORK = {**settings.REST_FRAMEWORK, "NUM_PROXIES": 1}
    api_client.post("/api/auth/login/", body, format="json", **forged)
    addresses = list(
        AuditEvent.objects.filter(event="auth.login_failed")
        .order_by("created_at")
        .values_list("client_address", flat=True)
    )
    # No proxy trusted: the peer's address; one trusted proxy: the address it forwarded.
    assert addresses == [ADDRESS, "198.51.100.66"]
