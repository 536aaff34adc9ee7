from django.apps import AppConfig


class UsersConfig(AppConfig):
    """Accounts, roles and policies, tokens and cookie authentication."""

    default_auto_field = "django.db.models.BigAutoField"
    name = "users"

    def ready(self) -> None:
        from users import schema  # noqa: F401 - registers the OpenAPI security schemes
