from django.apps import AppConfig


class SchedulesConfig(AppConfig):
    """Cron schedules of script runs and the one-run-per-tick loop."""

    default_auto_field = "django.db.models.BigAutoField"
    name = "schedules"

    def ready(self) -> None:
        from schedules import receivers
        from scripts_api.signals import run_finished, scripts_synced, worker_started

        scripts_synced.connect(receivers.on_scripts_synced, dispatch_uid="schedules.sync")
        worker_started.connect(receivers.on_worker_started, dispatch_uid="schedules.ticker")
        run_finished.connect(receivers.on_run_finished, dispatch_uid="schedules.run_failed")
