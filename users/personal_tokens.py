"""Personal API tokens: create, list, revoke, and find the token a request presents.

A token is `rbas_pat_` and 43 URL-safe characters (32 random bytes). Only its SHA-256 digest is
stored: a secret with 256 bits of entropy cannot be guessed from its digest, so it needs no slow
password hash, and one indexed lookup finds it.
"""

import hashlib
import ipaddress
import secrets
from datetime import timedelta

from django.conf import settings
from django.db import transaction
from django.db.models import QuerySet
from django.utils import timezone
from rest_framework import exceptions
from rest_framework.authentication import BaseAuthentication
from rest_framework.throttling import BaseThrottle

from audit import services as audit
from users import roles, services
from users.authentication import WWW_AUTHENTICATE
from users.models import PersonalAccessToken, User

PREFIX = "rbas_pat_"
# How often a token's last use is written: a CI job polling a run must not write every request.
LAST_USED_EVERY = timedelta(minutes=1)


def token_digest(raw: str) -> str:
    """The hex SHA-256 digest under which a token is stored."""
    return hashlib.sha256(raw.encode()).hexdigest()


def token_create(
    *,
    user: User,
    levels: tuple[int, ...],
    name: str,
    expires_in_days: int | None = None,
    level: int | None = None,
) -> tuple[PersonalAccessToken, str]:
    """Create a token for `user` and return it with its secret, which is never shown again.

    `levels` are the request's (`roles.request_levels`): a token narrowed to `level` may grant
    nothing that all of them do not (400 otherwise), so a narrowed token cannot mint a broader
    one. The expiry defaults to API_TOKEN_DEFAULT_DAYS, at most API_TOKEN_MAX_DAYS (400)."""
    days = settings.API_TOKEN_DEFAULT_DAYS if expires_in_days is None else expires_in_days
    if not 1 <= days <= settings.API_TOKEN_MAX_DAYS:
        raise exceptions.ValidationError(
            {"expires_in_days": [f"Choose between 1 and {settings.API_TOKEN_MAX_DAYS} days."]},
            code="expiry_out_of_range",
        )
    if level is not None and not all(roles.level_within(level, each) for each in levels):
        raise exceptions.ValidationError(
            {"level": ["A token cannot have rights that your own level does not have."]},
            code="level_not_within",
        )
    raw = PREFIX + secrets.token_urlsafe(32)
    now = timezone.now()
    with transaction.atomic():
        token = PersonalAccessToken.objects.create(
            user=user,
            name=name,
            level=level,
            digest=token_digest(raw),
            created_at=now,
            expires_at=now + timedelta(days=days),
        )
        audit.record("token.created", actor=user, target=token, level=level, days=days)
    return token, raw


def token_list(*, actor: User, levels: tuple[int, ...], user_id: int | None, all_users: bool):
    """The caller's own tokens, newest first; anyone's (`user_id`) or everyone's (`all_users`)
    for callers whose `levels` all satisfy the `admin` policy (403 otherwise)."""
    tokens: QuerySet[PersonalAccessToken] = PersonalAccessToken.objects.select_related(
        "user", "revoked_by"
    ).order_by("-created_at", "-pk")
    others = all_users or (user_id is not None and user_id != actor.pk)
    if others and not roles.allows("admin", *levels):
        raise exceptions.PermissionDenied(
            "Listing other users' tokens requires the 'admin' policy.", code="policy_denied"
        )
    if all_users:
        return tokens
    return tokens.filter(user_id=actor.pk if user_id is None else user_id)


def token_revoke(
    *, actor: User, levels: tuple[int, ...], token_id: int, auth=None
) -> PersonalAccessToken:
    """Revoke a token: the caller's own, or, under the `admin` policy, another user's that
    the assignment rules let the caller change (an admin cannot touch an owner's or another
    admin's). A token nobody may see answers 404. A request made with a personal token (`auth`)
    may revoke only that token."""
    with transaction.atomic():
        token = (
            PersonalAccessToken.objects.select_for_update()
            .select_related("user")
            .filter(pk=token_id)
            .first()
        )
        own = token is not None and token.user_id == actor.pk
        if token is None or not (own or roles.allows("admin", *levels)):
            raise exceptions.NotFound("No such token.")
        if isinstance(auth, PersonalAccessToken) and auth.pk != token.pk:
            raise exceptions.PermissionDenied(
                "A personal token can revoke only itself.", code="personal_token_not_allowed"
            )
        if not own:
            services.check_assignment(actor=actor, target=token.user, level=None, deactivate=False)
        if token.revoked_at is None:
            token.revoked_at, token.revoked_by = timezone.now(), actor
            token.save(update_fields=["revoked_at", "revoked_by"])
            audit.record("token.revoked", actor=actor, target=token)
    return token


def token_authenticate(raw: str) -> PersonalAccessToken:
    """The usable token `raw`, its user loaded in the same query (read on every request, so
    that a deactivation or a level change applies at once); 401 for anything else."""
    token = (
        PersonalAccessToken.objects.select_related("user").filter(digest=token_digest(raw)).first()
    )
    if token is None:
        raise exceptions.AuthenticationFailed("Invalid token.", code="token_not_valid")
    if token.revoked_at is not None:
        raise exceptions.AuthenticationFailed("Token has been revoked.", code="token_revoked")
    if token.expires_at <= timezone.now():
        raise exceptions.AuthenticationFailed("Token has expired.", code="token_expired")
    if not token.user.is_active:
        raise exceptions.AuthenticationFailed("User is inactive.", code="user_inactive")
    return token


def token_touch(token: PersonalAccessToken, address: str | None) -> None:
    """Record the token's use and the client's address, at most once per LAST_USED_EVERY."""
    now = timezone.now()
    if token.last_used_at is not None and now - token.last_used_at < LAST_USED_EVERY:
        return
    try:
        address = str(ipaddress.ip_address(address)) if address else None
    except ValueError:
        address = None
    # A conditional UPDATE: of concurrent requests, one writes (no read-modify-write race).
    PersonalAccessToken.objects.filter(pk=token.pk, last_used_at=token.last_used_at).update(
        last_used_at=now, last_used_address=address
    )
    token.last_used_at, token.last_used_address = now, address


class PersonalTokenAuthentication(BaseAuthentication):
    """Authenticate by `Authorization: Bearer rbas_pat_...`; any other credential is left to
    the next class. A header cannot be sent by another site, so no CSRF check applies.
    `request.auth` is the `PersonalAccessToken`."""

    def authenticate(self, request):
        """Return `(user, token)`, `None` when the request carries no personal token, or 401."""
        parts = request.META.get("HTTP_AUTHORIZATION", "").split()
        if len(parts) != 2 or parts[0].lower() != "bearer" or not parts[1].startswith(PREFIX):
            return None
        token = token_authenticate(parts[1])
        token_touch(token, BaseThrottle().get_ident(request))
        return token.user, token

    def authenticate_header(self, request) -> str:
        """The same challenge as the session tokens', so refusals are 401 whichever class ran."""
        return WWW_AUTHENTICATE
