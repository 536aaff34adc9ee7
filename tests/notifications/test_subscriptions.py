"""The subscriptions API: who may subscribe to what, and whose subscriptions and deliveries
each user sees."""

import pytest

from notifications.models import Delivery, Subscription
from users.roles import Level

URL = "/api/notifications/subscriptions/"


def subscribe(client, **fields):
    return client.post(URL, {"script": "hello", "on": "failure", **fields}, format="json")


def test_a_user_subscribes_to_a_script_by_email_and_sees_it_listed(catalog, users, bearer_client):
    client = bearer_client(users[Level.READ_ONLY])
    created = subscribe(client, channel="email")
    assert created.status_code == 201, created.json()
    assert created.json()["secret"] is None
    listed = client.get(URL).json()["results"]
    assert [(s["script"], s["on"], s["channel"], s["scope"]) for s in listed] == [
        ("hello", "failure", "email", "own")
    ]


def test_a_webhook_secret_is_shown_once_and_stored_encrypted(
    catalog, users, bearer_client, local_webhooks, receivers
):
    client = bearer_client(users[Level.WRITE])
    created = subscribe(client, channel="webhook", url=receivers().url)
    assert created.status_code == 201, created.json()
    secret = created.json()["secret"]
    assert len(secret) == 64
    assert "secret" not in client.get(URL).json()["results"][0]
    assert secret not in Subscription.objects.get().secret_encrypted


def test_read_only_cannot_subscribe_to_a_script_it_cannot_run(catalog, users, bearer_client):
    client = bearer_client(users[Level.READ_ONLY])
    refused = subscribe(client, script="price-quote", channel="email")  # a `staff` script
    assert refused.status_code == 400
    # The same answer as for a script that does not exist: nothing tells them apart.
    assert refused.json() == subscribe(client, script="no-such", channel="email").json()
    assert not Subscription.objects.exists()


def test_only_the_admin_policy_may_hear_about_everyones_runs(catalog, users, bearer_client):
    refused = subscribe(bearer_client(users[Level.WRITE]), channel="email", scope="all")
    assert refused.status_code == 403
    assert refused.data["detail"].code == "policy_denied"
    allowed = subscribe(bearer_client(users[Level.ADMIN]), channel="email", scope="all")
    assert allowed.status_code == 201


def test_other_users_subscriptions_are_invisible_and_cannot_be_deleted(
    catalog, users, bearer_client
):
    owner = bearer_client(users[Level.WRITE])
    mine = subscribe(owner, channel="email").json()["id"]
    other = bearer_client(users[Level.ADMIN])
    assert other.get(URL).json()["results"] == []
    assert other.delete(f"{URL}{mine}/").status_code == 404
    assert Subscription.objects.filter(pk=mine).exists()
    assert owner.delete(f"{URL}{mine}/").status_code == 204
    assert not Subscription.objects.filter(pk=mine).exists()


def test_deliveries_are_listed_to_their_user_and_to_admins_only(
    users, bearer_client, finish_run, run_queued_tasks, smtp
):
    writer = users[Level.WRITE]
    assert subscribe(bearer_client(writer), channel="email").status_code == 201
    finish_run(writer)
    run_queued_tasks()
    log = bearer_client(writer).get("/api/notifications/deliveries/").json()["results"]
    assert [(d["channel"], d["target"], d["status"], d["attempts"]) for d in log] == [
        ("email", writer.email, "delivered", 1)
    ]
    assert (
        bearer_client(users[Level.READ_ONLY])
        .get("/api/notifications/deliveries/")
        .json()["results"]
        == []
    )
    assert (
        len(
            bearer_client(users[Level.ADMIN])
            .get("/api/notifications/deliveries/")
            .json()["results"]
        )
        == 1
    )


@pytest.mark.parametrize(
    "fields",
    [
        {"channel": "email", "on": "sometimes"},
        {"channel": "pigeon"},
        {"channel": "webhook"},
        {"channel": "email", "scope": "everyone"},
        {"channel": "email", "script": "not a slug"},
    ],
)
def test_bad_input_is_a_400_and_stores_nothing(catalog, users, bearer_client, fields):
    assert subscribe(bearer_client(users[Level.OWNER]), **fields).status_code == 400
    assert not Subscription.objects.exists()


def test_anonymous_callers_and_cookies_without_csrf_are_refused(
    catalog, users, api_client, cookie_client
):
    assert subscribe(api_client, channel="email").status_code == 401
    assert api_client.get("/api/notifications/deliveries/").status_code == 401
    assert subscribe(cookie_client(users[Level.OWNER]), channel="email").status_code == 403
    assert not Subscription.objects.exists() and not Delivery.objects.exists()
