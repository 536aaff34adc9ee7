"""Throttles for the credential endpoints, counted in the Django cache.

Per client address, views use DRF's `ScopedRateThrottle` with their `throttle_scope`.
"""

import hashlib
import unicodedata

from rest_framework.throttling import SimpleRateThrottle


def folded(value: str) -> str:
    """A name or address as the throttles count it: NFKC as usernames are stored, then
    casefolded (final sigma, sharp s: as the database's case-insensitive comparison may fold
    them)."""
    return unicodedata.normalize("NFKC", value.strip()).casefold()


class BodyFieldThrottle(SimpleRateThrottle):
    """Limits requests per value of one body field (a username, an email), whoever sends them
    and from wherever. The value counts however it is spelt: NFKC as usernames are stored,
    then casefolded (final sigma, sharp s: as the database's case-insensitive comparison may
    fold them)."""

    field = ""

    def get_value(self, request) -> object:
        """The value the request names (any JSON type), from the body."""
        data = request.data
        return data.get(self.field) if isinstance(data, dict) else None

    def get_cache_key(self, request, view):
        value = self.get_value(request)
        if not isinstance(value, str) or not value:
            return None
        ident = hashlib.sha256(folded(value).encode("utf-8", "surrogatepass")).hexdigest()
        return self.cache_format % {"scope": self.scope, "ident": ident}


class LoginUsernameThrottle(BodyFieldThrottle):
    """Limits login attempts per username."""

    scope = "login_username"
    field = "username"


class PasswordResetEmailThrottle(BodyFieldThrottle):
    """Limits reset links per address: nobody can flood a mailbox with them."""

    scope = "password_reset_email"
    field = "email"


class AdminLoginUsernameThrottle(LoginUsernameThrottle):
    """The same limit and counts, for the Django admin's sign-in form (a plain Django request)."""

    def get_value(self, request) -> object:
        return request.POST.get("username")
