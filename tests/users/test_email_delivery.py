"""What happens when the mail server cannot take a message: a temporary refusal or an outage is
tried again later (a new task, one attempt further, with a growing delay), a permanent refusal
is not, requests never wait for the mail server, and a late retry never sends a stale link."""

import socket
import time
from datetime import timedelta
from types import SimpleNamespace

import pytest
from django.utils import timezone
from django_tasks_db.models import DBTaskResult
from rest_framework.test import APIClient

from tests.conftest import PASSWORD
from tests.smtp import MailServer
from tests.users.mailflows import point_at, queued
from users import tasks
from users.models import Invitation, User
from users.roles import Level

TEMPORARY = "451 4.3.0 Try again later"
PERMANENT = "550 5.1.1 No such user here"


class Server(MailServer):
    """A MailServer that may be stopped by the test and again at teardown."""

    running = False

    def start(self) -> "Server":
        super().start()
        self.running = True
        return self

    def stop(self) -> None:
        if self.running:
            super().stop()
            self.running = False


@pytest.fixture
def start_mail_server(settings):
    """Start a mail server and send this process's email through it."""
    started: list[Server] = []

    def start() -> Server:
        server = Server().start()
        started.append(server)
        point_at(settings, server)
        return server

    yield start
    for server in started:
        server.stop()


def make_due(*rows: DBTaskResult) -> None:
    """Let queued retries run now instead of after their delay."""
    DBTaskResult.objects.filter(pk__in=[row.pk for row in rows]).update(run_after=timezone.now())


def ready_tasks() -> list[DBTaskResult]:
    return list(DBTaskResult.objects.ready())


def waiting_tasks() -> list[DBTaskResult]:
    return [t for t in queued() if t.status == "READY" and t not in ready_tasks()]


def invite(client, email="newcomer@example.com", level=Level.WRITE):
    response = client.post("/api/invitations/", {"email": email, "level": level}, format="json")
    assert response.status_code == 201, response.content
    return response.json()["id"]


def test_a_temporary_refusal_is_retried_later_and_recorded(
    users, bearer_client, start_mail_server, run_queued_tasks
):
    server = start_mail_server()
    server.refuse_with = TEMPORARY
    client = bearer_client(users[Level.ADMIN])
    pk = invite(client)
    before = timezone.now()
    assert run_queued_tasks() == 1
    (first,) = [t for t in queued() if t.status == "SUCCESSFUL"]
    assert first.return_value.startswith("retrying: (451")
    (retry,) = waiting_tasks()
    assert retry.task_path == "users.tasks.send_invitation"
    assert retry.args_kwargs["kwargs"] == {"invitation_id": pk, "send_count": 1, "attempt": 2}
    assert retry.priority == tasks.EMAIL_PRIORITY
    delay = tasks.RETRY_DELAYS_SECONDS[0]
    assert before + timedelta(seconds=delay - 1) <= retry.run_after
    assert retry.run_after <= timezone.now() + timedelta(seconds=delay + 1)
    assert run_queued_tasks() == 0  # not before its time
    shown = client.get(f"/api/invitations/{pk}/").json()
    assert shown["delivered_at"] is None
    assert "451" in shown["delivery_error"] and "retrying" in shown["delivery_error"]
    assert not server.messages

    server.refuse_with = ""
    make_due(retry)
    assert run_queued_tasks() == 1
    retry.refresh_from_db()
    assert retry.return_value == "sent"
    received = server.wait_for("newcomer@example.com")
    shown = client.get(f"/api/invitations/{pk}/").json()
    assert shown["delivered_at"] is not None and shown["delivery_error"] == ""
    accepted = APIClient().post(
        "/api/invitations/accept/",
        {"token": received.token, "username": "newcomer", "password": PASSWORD},
        format="json",
    )
    assert accepted.status_code == 201


