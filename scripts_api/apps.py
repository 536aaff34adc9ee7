from django.apps import AppConfig


class ScriptsApiConfig(AppConfig):
    """Script catalog, runs, the sandboxed runner and the queue task."""

    default_auto_field = "django.db.models.BigAutoField"
    name = "scripts_api"
    verbose_name = "Scripts"

    def ready(self) -> None:
        from scripts_api.selectors import scripts_declaring_secrets
        from vault import usage

        usage.register(scripts_declaring_secrets)
