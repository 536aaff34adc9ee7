"""Schedules with the apps beside them: their changes in the audit log, and a failed scheduled
run told to the schedule's owner by email."""

import textwrap
from datetime import UTC, datetime, timedelta

import pytest

from audit.models import AuditEvent
from notifications.models import Delivery
from schedules import services
from schedules.models import Schedule
from scripts_api.models import Run, RunStatus, Script
from scripts_api.services import scripts_sync
from users.roles import Level

pytestmark = pytest.mark.django_db

FAILING = '''
    """Nightly job that breaks"""

    POLICY = "staff"

    def main():
        raise RuntimeError("the warehouse export is missing")
'''


def test_every_schedule_change_is_in_the_audit_log(catalog, users, bearer_client):
    owner, writer = users[Level.OWNER], users[Level.WRITE]
    client = bearer_client(owner)
    created = client.post(
        "/api/schedules/",
        {
            "script": "hello",
            "cron": "0 7 * * MON",
            "params": {"name": "team"},
            "run_as": writer.username,
        },
        format="json",
        REMOTE_ADDR="203.0.113.9",
    )
    assert created.status_code == 201, created.json()
    pk = created.json()["id"]
    assert (
        client.patch(f"/api/schedules/{pk}/", {"cron": "0 8 * * MON"}, format="json").status_code
        == 200
    )
    assert client.post(f"/api/schedules/{pk}/pause/").status_code == 200
    assert client.post(f"/api/schedules/{pk}/resume/").status_code == 200
    assert client.delete(f"/api/schedules/{pk}/").status_code == 204

    events = list(AuditEvent.objects.filter(event__startswith="schedule.").order_by("created_at"))
    assert [event.event for event in events] == [
        "schedule.created",
        "schedule.changed",
        "schedule.paused",
        "schedule.resumed",
        "schedule.deleted",
    ]
    assert {(event.actor_id, event.target_type, event.target_id) for event in events} == {
        (owner.pk, "schedule", str(pk))
    }
    assert events[0].client_address == "203.0.113.9" and events[0].request_id
    assert events[0].data["cron"] == "0 7 * * MON" and events[1].data["cron"] == "0 8 * * MON"
    assert events[0].data["run_as"] == writer.username and events[2].data["paused"] is True


def test_a_refused_change_leaves_no_audit_event(catalog, users, bearer_client):
    response = bearer_client(users[Level.OWNER]).post(
        "/api/schedules/", {"script": "hello", "cron": "61 * * * *"}, format="json"
    )
    assert response.status_code == 400
    assert not AuditEvent.objects.filter(event__startswith="schedule.").exists()


def test_a_failed_scheduled_run_emails_the_schedules_owner(
    catalog, users, run_queued_tasks, smtp, django_capture_on_commit_callbacks
):
    (catalog / "nightly_export.py").write_text(textwrap.dedent(FAILING))
    assert not scripts_sync().rejected
    admin, writer = users[Level.ADMIN], users[Level.WRITE]
    Schedule.objects.create(
        script=Script.objects.get(slug="nightly-export"),
        cron="0 3 * * *",
        timezone="UTC",
        run_as=writer,
        owner=admin,
        next_run_at=datetime(2027, 3, 2, 3, tzinfo=UTC),
    )
    assert services.fire_due(datetime(2027, 3, 2, 3, tzinfo=UTC) + timedelta(seconds=2)) == 1

    with django_capture_on_commit_callbacks(execute=True):
        assert run_queued_tasks() == 1  # the run itself, in the real sandbox: it fails
    run = Run.objects.get()
    assert run.status == RunStatus.FAILED and "warehouse export" in run.error
    with django_capture_on_commit_callbacks(execute=True):
        assert run_queued_tasks() == 1  # the owner's email

    message = smtp.wait_for(admin.email)
    assert "scheduled run failed" in message.subject
    assert Delivery.objects.get(user=admin).status == "delivered"
    assert smtp.to(writer.email) == []  # the run-as user subscribed to nothing


def test_a_scheduled_run_that_succeeds_tells_nobody(
    catalog, users, run_queued_tasks, smtp, django_capture_on_commit_callbacks
):
    Schedule.objects.create(
        script=Script.objects.get(slug="hello"),
        cron="0 3 * * *",
        timezone="UTC",
        run_as=users[Level.WRITE],
        owner=users[Level.ADMIN],
        next_run_at=datetime(2027, 3, 2, 3, tzinfo=UTC),
    )
    assert services.fire_due(datetime(2027, 3, 2, 3, 0, 2, tzinfo=UTC)) == 1
    with django_capture_on_commit_callbacks(execute=True):
        assert run_queued_tasks() == 1
    assert Run.objects.get().status == RunStatus.SUCCEEDED
    assert run_queued_tasks() == 0
    assert not Delivery.objects.exists()
