"""The HTTP-only cookies that carry tokens to and from browsers."""

from django.conf import settings
from django.http import HttpRequest, HttpResponse

from users.tokens import ACCESS, REFRESH, lifetime

REFRESH_COOKIE_PATH = "/api/auth/"


def cookie_name(token_type: str) -> str:
    """Cookie name for a token type; prefixed `__Host-`/`__Secure-` when cookies are Secure."""
    if token_type == ACCESS:
        return "__Host-rbas_access" if settings.COOKIE_SECURE else "rbas_access"
    return "__Secure-rbas_refresh" if settings.COOKIE_SECURE else "rbas_refresh"


def _cookie_path(token_type: str) -> str:
    return "/" if token_type == ACCESS else REFRESH_COOKIE_PATH


def read_token_cookie(request: HttpRequest, token_type: str) -> str | None:
    """Return the raw token of `token_type` the browser sent, if any."""
    return request.COOKIES.get(cookie_name(token_type)) or None


def set_token_cookies(response: HttpResponse, *, access: str, refresh: str) -> None:
    """Attach both token cookies to `response`."""
    for token_type, raw in ((ACCESS, access), (REFRESH, refresh)):
        response.set_cookie(
            cookie_name(token_type),
            raw,
            max_age=int(lifetime(token_type).total_seconds()),
            path=_cookie_path(token_type),
            secure=settings.COOKIE_SECURE,
            httponly=True,
            samesite=settings.COOKIE_SAMESITE,
        )


def clear_token_cookies(response: HttpResponse) -> None:
    """Tell the browser to drop both token cookies."""
    for token_type in (ACCESS, REFRESH):
        response.delete_cookie(
            cookie_name(token_type),
            path=_cookie_path(token_type),
            samesite=settings.COOKIE_SAMESITE,
        )
