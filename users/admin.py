"""The Django admin's site: open only to active owners.

Django's admin would admit anyone with `is_staff`, whatever their level; here the level decides,
on every request, so an owner demoted through the API loses the admin at their next request.
"""

from django.contrib import admin
from django.contrib.admin.forms import AdminAuthenticationForm
from django.core.exceptions import ValidationError

from users import roles


def is_admin_user(user) -> bool:
    """Whether `user` may use the Django admin: active, staff, and at the owner level."""
    return bool(
        user.is_active and user.is_staff and roles.allows("owner", getattr(user, "level", -1))
    )


class OwnerAuthenticationForm(AdminAuthenticationForm):
    """The admin's sign-in form, refusing staff users below the owner level."""

    def confirm_login_allowed(self, user) -> None:
        super().confirm_login_allowed(user)
        if not is_admin_user(user):
            raise ValidationError(
                self.error_messages["invalid_login"],
                code="invalid_login",
                params={"username": self.username_field.verbose_name},
            )


class OwnerAdminSite(admin.AdminSite):
    """Django's admin site for active owners with Django staff rights only."""

    login_form = OwnerAuthenticationForm

    def has_permission(self, request) -> bool:
        return is_admin_user(request.user)
