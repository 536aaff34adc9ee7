"""The tick loop each queue worker runs: `fire_due` every SCHEDULES_POLL_SECONDS."""

import logging
import threading

from django.conf import settings
from django.db import close_old_connections

from schedules.services import fire_due
from simple_rbas.database import UNAVAILABLE, discard_connection

logger = logging.getLogger(__name__)


def tick_once() -> None:
    """Fire what is due now; a failure is logged, and the next round tries again."""
    try:
        close_old_connections()
        fired = fire_due()
        if fired:
            logger.info("Schedules: %d ticks handled.", fired)
    except UNAVAILABLE as error:
        logger.warning("Schedules: the database is unreachable (%s).", error)
    except Exception:
        logger.exception("Schedules: firing due ticks failed; the next round tries again.")
    finally:
        discard_connection()


def forever() -> None:
    """Run `tick_once` every SCHEDULES_POLL_SECONDS until the process exits (a daemon thread)."""
    stop = threading.Event()
    while not stop.wait(settings.SCHEDULES_POLL_SECONDS):
        tick_once()


def start() -> threading.Thread:
    """Start the tick loop in a daemon thread of this process."""
    thread = threading.Thread(target=forever, name="schedules", daemon=True)
    thread.start()
    return thread
