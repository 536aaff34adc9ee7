"""Emails survive their worker: a real worker process SIGKILLed in the middle of an SMTP
conversation leaves its task to another worker, which sends the link."""

import os
import signal

from django_tasks import TaskResultStatus
from django_tasks_db.models import DBTaskResult

from tests.conftest import wait_for
from users.tasks import send_password_reset

LEASE_SECONDS = 2


def test_a_reset_link_whose_worker_was_killed_mid_sending_still_arrives(
    start_worker, mail_server, api_client, make_user, settings
):
    make_user(email="kim@example.com")
    env = {
        "SECRET_KEY": settings.SECRET_KEY,  # the links the worker signs are checked here
        "EMAIL_URL": mail_server.url,
        "PUBLIC_URL": "https://rbas.example.com",
        "RUN_LEASE_SECONDS": str(LEASE_SECONDS),
    }
    mail_server.stall()  # the mail server takes the message and never answers
    doomed = start_worker(**env)
    reset = api_client.post(
        "/api/auth/password-reset/", {"email": "kim@example.com"}, format="json"
    )
    assert reset.status_code == 202
    wait_for(lambda: mail_server.stalled >= 1)
    os.killpg(doomed.pid, signal.SIGKILL)
    doomed.wait()
    mail_server.release()
    assert mail_server.to("kim@example.com") == []  # the killed sending was never acknowledged

    start_worker(**env)  # its housekeeping queues the orphaned task again after a lease
    message = mail_server.wait_for("kim@example.com", timeout=LEASE_SECONDS + 20)
    assert message.link.startswith("https://rbas.example.com/reset-password#")
    confirm = api_client.post(
        "/api/auth/password-reset/confirm/",
        {"token": message.token, "new_password": "kim-chose-a-new-one-31"},
        format="json",
    )
    assert confirm.status_code == 204
    task = DBTaskResult.objects.get(task_path=send_password_reset.module_path)
    wait_for(lambda: DBTaskResult.objects.get(pk=task.pk).status == TaskResultStatus.SUCCESSFUL)
    assert len(DBTaskResult.objects.get(pk=task.pk).worker_ids) == 2  # the dead one, then the next
