from django.apps import AppConfig


class AuditConfig(AppConfig):
    """Who did what, when and from where: an append-only record every app writes through
    `audit.services.record`. It imports no feature app."""

    default_auto_field = "django.db.models.BigAutoField"
    name = "audit"
    verbose_name = "Audit log"
