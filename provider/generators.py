"""Token values with a recognisable prefix, so the API knows which class checks a Bearer token
(and secret scanners can spot a leaked one)."""

import secrets

ACCESS_PREFIX = "rbas_oat_"
REFRESH_PREFIX = "rbas_ort_"


def access_token(request) -> str:
    """A new OAuth access token (DOT's ACCESS_TOKEN_GENERATOR)."""
    return ACCESS_PREFIX + secrets.token_urlsafe(32)


def refresh_token(request) -> str:
    """A new OAuth refresh token (DOT's REFRESH_TOKEN_GENERATOR)."""
    return REFRESH_PREFIX + secrets.token_urlsafe(32)
