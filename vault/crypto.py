"""Encryption of secret values at rest: Fernet keys from SECRETS_ENCRYPTION_KEYS, the first
encrypting and all of them decrypting (MultiFernet), so that keys can be rotated.

Without SECRETS_ENCRYPTION_KEYS a key is derived from SECRET_KEY (HKDF-SHA256), so that a local
`make run` works; `manage.py check --deploy` warns about it (vault.W001).
"""

import base64
import functools

from cryptography.fernet import Fernet, InvalidToken, MultiFernet
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.kdf.hkdf import HKDF
from django.conf import settings
from django.core.exceptions import ImproperlyConfigured


class UndecryptableSecret(Exception):
    """No configured key decrypts a stored value (the message names the secret, never a value)."""


def derived_key(secret_key: str) -> bytes:
    """The Fernet key used when SECRETS_ENCRYPTION_KEYS is empty: HKDF of SECRET_KEY."""
    hkdf = HKDF(
        algorithm=hashes.SHA256(), length=32, salt=None, info=b"simple-rbas secrets encryption"
    )
    return base64.urlsafe_b64encode(hkdf.derive(secret_key.encode()))


def keys() -> list[bytes]:
    """The configured keys, the encrypting one first."""
    configured = [key.strip() for key in settings.SECRETS_ENCRYPTION_KEYS if key.strip()]
    if not configured:
        return [derived_key(settings.SECRET_KEY)]
    return [key.encode() for key in configured]


@functools.cache
def _fernet(key_tuple: tuple[bytes, ...]) -> MultiFernet:
    try:
        return MultiFernet([Fernet(key) for key in key_tuple])
    except ValueError:
        # Never the key in the message: say which position is wrong.
        raise ImproperlyConfigured(
            "SECRETS_ENCRYPTION_KEYS holds a value that is not a Fernet key (32 url-safe "
            "base64-encoded bytes; make one with `python manage.py rotate_secrets --new-key`)."
        ) from None


def fernet() -> MultiFernet:
    """The MultiFernet of the current keys."""
    return _fernet(tuple(keys()))


def encrypt(value: str) -> str:
    """The token stored for `value`, encrypted with the first key."""
    return fernet().encrypt(value.encode()).decode("ascii")


def decrypt(token: str, name: str) -> str:
    """The value behind `token`; UndecryptableSecret when no configured key opens it."""
    try:
        return fernet().decrypt(token.encode("ascii")).decode()
    except (InvalidToken, UnicodeError):
        raise UndecryptableSecret(
            f"The secret {name} cannot be decrypted with the keys in SECRETS_ENCRYPTION_KEYS "
            "(was the key that encrypted it removed?). An admin can set its value again."
        ) from None


def rotate(token: str, name: str, *, from_derived: bool = False) -> str:
    """`token` re-encrypted with the first key (UndecryptableSecret when no key opens it);
    `from_derived` also tries the key derived from SECRET_KEY, to move off it."""
    extra = [derived_key(settings.SECRET_KEY)] if from_derived else []
    try:
        return _fernet(tuple(keys() + extra)).rotate(token.encode("ascii")).decode("ascii")
    except InvalidToken:
        raise UndecryptableSecret(
            f"The secret {name} cannot be decrypted with any key in SECRETS_ENCRYPTION_KEYS."
        ) from None


def new_key() -> str:
    """A fresh random Fernet key."""
    return Fernet.generate_key().decode("ascii")
