"""The HTTP-only cookies that carry tokens to and from browsers."""

from django.conf import settings
from django.http import HttpRequest, HttpResponse

from users.tokens import ACCESS, REFRESH, lifetime

REFRESH_COOKIE_PATH = "/api/auth/"
# The Secure access cookie's name before COOKIE_DOMAIN existed: still read, and cleared at
# sign-out, so that turning COOKIE_DOMAIN on signs nobody out.
HOST_ONLY_ACCESS = "__Host-rbas_access"


def cookie_name(token_type: str) -> str:
    """Cookie name for a token type; prefixed when cookies are Secure: `__Host-` for the access
    cookie on this host only, `__Secure-` otherwise (a `__Host-` cookie may carry no Domain)."""
    if not settings.COOKIE_SECURE:
        return f"rbas_{token_type}"
    if token_type == ACCESS and not settings.COOKIE_DOMAIN:
        return HOST_ONLY_ACCESS
    return f"__Secure-rbas_{token_type}"


def _cookie_path(token_type: str) -> str:
    return "/" if token_type == ACCESS else REFRESH_COOKIE_PATH


def _old_names(token_type: str) -> list[str]:
    """Names this token's cookie had under an earlier configuration, still honoured."""
    name = cookie_name(token_type)
    if token_type == ACCESS and settings.COOKIE_SECURE and name != HOST_ONLY_ACCESS:
        return [HOST_ONLY_ACCESS]
    return []


def read_token_cookie(request: HttpRequest, token_type: str) -> str | None:
    """Return the raw token of `token_type` the browser sent, if any."""
    for name in (cookie_name(token_type), *_old_names(token_type)):
        if raw := request.COOKIES.get(name):
            return raw
    return None


def set_token_cookies(response: HttpResponse, *, access: str, refresh: str) -> None:
    """Attach both token cookies to `response`."""
    for token_type, raw in ((ACCESS, access), (REFRESH, refresh)):
        response.set_cookie(
            cookie_name(token_type),
            raw,
            max_age=int(lifetime(token_type).total_seconds()),
            path=_cookie_path(token_type),
            domain=settings.COOKIE_DOMAIN or None,
            secure=settings.COOKIE_SECURE,
            httponly=True,
            samesite=settings.COOKIE_SAMESITE,
        )


def clear_token_cookies(response: HttpResponse) -> None:
    """Tell the browser to drop both token cookies (and those of an earlier name)."""
    for token_type in (ACCESS, REFRESH):
        response.delete_cookie(
            cookie_name(token_type),
            path=_cookie_path(token_type),
            domain=settings.COOKIE_DOMAIN or None,
            samesite=settings.COOKIE_SAMESITE,
        )
        for name in _old_names(token_type):
            # A response holds one cookie per name: the old host-only one, with no Domain.
            response.delete_cookie(
                name, path=_cookie_path(token_type), samesite=settings.COOKIE_SAMESITE
            )
