"""Services that write secrets, and the two that scripts_api calls around a run.

Rules that stop an admin from widening an owner's secret: a user changes or deletes only the
secrets whose policy they satisfy, and gives a secret only a policy they satisfy themselves.
"""

import logging
from collections.abc import Iterable

from django.db import IntegrityError, transaction
from django.utils import timezone
from rest_framework import exceptions

from audit import services as audit
from simple_rbas.exceptions import Conflict
from users import roles
from vault import crypto
from vault.models import DEFAULT_POLICY, Secret

# Names, policies and who acted: never a value.
logger = logging.getLogger(__name__)


class SecretUnavailable(Exception):
    """A run cannot have one of its secrets; the message says which and why (never a value)."""


def _levels(actor, levels: tuple[int, ...] | None) -> tuple[int, ...]:
    """The request's levels (`roles.request_levels`), or the actor's own outside a request."""
    return (actor.level,) if levels is None else levels


def _check_policy_given(actor, policy: str, levels: tuple[int, ...] | None) -> None:
    if not roles.allows(policy, *_levels(actor, levels)):
        raise exceptions.PermissionDenied(
            f"You cannot give a secret the '{policy}' policy: you do not satisfy it yourself.",
            code="secret_policy_not_yours",
        )


def _check_may_manage(actor, secret: Secret, levels: tuple[int, ...] | None) -> None:
    if not secret.allows(*_levels(actor, levels)):
        raise exceptions.PermissionDenied(
            f"The secret {secret.name} has the '{secret.policy}' policy, which you do not "
            "satisfy: only its users may change or delete it.",
            code="secret_policy_not_yours",
        )


def secret_create(
    *,
    actor,
    name: str,
    value: str,
    description: str = "",
    policy: str = DEFAULT_POLICY,
    levels: tuple[int, ...] | None = None,
) -> Secret:
    """Store a new secret, its value encrypted; 400 when the name is taken."""
    _check_policy_given(actor, policy, levels)
    now = timezone.now()
    try:
        with transaction.atomic():
            secret = Secret.objects.create(
                name=name,
                encrypted_value=crypto.encrypt(value),
                description=description,
                policy=policy,
                created_by=actor,
                updated_by=actor,
                created_at=now,
                updated_at=now,
                value_changed_at=now,
            )
            audit.record("secret.created", actor=actor, target=secret, policy=policy)
    except IntegrityError:
        raise exceptions.ValidationError(
            {"name": [f"A secret named {name} already exists."]}, code="unique"
        ) from None
    logger.info("Secret %s created by user %s (policy %s).", name, actor.pk, policy)
    return secret


def secret_update(
    *,
    actor,
    secret: Secret,
    value: str | None = None,
    description: str | None = None,
    policy: str | None = None,
    levels: tuple[int, ...] | None = None,
) -> Secret:
    """Change a secret's value, description or policy (the rules above apply)."""
    _check_may_manage(actor, secret, levels)
    now = timezone.now()
    if policy is not None:
        _check_policy_given(actor, policy, levels)
        secret.policy = policy
    if description is not None:
        secret.description = description
    if value is not None:
        secret.encrypted_value = crypto.encrypt(value)
        secret.value_changed_at = now
    secret.updated_by, secret.updated_at = actor, now
    changed = [n for n, v in (("value", value), ("description", description), ("policy", policy))
               if v is not None]  # fmt: skip
    with transaction.atomic():
        secret.save()
        audit.record(
            "secret.changed", actor=actor, target=secret, fields=changed, policy=secret.policy
        )
    logger.info("Secret %s: %s changed by user %s.", secret.name, ", ".join(changed), actor.pk)
    return secret


def secret_delete(*, actor, secret: Secret, levels: tuple[int, ...] | None = None) -> None:
    """Delete a secret; scripts declaring it cannot run until it exists again."""
    _check_may_manage(actor, secret, levels)
    with transaction.atomic():
        audit.record("secret.deleted", actor=actor, target=secret)
        secret.delete()
    logger.info("Secret %s deleted by user %s.", secret.name, actor.pk)


def secrets_check_run(*, user, names: Iterable[str], levels: tuple[int, ...] | None = None) -> None:
    """Before a run is queued: 403 naming the secret whose policy `user` (with the request's
    `levels`) does not satisfy, 409 naming a declared secret that does not exist."""
    names = list(names)
    if not names:
        return
    found = {s.name: s for s in Secret.objects.filter(name__in=names).only("name", "policy")}
    for name in names:
        secret = found.get(name)
        if secret is None:
            raise Conflict(
                f"This script reads the secret {name}, which does not exist: an admin must "
                "create it first.",
                code="secret_missing",
            )
        if not secret.allows(*_levels(user, levels)):
            raise exceptions.PermissionDenied(
                f"This script reads the secret {name}, which only the '{secret.policy}' policy "
                "may use.",
                code="secret_policy_denied",
            )


def secrets_for_run(*, user, names: Iterable[str], run_id=None) -> dict[str, str]:
    """The decrypted values (name -> value) of exactly `names`, for a run of `user`, checked
    again at execution (a secret may have changed since the run was queued);
    SecretUnavailable when one is missing, refused to `user`, or undecryptable. Each read is
    audited as `secret.read` with the run's id."""
    names = list(names)
    if not names:
        return {}
    found = {s.name: s for s in Secret.objects.filter(name__in=names)}
    values = {}
    for name in names:
        secret = found.get(name)
        if secret is None:
            raise SecretUnavailable(f"The secret {name} does not exist (any more).")
        if not secret.allows(user.level):
            raise SecretUnavailable(
                f"The secret {name} now needs the '{secret.policy}' policy, which the run's "
                "user does not satisfy."
            )
        try:
            values[name] = crypto.decrypt(secret.encrypted_value, name)
        except crypto.UndecryptableSecret as error:
            raise SecretUnavailable(str(error)) from None
    with transaction.atomic():
        for name in names:
            audit.record("secret.read", actor=user, target=found[name], run=run_id and str(run_id))
    return values


@transaction.atomic
def secrets_rotate(*, from_derived: bool = False) -> tuple[int, list[str]]:
    """Re-encrypt every value with the first key: (how many were rotated, names no key opens).
    `from_derived`: values encrypted with the key derived from SECRET_KEY are opened too."""
    rotated, failed = 0, []
    for secret in Secret.objects.select_for_update().order_by("name"):
        try:
            token = crypto.rotate(secret.encrypted_value, secret.name, from_derived=from_derived)
        except crypto.UndecryptableSecret:
            failed.append(secret.name)
            continue
        Secret.objects.filter(pk=secret.pk).update(encrypted_value=token)
        rotated += 1
    return rotated, failed
