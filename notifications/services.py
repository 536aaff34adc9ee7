"""Subscribing, and turning ended runs into deliveries queued for the workers."""

import secrets

from django.db import transaction
from django.db.models import Q
from rest_framework import exceptions

from notifications import targets
from notifications.models import Delivery, Subscription
from notifications.tasks import deliver
from scripts_api.models import Run, Script
from users import roles
from vault import crypto


def may_hear(user, script: Script, *, scope: str = Subscription.Scope.OWN) -> bool:
    """Whether `user` may be told about runs of `script` (everyone's, for scope `all`)."""
    if not user.is_active or not script.is_published or not script.allows(user.level):
        return False
    return scope != Subscription.Scope.ALL or roles.allows("admin", user.level)


def subscription_create(
    *, user, levels: tuple[int, ...], script: str, on: str, channel: str, scope: str, url: str
) -> tuple[Subscription, str | None]:
    """Subscribe `user` (acting with `levels`) to runs of the script `script`; returns the
    subscription and, for a webhook, its signing secret (shown this once). 400 for a script
    the user may not run (as for one that does not exist) or an unsafe URL; 403 for scope
    `all` without the `admin` policy."""
    found = Script.objects.filter(slug=script, is_published=True).first()
    if found is None or not found.allows(*levels):
        raise exceptions.ValidationError(
            {"script": ["No published script with this slug that you may run."]}, code="invalid"
        )
    if scope == Subscription.Scope.ALL and not roles.allows("admin", *levels):
        raise exceptions.PermissionDenied(
            "Only the 'admin' policy may subscribe to everyone's runs (scope 'all').",
            code="policy_denied",
        )
    secret = None
    fields = {}
    if channel == Subscription.Channel.EMAIL:
        if not user.email:
            raise exceptions.ValidationError(
                {"channel": ["Your account has no email address."]}, code="invalid"
            )
        url = ""
    else:
        if not url:
            raise exceptions.ValidationError({"url": ["A webhook needs a URL."]}, code="required")
        try:
            targets.check(url)
        except targets.UnsafeTarget as error:
            raise exceptions.ValidationError({"url": [str(error)]}, code="invalid") from None
        secret = secrets.token_hex(32)
        fields["secret_encrypted"] = crypto.encrypt(secret)
    subscription = Subscription.objects.create(
        user=user, script=found, on=on, channel=channel, scope=scope, url=url, **fields
    )
    return subscription, secret


def subscription_delete(*, subscription: Subscription) -> None:
    """Delete a subscription; its deliveries not yet made are dropped (logged as skipped)."""
    with transaction.atomic():
        subscription.deliveries.pending().update(
            status=Delivery.Status.SKIPPED, last_error="The subscription was deleted."
        )
        subscription.delete()


def _queue(deliveries: list[Delivery]) -> list[Delivery]:
    with transaction.atomic():
        for delivery in deliveries:
            delivery.save()
            deliver.enqueue(delivery_id=str(delivery.pk))
    return deliveries


def run_finished_notify(*, run_id) -> list[Delivery]:
    """Queue a delivery to each subscription that wants to hear how run `run_id` ended and
    whose user may still hear about its script."""
    run = Run.objects.select_related("script", "user").filter(pk=run_id).first()
    if run is None or not run.is_finished:
        return []
    subscriptions = Subscription.objects.select_related("user").filter(
        Q(scope=Subscription.Scope.OWN, user=run.user) | Q(scope=Subscription.Scope.ALL),
        script=run.script,
    )
    reason = f"run {run.status}"
    return _queue(
        [
            Delivery(
                user=subscription.user,
                subscription=subscription,
                run=run,
                reason=reason,
                channel=subscription.channel,
                target=subscription.url or subscription.user.email,
            )
            for subscription in subscriptions
            if subscription.wants(run.status)
            and may_hear(subscription.user, run.script, scope=subscription.scope)
        ]
    )


def notify_run(run: Run, users, reason: str) -> list[Delivery]:
    """Email each of `users` who may hear about `run`'s script that it ended, saying `reason`
    (e.g. "scheduled run failed"), whatever their subscriptions."""
    return _queue(
        [
            Delivery(user=user, run=run, reason=reason, channel="email", target=user.email)
            for user in users
            if user.email and may_hear(user, run.script)
        ]
    )
