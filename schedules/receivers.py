"""What the schedules app does when scripts_api signals (connected in `apps.ready`)."""

import logging

from schedules import file_schedules, ticker

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
