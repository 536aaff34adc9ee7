from django.apps import AppConfig


class NotificationsConfig(AppConfig):
    """Email and webhook notifications when runs end."""

    default_auto_field = "django.db.models.BigAutoField"
    name = "notifications"
    verbose_name = "Notifications"

    def ready(self) -> None:
        from notifications import receivers  # noqa: F401 - connects to scripts_api's signal
