"""Deliveries of ended runs to a real SMTP server and real webhook receivers: signatures,
retries with back-off, the log, and the policy checked again when sending."""

import json
import time
from datetime import timedelta

from django.utils import timezone
from django_tasks_db.models import DBTaskResult

from notifications.models import Delivery
from notifications.services import notify_run
from scripts_api.models import RunStatus
from users.roles import Level

URL = "/api/notifications/subscriptions/"


def subscribe(client, **fields) -> dict:
    response = client.post(URL, {"script": "hello", "on": "failure", **fields}, format="json")
    assert response.status_code == 201, response.json()
    return response.json()


def test_a_failed_run_is_emailed_through_a_real_smtp_server(
    users, bearer_client, finish_run, run_queued_tasks, smtp, settings
):
    settings.PUBLIC_URL = "https://rbas.example.com"
    user = users[Level.READ_ONLY]
    subscribe(bearer_client(user), channel="email")
    run = finish_run(user, status=RunStatus.FAILED)
    assert run_queued_tasks() == 1
    message = smtp.wait_for(user.email)
    assert "Say hello" in message.subject and "run failed" in message.subject
    assert f"https://rbas.example.com/runs/{run.pk}" in message.message.get_content()
    delivery = Delivery.objects.get()
    assert (delivery.status, delivery.attempts, delivery.target) == ("delivered", 1, user.email)


def test_a_failure_subscription_hears_nothing_of_a_success_and_a_finish_one_does(
    users, bearer_client, finish_run, run_queued_tasks, smtp
):
    quiet, told = users[Level.READ_ONLY], users[Level.WRITE]
    subscribe(bearer_client(quiet), channel="email", on="failure")
    subscribe(bearer_client(told), channel="email", on="finish")
    finish_run(quiet, status=RunStatus.SUCCEEDED)
    finish_run(told, status=RunStatus.SUCCEEDED)
    run_queued_tasks()
    assert smtp.to(quiet.email) == []
    assert "run succeeded" in smtp.wait_for(told.email).subject


def test_a_webhook_arrives_at_a_real_receiver_signed_with_the_subscriptions_secret(
    users, bearer_client, finish_run, run_queued_tasks, local_webhooks, receivers
):
    receiver = receivers()
    user = users[Level.WRITE]
    secret = subscribe(bearer_client(user), channel="webhook", url=receiver.url)["secret"]
    run = finish_run(user, status=RunStatus.TIMED_OUT)
    run_queued_tasks()
    request = receiver.wait_for()
    delivery = Delivery.objects.get()
    assert request.path == "/hook?team=ops"
    assert request.signed_with(secret)
    assert not request.signed_with("another secret")
    assert request.headers["x-rbas-event"] == "run.finished"
    assert request.headers["x-rbas-delivery"] == str(delivery.pk)
    body = request.json
    assert abs(body["timestamp"] - time.time()) < 60  # signed with the body: no old replays
    assert body["run"]["id"] == str(run.pk) and body["run"]["status"] == "timed_out"
    assert body["run"]["script"] == "hello" and body["delivery"] == str(delivery.pk)
    assert not {"stdout", "stderr", "result", "params"} & set(body["run"])
    assert (delivery.status, delivery.attempts, delivery.response_code) == ("delivered", 1, 200)


def test_a_receiver_failing_twice_then_succeeding_logs_three_attempts(
    users, bearer_client, finish_run, run_queued_tasks, local_webhooks, receivers
):
    receiver = receivers(statuses=(500, 503, 204))
    user = users[Level.WRITE]
    secret = subscribe(bearer_client(user), channel="webhook", url=receiver.url)["secret"]
    finish_run(user)
    assert run_queued_tasks() == 3
    assert len(receiver.requests) == 3
    assert all(request.signed_with(secret) for request in receiver.requests)
    # The same delivery each time, re-signed with a fresh timestamp.
    assert len({request.headers["x-rbas-delivery"] for request in receiver.requests}) == 1
    delivery = Delivery.objects.get()
    assert (delivery.status, delivery.attempts, delivery.response_code) == ("delivered", 3, 204)
    assert delivery.last_error == ""


