"""Services for login sessions: sign in, refresh rotation with reuse detection, revocation."""

import uuid
from dataclasses import dataclass

from django.contrib.auth import authenticate
from django.db import transaction
from django.http import HttpRequest
from django.utils import timezone
from rest_framework.exceptions import AuthenticationFailed

from audit import services as audit
from users.models import LoginSession, User
from users.tokens import ACCESS, REFRESH, EncodedToken, decode_token, encode_token


@dataclass(frozen=True)
class IssuedTokens:
    """What a sign-in or a refresh hands to the client."""

    user: User
    session: LoginSession
    access: EncodedToken
    refresh: EncodedToken


def _invalid_credentials() -> AuthenticationFailed:
    # One message and code for every failure, so responses cannot tell them apart.
    return AuthenticationFailed("Invalid credentials.", code="invalid_credentials")


def _issue(*, user: User, session: LoginSession) -> IssuedTokens:
    """Sign a new token pair for `session` and make its refresh token the only valid one."""
    access = encode_token(user_id=user.pk, session_id=session.pk, token_type=ACCESS)
    refresh = encode_token(user_id=user.pk, session_id=session.pk, token_type=REFRESH)
    session.refresh_jti = refresh.claims.jti
    session.expires_at = refresh.claims.expires_at
    return IssuedTokens(user=user, session=session, access=access, refresh=refresh)


def session_login(*, request: HttpRequest, username: str, password: str) -> IssuedTokens:
    """Verify credentials through Django's `authenticate()` and start a login session.

    `authenticate()` runs the password hasher for unknown users too, so an unknown user, a
    wrong password and an inactive user cost the same time and give the same 401.
    """
    user = authenticate(request, username=username, password=password)
    if user is None:
        audit.record("auth.login_failed", target=("user", "", username), method="password")
        raise _invalid_credentials()
    return session_start(user=user)


def session_start(*, user: User, method: str = "password") -> IssuedTokens:
    """Start a login session for a user whose identity is already proven (`method`:
    `password`, or `sso:<provider>`)."""
    session = LoginSession(id=uuid.uuid4(), user=user)
    issued = _issue(user=user, session=session)
    with transaction.atomic():
        session.save(force_insert=True)
        User.objects.filter(pk=user.pk).update(last_login=timezone.now())
        audit.record("auth.login", actor=user, target=user, method=method)
    return issued


def session_refresh(*, raw_refresh: str) -> IssuedTokens:
    """Rotate a refresh token: each works once, and a replayed one revokes its whole session."""
    claims = decode_token(raw_refresh, token_type=REFRESH)
    with transaction.atomic():
        session = (
            LoginSession.objects.select_for_update()
            .select_related("user")
            .filter(pk=claims.session_id, user_id=claims.user_id)
            .first()
        )
        if session is None or not session.is_usable or not session.user.is_active:
            raise AuthenticationFailed("Session has ended.", code="session_revoked")
        replayed = session.refresh_jti != claims.jti
        if replayed:
            session_revoke(session_id=session.pk, reason="refresh_reuse")
        else:
            issued = _issue(user=session.user, session=session)
            session.save(update_fields=["refresh_jti", "expires_at"])
    # Raised after the block commits, so the revocation is kept.
    if replayed:
        raise AuthenticationFailed(
            "Refresh token was already used; the session is revoked.", code="refresh_reused"
        )
    return issued


def session_revoke(*, session_id: uuid.UUID, reason: str) -> None:
    """End one login session: its access and refresh tokens stop working at once."""
    LoginSession.objects.filter(pk=session_id, revoked_at__isnull=True).update(
        revoked_at=timezone.now(), revoked_reason=reason
    )


def user_sessions_revoke(
    *, user_id: int, reason: str, keep_session_id: uuid.UUID | None = None
) -> int:
    """End every session of a user except `keep_session_id`; return how many ended."""
    sessions = LoginSession.objects.filter(user_id=user_id, revoked_at__isnull=True)
    if keep_session_id is not None:
        sessions = sessions.exclude(pk=keep_session_id)
    return sessions.update(revoked_at=timezone.now(), revoked_reason=reason)
