"""Webhook targets from an attacker's side: with the default settings, no URL reaches this
host or a private network, whatever its spelling, its DNS answer, or its redirects."""

import socket

import pytest

from notifications import targets
from notifications.models import Delivery, Subscription
from users.roles import Level

URL = "/api/notifications/subscriptions/"


def subscribe(client, url: str):
    return client.post(
        URL,
        {"script": "hello", "on": "finish", "channel": "webhook", "url": url},
        format="json",
    )


@pytest.fixture
def resolver(monkeypatch):
    """Make the names in `answers` resolve to the addresses given (changeable mid-test), as a
    DNS server the attacker controls would."""
    answers: dict[str, str] = {}
    real = socket.getaddrinfo

    def getaddrinfo(host, port, *args, **kwargs):
        if host in answers:
            return [(socket.AF_INET, socket.SOCK_STREAM, 6, "", (answers[host], port))]
        return real(host, port, *args, **kwargs)

    monkeypatch.setattr(targets.socket, "getaddrinfo", getaddrinfo)
    return answers


@pytest.mark.parametrize(
    "url",
    [
        "https://127.0.0.1/",
        "https://localhost/",
        "https://[::1]/",
        "https://10.0.0.5/",
        "https://192.168.1.1/",
        "https://172.16.0.1/",
        "https://100.64.0.1/",  # carrier-grade NAT
        "https://169.254.169.254/latest/meta-data/",  # cloud metadata
        "https://0x7f000001/",
        "https://2130706433/",
        "https://017700000001/",
        "https://127.1/",
        "https://0.0.0.0/",
        "https://[::]/",
        "https://[::ffff:127.0.0.1]/",
        "https://[::ffff:a9fe:a9fe]/",
        "https://[fe80::1]/",
        "https://[fc00::1]/",
        "https://224.0.0.1/",
        "https://[ff02::1]/",
        "https://240.0.0.1/",
    ],
)
def test_loopback_and_private_addresses_are_refused(catalog, users, bearer_client, url):
    refused = subscribe(bearer_client(users[Level.OWNER]), url)
    assert refused.status_code == 400, refused.json()
    assert "url" in refused.json()
    assert not Subscription.objects.exists()


@pytest.mark.parametrize(
    "url",
    [
        "http://example.com/hook",
        "ftp://example.com/hook",
        "file:///etc/passwd",
        "gopher://127.0.0.1:25/",
        "https://user:pw@example.com/",
        "https:///nohost",
        "https://[::1/",
        "https://example.com:99999/",
        "javascript:alert(1)",
    ],
)
def test_other_schemes_credentials_and_broken_urls_are_refused(catalog, users, bearer_client, url):
    refused = subscribe(bearer_client(users[Level.OWNER]), url)
    assert refused.status_code == 400, refused.json()
    assert not Subscription.objects.exists()


def test_http_is_allowed_only_when_the_setting_says_so(
    catalog, users, bearer_client, settings, resolver
):
    resolver["hooks.example.com"] = "93.184.216.34"
    client = bearer_client(users[Level.OWNER])
    assert subscribe(client, "http://hooks.example.com/").status_code == 400
    settings.NOTIFICATION_WEBHOOK_ALLOW_HTTP = True
    assert subscribe(client, "http://hooks.example.com/").status_code == 201
    # Allowing http does not allow this host.
    assert subscribe(client, "http://127.0.0.1/").status_code == 400


def test_a_name_that_resolves_to_loopback_is_refused(catalog, users, bearer_client, resolver):
    resolver["innocent.example.com"] = "127.0.0.1"
    refused = subscribe(bearer_client(users[Level.OWNER]), "https://innocent.example.com/")
    assert refused.status_code == 400
    assert "127.0.0.1" in refused.json()["url"][0]


def test_a_name_rebound_to_loopback_after_subscribing_is_not_contacted(
    users, bearer_client, finish_run, run_queued_tasks, receivers, resolver, settings
):
    settings.NOTIFICATION_WEBHOOK_ALLOW_HTTP = True
    settings.NOTIFICATION_RETRIES = 0
    receiver = receivers()  # listens on 127.0.0.1: what the attacker wants to reach
    port = receiver.server.server_address[1]
    resolver["rebind.example.com"] = "93.184.216.34"
    user = users[Level.WRITE]
    assert subscribe(bearer_client(user), f"http://rebind.example.com:{port}/").status_code == 201
    resolver["rebind.example.com"] = "127.0.0.1"
    finish_run(user)
    run_queued_tasks()
    assert receiver.requests == []
    delivery = Delivery.objects.get()
    assert delivery.status == "failed" and "127.0.0.1" in delivery.last_error


def test_the_checked_address_is_the_one_connected_to(resolver, settings):
    resolver["pinned.example.com"] = "93.184.216.34"
    target = targets.check("https://pinned.example.com:8443/a?b=c")
    assert (target.host, target.port, target.path, target.address) == (
        "pinned.example.com",
        8443,
        "/a?b=c",
        "93.184.216.34",
    )


def test_a_redirect_to_loopback_is_not_followed(
    users, bearer_client, finish_run, run_queued_tasks, local_webhooks, receivers, settings
):
    settings.NOTIFICATION_RETRIES = 0
    inside = receivers()
    outside = receivers(statuses=(302,), redirect_to=inside.url)
    user = users[Level.WRITE]
    assert subscribe(bearer_client(user), outside.url).status_code == 201
    finish_run(user)
    run_queued_tasks()
    assert len(outside.requests) == 1 and inside.requests == []
    delivery = Delivery.objects.get()
    assert (delivery.status, delivery.response_code) == ("failed", 302)
    assert "redirects are not followed" in delivery.last_error
