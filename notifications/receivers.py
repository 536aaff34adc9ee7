"""Listens to scripts_api: each ended run is handed to the notification service."""

from django.dispatch import receiver

from notifications import services
from scripts_api.signals import run_finished


@receiver(run_finished, dispatch_uid="notifications.run_finished")
def on_run_finished(sender, run_id, **kwargs) -> None:
    """Queue the deliveries run `run_id`'s end calls for."""
    services.run_finished_notify(run_id=run_id)
