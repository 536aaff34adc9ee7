"""Django's database sessions, refusing session keys Django never issues.

A quoted cookie may carry octal escapes (`sessionid="abcdefgh\\000"`), which Django's cookie
parser decodes into a NUL; PostgreSQL refuses that in the session lookup, a 500 on the single
sign-on callback and on the admin. Such a key now means "no session", like any unknown key.
"""

import re

from django.contrib.sessions.backends import db

# Django makes 32 characters from lowercase letters and digits; its column holds 40.
_ISSUED_KEY = re.compile(r"[a-z0-9]{8,40}")


class SessionStore(db.SessionStore):
    """The database session store, taking only keys made of the characters Django issues."""

    def _validate_session_key(self, key: str | None) -> bool:
        return key is not None and _ISSUED_KEY.fullmatch(key) is not None