def test_a_permanent_refusal_is_not_retried(
    users, bearer_client, start_mail_server, run_queued_tasks
):
    server = start_mail_server()
    server.refuse_with = PERMANENT
    client = bearer_client(users[Level.ADMIN])
    pk = invite(client)
    assert run_queued_tasks() == 1
    (only,) = queued()
    assert only.return_value.startswith("failed: (550")
    shown = client.get(f"/api/invitations/{pk}/").json()
    assert shown["delivered_at"] is None and "550" in shown["delivery_error"]
    assert "retrying" not in shown["delivery_error"]
    assert not server.messages


def test_an_outage_is_retried_and_delivered_once_the_server_is_back(
    settings, make_user, start_mail_server, run_queued_tasks
):
    server = start_mail_server()
    server.stop()  # nothing listens on the port any more
    user = make_user(username="alice", email="alice@example.com")
    settings.EMAIL_TIMEOUT = 2
    reset = APIClient().post("/api/auth/password-reset/", {"email": user.email}, format="json")
    assert reset.status_code == 202
    signup = APIClient().post(
        "/api/auth/signup/",
        {"username": "newcomer", "email": "newcomer@example.com", "password": PASSWORD},
        format="json",
    )
    assert signup.status_code == 201
    assert run_queued_tasks() == 2
    assert all(t.return_value.startswith("retrying:") for t in queued() if t.status != "READY")
    retries = waiting_tasks()
    assert sorted(t.task_path.rpartition(".")[2] for t in retries) == [
        "send_email_verification",
        "send_password_reset",
    ]
    assert all(t.args_kwargs["kwargs"]["attempt"] == 2 for t in retries)

    # The mail server comes back (elsewhere): the retries deliver working links.
    back = start_mail_server()
    make_due(*retries)
    assert run_queued_tasks() == 2
    reset_link = back.wait_for("alice@example.com")
    verification_link = back.wait_for("newcomer@example.com")
    confirmed = APIClient().post(
        "/api/auth/password-reset/confirm/",
        {"token": reset_link.token, "new_password": "a-brand-new-passphrase-77"},
        format="json",
    )
    assert confirmed.status_code == 204
    verified = APIClient().post(
        "/api/auth/verify-email/", {"token": verification_link.token}, format="json"
    )
    assert verified.status_code == 204


def test_a_mail_server_that_hangs_slows_no_request(
    settings, users, bearer_client, run_queued_tasks
):
    with socket.socket() as silent:
        # Connections are taken (by the kernel) and never answered.
        silent.bind(("127.0.0.1", 0))
        silent.listen(8)
        point_at(settings, SimpleNamespace(port=silent.getsockname()[1]))
        settings.EMAIL_TIMEOUT = 2
        requests = [
            lambda: APIClient().post(
                "/api/auth/signup/",
                {"username": "newcomer", "email": "newcomer@example.com", "password": PASSWORD},
                format="json",
            ),
            lambda: APIClient().post(
                "/api/auth/password-reset/", {"email": users[Level.WRITE].email}, format="json"
            ),
            lambda: bearer_client(users[Level.ADMIN]).post(
                "/api/invitations/", {"email": "guest@example.com", "level": 4}, format="json"
            ),
        ]
        for request in requests:
            start = time.monotonic()
            assert request().status_code in {201, 202}
            assert time.monotonic() - start < 1, "a request waited for the mail server"
        settings.EMAIL_TIMEOUT = 0.2
        assert run_queued_tasks() == 3
    assert all("timed out" in t.return_value for t in queued() if t.return_value)
    assert len(waiting_tasks()) == 3


@pytest.mark.parametrize("attempt", [1, 3, len(tasks.RETRY_DELAYS_SECONDS)])
def test_each_retry_waits_longer(make_user, start_mail_server, run_queued_tasks, attempt):
    start_mail_server().refuse_with = TEMPORARY
    make_user(username="alice", email="alice@example.com")
    tasks.send_password_reset.enqueue(email="alice@example.com", attempt=attempt)
    before = timezone.now()
    assert run_queued_tasks() == 1
    (retry,) = waiting_tasks()
    assert retry.args_kwargs["kwargs"] == {"email": "alice@example.com", "attempt": attempt + 1}
    delay = timedelta(seconds=tasks.RETRY_DELAYS_SECONDS[attempt - 1])
    assert before + delay - timedelta(seconds=1) <= retry.run_after
    assert retry.run_after <= timezone.now() + delay + timedelta(seconds=1)


