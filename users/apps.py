from django.apps import AppConfig


class UsersConfig(AppConfig):
    """Accounts, roles and policies, tokens and cookie authentication."""

    default_auto_field = "django.db.models.BigAutoField"
    name = "users"
