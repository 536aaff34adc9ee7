"""`run_finished` is sent once for each run that ends, wherever it ends, after the commit."""

from datetime import timedelta

from django.utils import timezone

from scripts_api.execution import run_abandon, runs_reap_expired
from scripts_api.models import Run, RunStatus, Script
from scripts_api.signals import run_finished
from users.roles import Level


def test_cancelling_a_queued_run_and_reaping_a_lost_one_each_announce_once(
    catalog, users, bearer_client, django_capture_on_commit_callbacks
):
    heard = []

    def listen(sender, run_id, **kwargs):
        heard.append(str(run_id))

    run_finished.connect(listen)
    try:
        client = bearer_client(users[Level.WRITE])
        queued = client.post("/api/scripts/sleepy/runs/", {}, format="json").json()["id"]
        with django_capture_on_commit_callbacks(execute=True):
            assert client.post(f"/api/runs/{queued}/cancel/").status_code == 202
            assert client.post(f"/api/runs/{queued}/cancel/").status_code == 409
        lost = Run.objects.create(
            script=Run.objects.get(pk=queued).script,
            user=users[Level.WRITE],
            status=RunStatus.RUNNING,
            heartbeat_at=timezone.now() - timedelta(hours=1),
        )
        with django_capture_on_commit_callbacks(execute=True):
            assert runs_reap_expired() == 1
            assert runs_reap_expired() == 0
    finally:
        run_finished.disconnect(listen)
    assert heard == [queued, str(lost.pk)]


def test_a_run_abandoned_by_its_stopping_worker_is_announced_after_the_commit(
    catalog, users, django_capture_on_commit_callbacks
):
    heard = []

    def listen(sender, run_id, **kwargs):
        heard.append((run_id, Run.objects.get(pk=run_id).status))

    run_finished.connect(listen)
    try:
        run = Run.objects.create(
            script=Script.objects.get(slug="hello"),
            user=users[Level.WRITE],
            status=RunStatus.RUNNING,
            worker_id="w1",
        )
        with django_capture_on_commit_callbacks(execute=False) as callbacks:
            assert run_abandon(run_id=run.pk, worker_id="w1", reason="stopping")
            assert not run_abandon(run_id=run.pk, worker_id="w1", reason="stopping")
        assert heard == []  # nothing before the commit
        for callback in callbacks:
            callback()
    finally:
        run_finished.disconnect(listen)
    assert heard == [(run.pk, RunStatus.FAILED)]