def test_the_last_attempt_gives_up(make_user, start_mail_server, run_queued_tasks):
    start_mail_server().refuse_with = TEMPORARY
    make_user(username="alice", email="alice@example.com")
    last = len(tasks.RETRY_DELAYS_SECONDS) + 1
    tasks.send_password_reset.enqueue(email="alice@example.com", attempt=last)
    assert run_queued_tasks() == 1
    assert queued()[0].return_value.startswith("failed: (451")
    assert not waiting_tasks()


def test_a_retry_never_sends_a_link_the_invitation_has_replaced(
    users, bearer_client, start_mail_server, run_queued_tasks
):
    server = start_mail_server()
    server.refuse_with = TEMPORARY
    client = bearer_client(users[Level.ADMIN])
    pk = invite(client)
    run_queued_tasks()
    (stale,) = waiting_tasks()
    # The admin, seeing the delivery error, sends it again; the mail server recovers.
    assert client.post(f"/api/invitations/{pk}/resend/").status_code == 200
    server.refuse_with = ""
    make_due(stale)
    assert run_queued_tasks() == 2
    stale.refresh_from_db()
    assert stale.return_value == "not needed"
    (received,) = server.to("newcomer@example.com")
    shown = client.get(f"/api/invitations/{pk}/").json()
    assert shown["send_count"] == 2 and shown["delivered_at"] is not None
    assert shown["delivery_error"] == ""
    preview = APIClient().post(
        "/api/invitations/preview/", {"token": received.token}, format="json"
    )
    assert preview.status_code == 200


def test_a_retry_after_a_revocation_sends_nothing(
    users, bearer_client, start_mail_server, run_queued_tasks
):
    server = start_mail_server()
    server.refuse_with = TEMPORARY
    client = bearer_client(users[Level.ADMIN])
    pk = invite(client)
    run_queued_tasks()
    (retry,) = waiting_tasks()
    assert client.post(f"/api/invitations/{pk}/revoke/").status_code == 200
    server.refuse_with = ""
    make_due(retry)
    assert run_queued_tasks() == 1
    retry.refresh_from_db()
    assert retry.return_value == "not needed"
    assert not server.messages
    assert Invitation.objects.get(pk=pk).status == "revoked"


def test_a_verification_retry_after_the_address_changed_sends_nothing_there(
    make_user, bearer_client, start_mail_server, run_queued_tasks
):
    server = start_mail_server()
    server.refuse_with = TEMPORARY
    user = make_user(username="mover", email="old@example.com", email_verified=True)
    client = bearer_client(user)
    moved = client.patch("/api/auth/me/", {"email": "new@example.com"}, format="json")
    assert moved.status_code == 200
    run_queued_tasks()
    retries = waiting_tasks()
    assert len(retries) == 2  # the new address's link and the old address's notice
    # The user moves on again before the mail server recovers.
    client.patch("/api/auth/me/", {"email": "newest@example.com"}, format="json")
    server.refuse_with = ""
    make_due(*retries)
    run_queued_tasks()
    assert not [m for m in server.to("new@example.com") if "#" in m.text]
    assert server.wait_for("newest@example.com").token
    assert {t.task_path for t in retries} == {
        "users.tasks.send_email_verification",
        "users.tasks.send_email_changed",
    }
    for retry in retries:
        retry.refresh_from_db()
    outcomes = {t.task_path.rpartition(".")[2]: t.return_value for t in retries}
    # The link for the address left behind is not sent; the old address still hears of it.
    assert outcomes == {"send_email_verification": "not needed", "send_email_changed": "sent"}
    assert User.objects.get(pk=user.pk).email == "newest@example.com"
