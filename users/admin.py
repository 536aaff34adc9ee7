"""The Django admin's site: open only to active owners, with its sign-in throttled like the API's.

Django's admin would admit anyone with `is_staff`, whatever their level; here the level decides,
on every request, so an owner demoted through the API loses the admin at their next request.
"""

from types import SimpleNamespace

from django.contrib import admin
from django.contrib.admin.forms import AdminAuthenticationForm
from django.core.exceptions import ValidationError
from django.http import HttpResponse
from rest_framework.throttling import ScopedRateThrottle

from users import roles
from users.throttling import AdminLoginUsernameThrottle


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

    # The throttles read the scope from the view, as the API's LoginView gives it.
    login_throttle_view = SimpleNamespace(throttle_scope="login_address")

    def has_permission(self, request) -> bool:
        return is_admin_user(request.user)

    def login(self, request, extra_context=None):
        """Django's sign-in form, counted against the API login's throttles (per username and
        per address), so it offers no way around them."""
        if request.method == "POST":
            wait = self.login_throttle_wait(request)
            if wait is not None:
                response = HttpResponse(
                    "Too many sign-in attempts. Try again later.",
                    status=429,
                    content_type="text/plain",
                )
                response["Retry-After"] = str(max(1, int(wait)))
                return response
        return super().login(request, extra_context)

    def login_throttle_wait(self, request) -> float | None:
        """Seconds to wait when a throttle refuses this attempt, else None."""
        for throttle in (AdminLoginUsernameThrottle(), ScopedRateThrottle()):
            if not throttle.allow_request(request, self.login_throttle_view):
                return throttle.wait() or 60
        return None
