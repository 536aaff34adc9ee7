from django.apps import AppConfig


class ProviderConfig(AppConfig):
    """RBAS as an OAuth2 / OpenID Connect provider (django-oauth-toolkit)."""

    default_auto_field = "django.db.models.BigAutoField"
    name = "provider"

    def ready(self) -> None:
        from provider import checks, schema  # noqa: F401 - register system checks, security scheme
