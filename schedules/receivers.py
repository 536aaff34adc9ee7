"""What the schedules app does when scripts_api signals (connected in `apps.ready`)."""

import logging

from notifications import services as notifications
from notifications.models import FAILURE_STATUSES
from schedules import file_schedules, selectors, ticker
from scripts_api.models import Run

logger = logging.getLogger(__name__)


def on_scripts_synced(sender, *, specs, kept, **kwargs) -> list[str]:
    """Bring the script files' own schedules in line with the files just synced; the warnings
    are logged and printed by `sync_scripts`."""
    warnings = file_schedules.file_schedules_sync(specs=specs, kept=kept)
    for warning in warnings:
        logger.warning("sync_scripts: %s.", warning)
    return warnings


def on_worker_started(sender, **kwargs) -> None:
    """Each queue worker also runs the tick loop."""
    ticker.start()


def on_run_finished(sender, *, run_id, **kwargs) -> None:
    """A scheduled run that failed (or timed out) tells its schedule's owner by email,
    whatever their subscriptions: nobody watches a run that started at 7 in the morning."""
    failed = Run.objects.filter(pk=run_id, status__in=FAILURE_STATUSES)
    run = failed.select_related("script").first()
    schedule = selectors.schedule_of_run(run) if run is not None else None
    if schedule is not None and schedule.owner is not None and schedule.owner.is_active:
        notifications.notify_run(run, [schedule.owner], "scheduled run failed")