def test_a_receiver_always_down_is_retried_with_growing_delays_then_failed(
    users, bearer_client, finish_run, run_queued_tasks, local_webhooks, receivers, settings
):
    receiver = receivers(statuses=(502,))
    settings.NOTIFICATION_RETRIES = 2
    settings.NOTIFICATION_BACKOFF_SECONDS = 60
    user = users[Level.WRITE]
    subscribe(bearer_client(user), channel="webhook", url=receiver.url)
    finish_run(user)
    delays = []
    for _ in range(3):
        started = timezone.now()
        assert run_queued_tasks() == 1
        assert run_queued_tasks() == 0  # the next attempt waits for its time
        delivery = Delivery.objects.get()
        if delivery.next_attempt_at:
            delays.append(round((delivery.next_attempt_at - started).total_seconds()))
        # The clock moves on: the waiting attempt is due now.
        DBTaskResult.objects.filter(run_after__isnull=False).update(
            run_after=timezone.now() - timedelta(seconds=1)
        )
    assert delays == [60, 120]
    delivery = Delivery.objects.get()
    assert (delivery.status, delivery.attempts, delivery.response_code) == ("failed", 3, 502)
    assert "502" in delivery.last_error
    assert len(receiver.requests) == 3


def test_a_user_demoted_since_subscribing_is_told_nothing(
    users, bearer_client, finish_run, run_queued_tasks, local_webhooks, receivers, smtp
):
    receiver = receivers()
    writer = users[Level.WRITE]
    client = bearer_client(writer)
    subscribe(client, script="price-quote", channel="webhook", url=receiver.url)
    subscribe(client, script="price-quote", channel="email")
    finish_run(writer, slug="price-quote")
    assert Delivery.objects.count() == 2
    writer.level = Level.READ_ONLY  # demoted while the deliveries wait in the queue
    writer.save(update_fields=["level"])
    run_queued_tasks()
    assert receiver.requests == [] and smtp.to(writer.email) == []
    assert set(Delivery.objects.values_list("status", flat=True)) == {"skipped"}
    # And the next run of that script makes no delivery at all.
    finish_run(users[Level.OWNER], slug="price-quote")
    assert Delivery.objects.count() == 2


def test_an_admin_subscribed_to_all_runs_hears_of_others_runs_and_others_do_not(
    users, bearer_client, finish_run, run_queued_tasks, smtp
):
    admin, writer, reader = users[Level.ADMIN], users[Level.WRITE], users[Level.READ_ONLY]
    subscribe(bearer_client(admin), channel="email", scope="all")
    subscribe(bearer_client(writer), channel="email")
    finish_run(reader)
    run_queued_tasks()
    assert smtp.wait_for(admin.email)
    assert smtp.to(writer.email) == []


def test_a_deleted_subscription_sends_nothing_still_queued(
    users, bearer_client, finish_run, run_queued_tasks, smtp
):
    user = users[Level.WRITE]
    client = bearer_client(user)
    subscription = subscribe(client, channel="email")
    finish_run(user)
    assert client.delete(f"{URL}{subscription['id']}/").status_code == 204
    run_queued_tasks()
    assert smtp.to(user.email) == []
    assert Delivery.objects.get().status == "skipped"


def test_notify_run_emails_the_users_given_whatever_their_subscriptions(
    users, finish_run, run_queued_tasks, smtp
):
    owner, reader = users[Level.OWNER], users[Level.READ_ONLY]
    run = finish_run(reader, slug="price-quote")
    queued = notify_run(run, [owner, reader], "scheduled run failed")
    assert [delivery.user for delivery in queued] == [owner]  # reader may not run price-quote
    run_queued_tasks()
    message = smtp.wait_for(owner.email)
    assert "scheduled run failed" in message.subject
    assert smtp.to(reader.email) == []


def test_the_webhook_body_is_compact_json_that_a_receiver_can_verify_as_bytes(
    users, bearer_client, finish_run, run_queued_tasks, local_webhooks, receivers
):
    receiver = receivers()
    user = users[Level.WRITE]
    subscribe(bearer_client(user), channel="webhook", url=receiver.url)
    finish_run(user)
    run_queued_tasks()
    raw = receiver.wait_for().body
    assert json.dumps(json.loads(raw), separators=(",", ":")).encode() == raw


def test_an_email_the_mail_server_defers_is_sent_on_a_later_attempt(
    users, bearer_client, finish_run, run_queued_tasks, smtp, settings
):
    settings.NOTIFICATION_BACKOFF_SECONDS = 60
    user = users[Level.WRITE]
    subscribe(bearer_client(user), channel="email")
    smtp.refuse_with = "451 4.3.0 try again later"
    finish_run(user)
    assert run_queued_tasks() == 1
    delivery = Delivery.objects.get()
    assert (delivery.status, delivery.attempts) == ("pending", 1)
    assert "try again later" in delivery.last_error
    smtp.refuse_with = ""
    DBTaskResult.objects.update(run_after=timezone.now() - timedelta(seconds=1))  # a minute on
    assert run_queued_tasks() == 1
    assert smtp.wait_for(user.email)
    delivery.refresh_from_db()
    assert (delivery.status, delivery.attempts, delivery.last_error) == ("delivered", 2, "")
