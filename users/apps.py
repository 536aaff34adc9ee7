from django.apps import AppConfig
from django.contrib.admin import apps as admin_apps


class UsersConfig(AppConfig):
    """Accounts, roles and policies, tokens and cookie authentication."""

    default_auto_field = "django.db.models.BigAutoField"
    name = "users"

    def ready(self) -> None:
        from users import checks, schema  # noqa: F401 - register system checks, security schemes


class OwnerAdminConfig(admin_apps.AdminConfig):
    """Django's admin app, with the owners-only site of `users.admin` (named in INSTALLED_APPS
    in place of `django.contrib.admin`)."""

    default = False  # `users` itself stays UsersConfig
    default_site = "users.admin.OwnerAdminSite"
