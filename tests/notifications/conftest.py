"""Fixtures of the notification tests: webhook receivers, and finished runs."""

import pytest
from django.utils import timezone

from scripts_api.models import Run, RunStatus, Script
from tests.notifications.receiver import Receiver


@pytest.fixture
def receivers():
    """Start real webhook receivers (`Receiver`); stopped afterwards."""
    started = []

    def start(*args, **kwargs) -> Receiver:
        started.append(Receiver(*args, **kwargs))
        return started[-1]

    yield start
    for receiver in started:
        receiver.stop()


@pytest.fixture
def local_webhooks(settings):
    """Webhooks may go to the tests' receivers on http://127.0.0.1 (off by default)."""
    settings.NOTIFICATION_WEBHOOK_ALLOW_HTTP = True
    settings.NOTIFICATION_WEBHOOK_ALLOW_PRIVATE = True
    settings.NOTIFICATION_BACKOFF_SECONDS = 0
    settings.NOTIFICATION_TIMEOUT_SECONDS = 5


@pytest.fixture
def finish_run(catalog, django_capture_on_commit_callbacks):
    """End a new run of `slug` by `user` with `status`, announcing it as the worker does."""
    from scripts_api.signals import announce_finished

    def finish(user, slug: str = "hello", status: str = RunStatus.FAILED) -> Run:
        now = timezone.now()
        run = Run.objects.create(
            script=Script.objects.get(slug=slug),
            script_version="v",
            user=user,
            status=status,
            started_at=now,
            finished_at=now,
        )
        with django_capture_on_commit_callbacks(execute=True):
            announce_finished(run.pk)  # as the worker does, once the outcome is committed
        return run

    return finish
