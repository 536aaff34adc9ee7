"""DRF authentication from the access-token cookie or an `Authorization: Bearer` header."""

from django.middleware.csrf import CsrfViewMiddleware
from rest_framework import exceptions
from rest_framework.authentication import BaseAuthentication

from users.cookies import read_token_cookie
from users.models import LoginSession, User
from users.tokens import ACCESS, TokenClaims, decode_token

BEARER = "bearer"
WWW_AUTHENTICATE = 'Bearer realm="api"'


class _CSRFCheck(CsrfViewMiddleware):
    """Django's CSRF check, returning the failure reason instead of a response."""

    def _reject(self, request, reason):
        return reason


def enforce_csrf(request) -> None:
    """Refuse (403) an unsafe request that lacks a valid CSRF token or comes from a foreign
    origin, exactly as DRF's `SessionAuthentication.enforce_csrf` does."""
    check = _CSRFCheck(lambda req: None)
    check.process_request(request)
    reason = check.process_view(request, None, (), {})
    if reason:
        raise exceptions.PermissionDenied(f"CSRF Failed: {reason}", code="csrf_failed")


def user_for_claims(claims: TokenClaims) -> tuple[User, LoginSession]:
    """Load the user and their login session in one query, refusing anything no longer valid."""
    session = (
        LoginSession.objects.select_related("user")
        .filter(pk=claims.session_id, user_id=claims.user_id)
        .first()
    )
    if session is None:
        raise exceptions.AuthenticationFailed("Session not found.", code="session_not_found")
    if not session.is_usable:
        raise exceptions.AuthenticationFailed("Session has ended.", code="session_revoked")
    if not session.user.is_active:
        raise exceptions.AuthenticationFailed("User is inactive.", code="user_inactive")
    return session.user, session


class JWTCookieAuthentication(BaseAuthentication):
    """Authenticate by `Authorization: Bearer <jwt>`, else by the HTTP-only access cookie.

    Cookie-authenticated unsafe requests must pass Django's CSRF check (token and origin); a
    header cannot be sent by another site, so header-authenticated requests need none.
    `request.auth` is the token's `TokenClaims`.
    """

    def authenticate(self, request):
        """Return `(user, claims)`, `None` when no credential was sent, or raise a 401."""
        raw = self.get_header_token(request)
        from_cookie = raw is None
        if from_cookie:
            raw = read_token_cookie(request, ACCESS)
            if raw is None:
                return None
        claims = decode_token(raw, token_type=ACCESS)
        user, _session = user_for_claims(claims)
        if from_cookie:
            enforce_csrf(request)
        return user, claims

    def get_header_token(self, request) -> str | None:
        """Return the token of a Bearer `Authorization` header, `None` for other schemes."""
        header = request.META.get("HTTP_AUTHORIZATION", "")
        parts = header.split()
        if not parts:
            return None
        if parts[0].lower() != BEARER:
            if header.lower().startswith(BEARER):
                # "Bearer<token>" with no space: a broken header, not another scheme.
                raise exceptions.AuthenticationFailed(
                    "Malformed Authorization header.", code="bad_authorization_header"
                )
            return None
        if len(parts) != 2:
            raise exceptions.AuthenticationFailed(
                "Malformed Authorization header.", code="bad_authorization_header"
            )
        return parts[1]

    def authenticate_header(self, request) -> str:
        """The `WWW-Authenticate` value that turns refusals of anonymous callers into 401."""
        return WWW_AUTHENTICATE
