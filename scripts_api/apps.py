from django.apps import AppConfig


class ScriptsApiConfig(AppConfig):
    """Script catalog, runs, the sandboxed runner and the queue task."""

    default_auto_field = "django.db.models.BigAutoField"
    name = "scripts_api"
    verbose_name = "Scripts"
