"""Record audit events: `audit.record("user.level_changed", actor=..., target=..., **data)`.

Call it inside the transaction of the change it records, so that both are kept or neither.
"""

from datetime import timedelta

from django.conf import settings
from django.db import models
from django.utils import timezone

from audit.context import address_of, client_address
from audit.models import AuditEvent
from simple_rbas.logging import request_id

# Names that would carry a credential: a call passing one is a bug, refused loudly.
FORBIDDEN_KEYS = frozenset({"password", "token", "secret", "value", "raw", "refresh", "access"})


def _target_fields(target) -> dict:
    if target is None:
        return {}
    if isinstance(target, models.Model):
        kind, pk, label = target._meta.model_name, target.pk, str(target)
    else:  # (type, id, label), for a target that is not a row
        kind, pk, label = target
    return {"target_type": kind, "target_id": str(pk)[:64], "target_label": str(label)[:200]}


def record(event: str, *, actor=None, target=None, request=None, **data) -> AuditEvent:
    """Append one event. `actor` is a user (or None: anonymous, a worker); `target` a model
    instance or a `(type, id, label)` tuple; `data` small JSON values such as `from`/`to`,
    never a credential (a key in FORBIDDEN_KEYS raises ValueError)."""
    forbidden = FORBIDDEN_KEYS.intersection(data)
    if forbidden:
        raise ValueError(f"Audit data must not carry credentials: {sorted(forbidden)}")
    address = address_of(request) if request is not None else client_address.get()
    if actor is not None and not getattr(actor, "is_authenticated", False):
        actor = None
    return AuditEvent.objects.create(
        created_at=timezone.now(),
        event=event,
        actor=actor,
        actor_username=actor.get_username() if actor is not None else "",
        client_address=address or "",
        request_id=request_id.get() or "",
        data=data,
        **_target_fields(target),
    )


def prune(*, now=None) -> int:
    """Delete the events older than `AUDIT_RETENTION_DAYS` (0 keeps them all); return how many."""
    days = settings.AUDIT_RETENTION_DAYS
    if not days:
        return 0
    before = (now or timezone.now()) - timedelta(days=days)
    return AuditEvent.objects.prune(before=before)
