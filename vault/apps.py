from django.apps import AppConfig


class VaultConfig(AppConfig):
    """Secrets for scripts: stored encrypted, written only, handed to the runs that declare them."""

    default_auto_field = "django.db.models.BigAutoField"
    name = "vault"
    verbose_name = "Secrets"

    def ready(self) -> None:
        from vault import checks  # noqa: F401 - registers the deploy checks
