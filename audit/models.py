"""The audit event: written once, never changed; removed only by the retention prune."""

import uuid

from django.conf import settings
from django.db import models


class AppendOnlyError(Exception):
    """An audit event was about to be changed or deleted."""


class AuditEventQuerySet(models.QuerySet):
    """Refuses updates and deletes; `prune()` is the retention's one way out."""

    def update(self, **fields):
        # Deleting a user sets `actor` to NULL through this method; `actor_username` keeps the name.
        if set(fields) != {"actor"} or fields["actor"] is not None:
            raise AppendOnlyError("Audit events cannot be changed.")
        return super().update(**fields)

    def delete(self):
        raise AppendOnlyError("Audit events cannot be deleted (the retention prune removes them).")

    def prune(self, *, before) -> int:
        """Delete the events older than `before`; only `manage.py prune_audit` calls this."""
        deleted, _ = models.QuerySet.delete(self.filter(created_at__lt=before))
        return deleted


class AuditEvent(models.Model):
    """One security-relevant event: what, who, to what, when, from where, in which request."""

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    created_at = models.DateTimeField(db_index=True)
    event = models.CharField(max_length=64, db_index=True)
    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    actor_username = models.CharField(max_length=150, blank=True)
    target_type = models.CharField(max_length=64, blank=True)
    target_id = models.CharField(max_length=64, blank=True)
    target_label = models.CharField(max_length=200, blank=True)
    client_address = models.CharField(max_length=64, blank=True)
    request_id = models.CharField(max_length=128, blank=True)
    data = models.JSONField(default=dict, blank=True)

    objects = AuditEventQuerySet.as_manager()

    class Meta:
        ordering = ["-created_at", "-id"]
        indexes = [
            models.Index(fields=["created_at", "id"], name="audit_created_id"),
            models.Index(fields=["target_type", "target_id"], name="audit_target"),
        ]

    def __str__(self) -> str:
        return (
            f"{self.event} by {self.actor_username or '-'} at {self.created_at:%Y-%m-%d %H:%M:%S}"
        )

    def save(self, *args, **kwargs):
        if not self._state.adding:
            raise AppendOnlyError("Audit events cannot be changed.")
        super().save(*args, **kwargs)

    def delete(self, *args, **kwargs):
        raise AppendOnlyError("Audit events cannot be deleted.")
