"""Audit events are written once: the model refuses updates and deletes, on PostgreSQL so
does the database, and only the retention prune removes them."""

import io
from datetime import timedelta

import pytest
from django.core.management import call_command
from django.db import DatabaseError, connection, transaction
from django.utils import timezone

from audit import services as audit
from audit.admin import AuditEventAdmin
from audit.models import AppendOnlyError, AuditEvent
from users.roles import Level


def old_event(name: str, days: float) -> AuditEvent:
    """An event recorded `days` ago (inserted so, as nothing may update it)."""
    return AuditEvent.objects.create(
        created_at=timezone.now() - timedelta(days=days), event=name, data={}
    )


def test_the_model_refuses_to_change_or_delete_an_event(db):
    event = audit.record("auth.login")
    event.event = "auth.logout"
    with pytest.raises(AppendOnlyError):
        event.save()
    with pytest.raises(AppendOnlyError):
        event.delete()
    with pytest.raises(AppendOnlyError):
        AuditEvent.objects.all().delete()
    with pytest.raises(AppendOnlyError):
        AuditEvent.objects.update(event="forged")
    with pytest.raises(AppendOnlyError):
        AuditEvent.objects.filter(pk=event.pk).update(data={"forged": True})
    assert AuditEvent.objects.get().event == "auth.login"


def test_deleting_the_actor_keeps_the_event_and_its_name(make_user):
    user = make_user(Level.WRITE, username="leaver")
    audit.record("token.created", actor=user)
    user.delete()
    event = AuditEvent.objects.get()
    assert (event.actor_id, event.actor_username) == (None, "leaver")


def test_the_admin_site_is_read_only(rf, db):
    admin = AuditEventAdmin(AuditEvent, None)
    request = rf.get("/")
    assert not admin.has_add_permission(request)
    assert not admin.has_change_permission(request)
    assert not admin.has_delete_permission(request)


@pytest.mark.skipif(connection.vendor != "postgresql", reason="PostgreSQL only")
def test_postgresql_refuses_an_update_even_in_raw_sql(db):
    event = audit.record("auth.login")
    with (
        pytest.raises(DatabaseError, match="append-only"),
        transaction.atomic(),
        connection.cursor() as cursor,
    ):
        cursor.execute("UPDATE audit_auditevent SET event = 'forged' WHERE id = %s", [event.pk])
    assert AuditEvent.objects.get().event == "auth.login"


def test_the_prune_removes_only_events_past_the_retention(db, settings):
    settings.AUDIT_RETENTION_DAYS = 30
    old_event("auth.login", days=31)
    kept = [old_event("auth.login", days=29).pk, audit.record("auth.login").pk]
    call_command("prune_audit", stdout=io.StringIO())
    assert sorted(AuditEvent.objects.values_list("pk", flat=True)) == sorted(kept)


def test_a_retention_of_zero_keeps_everything(db, settings):
    settings.AUDIT_RETENTION_DAYS = 0
    old_event("auth.login", days=10_000)
    call_command("prune_audit", stdout=io.StringIO())
    assert AuditEvent.objects.count() == 1
