"""Reading the audit log."""

from django.db.models import QuerySet

from audit.models import AuditEvent


def events_filtered(filters: dict) -> QuerySet[AuditEvent]:
    """The events matching validated filters: `event` (exact, or a prefix ending in `.`),
    `actor`, `target_type`, `target_id`, `since` (inclusive) and `until` (exclusive)."""
    events = AuditEvent.objects.all()
    event = filters.get("event")
    if event:
        events = (
            events.filter(event__startswith=event)
            if event.endswith(".")
            else events.filter(event=event)
        )
    lookups = {
        "actor": "actor_id",
        "target_type": "target_type",
        "target_id": "target_id",
        "since": "created_at__gte",
        "until": "created_at__lt",
    }
    return events.filter(**{lookups[k]: v for k, v in filters.items() if k in lookups})
