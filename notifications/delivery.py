"""One attempt of a delivery: re-check that its user may still hear about the script, send,
record the outcome, and queue the next attempt after a growing delay when it failed.

The attempt is counted before sending: a worker that dies mid-send leaves its task to be
queued again (`tasks_reap_orphans`), and the log shows the attempt that was lost.
"""

import logging
import smtplib
from datetime import timedelta

from django.conf import settings
from django.core.mail import EmailMessage
from django.db import transaction
from django.utils import timezone

from notifications import webhooks
from notifications.models import Delivery, Subscription
from notifications.services import may_hear
from notifications.tasks import deliver
from vault import crypto

logger = logging.getLogger(__name__)
PRODUCT = "simple RBAS"


def _refusal(delivery: Delivery) -> str | None:
    """Why `delivery` may not be made any more, or None."""
    subscription = delivery.subscription
    if delivery.channel == Subscription.Channel.WEBHOOK and subscription is None:
        return "The subscription was deleted."
    scope = subscription.scope if subscription else Subscription.Scope.OWN
    if not may_hear(delivery.user, delivery.run.script, scope=scope):
        return "The user may no longer hear about this script."
    return None


def _email(delivery: Delivery) -> None:
    run = delivery.run
    link = f"{settings.PUBLIC_URL}/runs/{run.pk}"
    EmailMessage(
        f"[{PRODUCT}] {run.script.title}: {delivery.reason}",
        f"Run {run.pk} of {run.script.title} ({run.script.slug}), started by "
        f"{run.user.username}, ended: {run.status}.\n\nSee it here: {link}\n\n"
        "You receive this because of your notification settings in "
        f"{PRODUCT}: {settings.PUBLIC_URL}/notifications\n",
        to=[delivery.target],
    ).send()


def _webhook(delivery: Delivery) -> int:
    raw_body = webhooks.body(delivery)
    secret = crypto.decrypt(delivery.subscription.secret_encrypted, "of a webhook")
    return webhooks.post(
        delivery.target,
        raw_body,
        {
            "X-RBAS-Event": webhooks.EVENT,
            "X-RBAS-Delivery": str(delivery.pk),
            "X-RBAS-Signature": webhooks.signature(secret, raw_body),
        },
    )


def _save(delivery: Delivery, **fields) -> None:
    for name, value in {**fields, "updated_at": timezone.now()}.items():
        setattr(delivery, name, value)
    delivery.save(update_fields=[*fields, "updated_at"])


def delivery_attempt(*, delivery_id) -> str:
    """Make one attempt of delivery `delivery_id`; returns its status afterwards."""
    delivery = (
        Delivery.objects.select_related("user", "subscription", "run__script", "run__user")
        .filter(pk=delivery_id)
        .first()
    )
    if delivery is None or delivery.status != Delivery.Status.PENDING:
        return "not needed"
    refusal = _refusal(delivery)
    if refusal:
        _save(delivery, status=Delivery.Status.SKIPPED, last_error=refusal, next_attempt_at=None)
        return delivery.status
    _save(delivery, attempts=delivery.attempts + 1, next_attempt_at=None)
    try:
        if delivery.channel == Subscription.Channel.EMAIL:
            _email(delivery)
            code = None
        else:
            code = _webhook(delivery)
    except (webhooks.Refused, smtplib.SMTPException, OSError, crypto.UndecryptableSecret) as error:
        return _failed(delivery, error)
    _save(delivery, status=Delivery.Status.DELIVERED, response_code=code, last_error="")
    return delivery.status


def _failed(delivery: Delivery, error: Exception) -> str:
    code = getattr(error, "code", None)
    code = code if isinstance(code, int) else None
    message = str(error)[: webhooks.MAX_ERROR_LENGTH] or type(error).__name__
    if delivery.attempts > settings.NOTIFICATION_RETRIES:
        logger.warning(
            "Gave up delivery %s after %d attempts: %s", delivery.pk, delivery.attempts, message
        )
        _save(delivery, status=Delivery.Status.FAILED, last_error=message, response_code=code)
        return delivery.status
    delay = settings.NOTIFICATION_BACKOFF_SECONDS * 2 ** (delivery.attempts - 1)
    run_after = timezone.now() + timedelta(seconds=delay)
    with transaction.atomic():
        _save(delivery, last_error=message, response_code=code, next_attempt_at=run_after)
        deliver.using(run_after=run_after).enqueue(delivery_id=str(delivery.pk))
    return delivery.status
