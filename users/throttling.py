"""Throttles for the credential endpoints, counted in the Django cache.

Per client address, views use DRF's `ScopedRateThrottle` with their `throttle_scope`.
"""

import hashlib
import unicodedata

from rest_framework.throttling import SimpleRateThrottle


class LoginUsernameThrottle(SimpleRateThrottle):
    """Limits login attempts per username, whoever makes them and from wherever."""

    scope = "login_username"

    def get_username(self, request) -> object:
        """The username the attempt names (any JSON type), from the body."""
        data = request.data
        return data.get("username") if isinstance(data, dict) else None

    def get_cache_key(self, request, view):
        username = self.get_username(request)
        if not isinstance(username, str) or not username:
            return None
        # One count per name however it is spelt: NFKC as usernames are stored, then casefold
        # (final sigma, sharp s: as the database's case-insensitive comparison may fold them).
        name = unicodedata.normalize("NFKC", username.strip()).casefold()
        ident = hashlib.sha256(name.encode("utf-8", "surrogatepass")).hexdigest()
        return self.cache_format % {"scope": self.scope, "ident": ident}


class AdminLoginUsernameThrottle(LoginUsernameThrottle):
    """The same limit and counts, for the Django admin's sign-in form (a plain Django request)."""

    def get_username(self, request) -> object:
        return request.POST.get("username")
