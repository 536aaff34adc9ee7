"""A webhook survives its worker: a real worker process SIGKILLed while waiting for the
receiver's answer leaves its delivery to another worker, which sends it again and logs it."""

import os
import signal

from notifications.models import Delivery
from scripts_api.models import RunStatus
from tests.conftest import wait_for
from tests.notifications.test_delivery import subscribe
from users.roles import Level

LEASE_SECONDS = 2


def test_a_webhook_whose_worker_was_killed_mid_request_is_delivered_by_the_next(
    start_worker, users, bearer_client, finish_run, receivers, local_webhooks, settings
):
    receiver = receivers(hold_first=True)  # takes the first request and never answers it
    user = users[Level.WRITE]
    secret = subscribe(bearer_client(user), channel="webhook", url=receiver.url)["secret"]
    env = {
        "SECRET_KEY": settings.SECRET_KEY,  # the subscription's secret is encrypted with it
        "NOTIFICATION_WEBHOOK_ALLOW_HTTP": "true",
        "NOTIFICATION_WEBHOOK_ALLOW_PRIVATE": "true",
        "NOTIFICATION_BACKOFF_SECONDS": "0",
        "RUN_LEASE_SECONDS": str(LEASE_SECONDS),
    }
    doomed = start_worker(**env)
    run = finish_run(user, status=RunStatus.FAILED)
    first = receiver.wait_for(1)
    assert first.signed_with(secret) and first.json["run"]["id"] == str(run.pk)
    os.killpg(doomed.pid, signal.SIGKILL)
    assert doomed.wait(timeout=30) == -signal.SIGKILL
    receiver.release.set()
    delivery = Delivery.objects.get()
    assert delivery.status == "pending"  # the killed attempt was never acknowledged

    start_worker(**env)  # its housekeeping queues the orphaned task again after a lease
    second = receiver.wait_for(2, timeout=LEASE_SECONDS + 30)
    assert second.signed_with(secret) and second.json["delivery"] == str(delivery.pk)
    wait_for(lambda: Delivery.objects.get(pk=delivery.pk).status == "delivered", timeout=20)
    delivery.refresh_from_db()
    assert delivery.attempts == 2 and delivery.response_code == 200
