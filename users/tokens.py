"""Signed JWTs (python-jose, HS256) and the one wrapper that decodes them.

Every token carries `sub` (user id), `type`, `jti`, `sid` (its login session), `iat`, `exp` and
`iss`. Decoding pins the algorithm and requires every claim: python-jose would otherwise accept a
token without `exp`, or a header naming another algorithm. It also accepts what this wrapper
refuses: an `iat` in the future, `exp` or `iat` as strings (`int("9999999999")`), and a `crit`
header naming extensions it does not understand (RFC 7515 says such a token must be refused).
"""

import functools
import json
import secrets
import uuid
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from django.conf import settings
from django.utils import timezone
from jose import jwk, jwt
from jose.exceptions import JOSEError
from jose.utils import base64url_decode
from rest_framework.exceptions import AuthenticationFailed

from simple_rbas.api import MAX_DATABASE_INTEGER

ACCESS = "access"
REFRESH = "refresh"
ALGORITHM = "HS256"
# Far above any token this service issues; refuses megabyte "tokens" before parsing them.
MAX_TOKEN_LENGTH = 2048
# How far in the future `iat` may be: the clocks of the pods that sign and verify may differ.
IAT_LEEWAY_SECONDS = 30

_DECODE_OPTIONS = {
    "verify_signature": True,
    "verify_exp": True,
    "verify_iat": True,
    "verify_iss": True,
    "verify_aud": False,
    "require_exp": True,
    "require_iat": True,
    "require_iss": True,
    "require_sub": True,
    "require_jti": True,
}


@dataclass(frozen=True)
class TokenClaims:
    """The verified claims of a token, already converted to their Python types."""

    user_id: int
    session_id: uuid.UUID
    jti: str
    token_type: str
    expires_at: datetime


@dataclass(frozen=True)
class EncodedToken:
    """A freshly signed token and its claims."""

    raw: str
    claims: TokenClaims


def lifetime(token_type: str) -> timedelta:
    """Return how long a token of `token_type` lives."""
    return {ACCESS: settings.ACCESS_TOKEN_LIFETIME, REFRESH: settings.REFRESH_TOKEN_LIFETIME}[
        token_type
    ]


def encode_token(*, user_id: int, session_id: uuid.UUID, token_type: str) -> EncodedToken:
    """Sign a token of `token_type` for the user's login session."""
    issued_at = timezone.now().replace(microsecond=0)
    expires_at = issued_at + lifetime(token_type)
    jti = secrets.token_urlsafe(16)
    payload = {
        "sub": str(user_id),
        "type": token_type,
        "jti": jti,
        "sid": str(session_id),
        "iat": int(issued_at.timestamp()),
        "exp": int(expires_at.timestamp()),
        "iss": settings.JWT_ISSUER,
    }
    raw = jwt.encode(payload, settings.JWT_SIGNING_KEY, algorithm=ALGORITHM)
    claims = TokenClaims(
        user_id=user_id,
        session_id=session_id,
        jti=jti,
        token_type=token_type,
        expires_at=expires_at,
    )
    return EncodedToken(raw=raw, claims=claims)


def _check_times(payload: dict) -> None:
    """Refuse `iat`, `exp` (and `nbf`) that are not JSON integers, and an `iat` in the future."""
    for name in ("iat", "exp", "nbf"):
        value = payload.get(name, 0)
        if type(value) is not int:  # not a string, a float or a boolean
            raise ValueError(f"{name} is not an integer")
    if payload["iat"] > timezone.now().timestamp() + IAT_LEEWAY_SECONDS:
        raise ValueError("issued in the future")


@functools.lru_cache(maxsize=4)
def _verifying_key(secret: str):
    """The HS256 key object of `secret`: python-jose would otherwise try to read the secret as
    JSON and build a key object again on every decode. Keyed by the secret, so a new setting
    (a test's, a rotated key after a restart) gets its own."""
    return jwk.construct(secret, ALGORITHM)


def _unverified_header(raw: str) -> dict:
    """The token's header, read for the `crit` check only (`jwt.decode` verifies the rest):
    python-jose's own reader would also decode the payload and signature, a second time."""
    header = json.loads(base64url_decode(raw.split(".", 1)[0].encode("ascii")))
    if not isinstance(header, dict):
        raise ValueError("the header is not a JSON object")
    return header


def decode_token(raw: str, *, token_type: str) -> TokenClaims:
    """Verify `raw` as a token of `token_type` and return its claims, or raise a 401."""
    invalid = AuthenticationFailed("Token is invalid or expired.", code="token_not_valid")
    if not isinstance(raw, str) or not raw or len(raw) > MAX_TOKEN_LENGTH:
        raise invalid
    try:
        if "crit" in _unverified_header(raw):
            raise ValueError("critical header extensions are not understood")
        payload = jwt.decode(
            raw,
            _verifying_key(settings.JWT_SIGNING_KEY),
            algorithms=[ALGORITHM],
            issuer=settings.JWT_ISSUER,
            options=_DECODE_OPTIONS,
        )
        # python-jose checks presence and basic types; the rest is ours. TypeError covers
        # claims of the wrong JSON type (python-jose only catches ValueError in a few places).
        if payload.get("type") != token_type:
            raise ValueError("wrong token type")
        _check_times(payload)
        sub, jti, sid = payload["sub"], payload["jti"], payload.get("sid")
        if not (sub.isascii() and sub.isdecimal()) or not jti:
            raise ValueError("malformed sub or jti")
        user_id = int(sub)
        if user_id > MAX_DATABASE_INTEGER:
            # No user has such an id, and the session lookup would overflow SQLite's integers.
            raise ValueError("sub out of range")
        return TokenClaims(
            user_id=user_id,
            session_id=uuid.UUID(sid),
            jti=jti,
            token_type=token_type,
            expires_at=datetime.fromtimestamp(int(payload["exp"]), tz=UTC),
        )
    except (JOSEError, KeyError, TypeError, ValueError, AttributeError, OverflowError):
        raise invalid from None
