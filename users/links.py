"""The links that emails carry: signed, expiring, single-use tokens made by Django's
`PasswordResetTokenGenerator`, and the web app's addresses that take them.

A link's token is `<id>.<token>`: the object's id (base64) and the generator's token, which
signs the id with the state that using the link changes (a password, a verified flag, an
invitation's sending), so that it works once. It travels in the URL's fragment (`#...`):
browsers never send a fragment to the server, so tokens stay out of access logs and Referer
headers. The page's script reads it and posts it to the API.
"""

import enum
from datetime import timedelta

from django.conf import settings
from django.contrib.auth.tokens import PasswordResetTokenGenerator
from django.utils import timezone
from django.utils.encoding import force_bytes
from django.utils.http import base36_to_int, urlsafe_base64_decode, urlsafe_base64_encode

from users.models import Invitation, User


class Check(enum.Enum):
    """What checking a token found."""

    VALID = "valid"
    EXPIRED = "expired"  # genuine and unused, but too old
    INVALID = "invalid"  # forged, mangled, used, or what it acts on has changed


class LinkTokenGenerator(PasswordResetTokenGenerator):
    """Django's generator with a salt and a lifetime of its own (Django checks its tokens
    against PASSWORD_RESET_TIMEOUT, which settings set to the longest lifetime of all)."""

    def max_age(self) -> timedelta:
        raise NotImplementedError

    def check(self, obj, token: str) -> Check:
        """Whether `token` is a genuine, unused and unexpired token for `obj`."""
        if not super().check_token(obj, token):
            return Check.INVALID
        issued = base36_to_int(token.partition("-")[0])
        if self._num_seconds(self._now()) - issued > self.max_age().total_seconds():
            return Check.EXPIRED
        return Check.VALID


class PasswordResetTokens(LinkTokenGenerator):
    """Reset links: Django's own hash (the password, the last login and the email), so that a
    link dies once the password changes, the user signs in, or the address changes."""

    key_salt = "users.links.PasswordResetTokens"

    def max_age(self) -> timedelta:
        return timedelta(minutes=settings.PASSWORD_RESET_MINUTES)


class PasswordSetupTokens(PasswordResetTokens):
    """Links for an account an admin made without a password: like reset links, but they
    live as long as an invitation (the newcomer may not read their mail within the hour)."""

    key_salt = "users.links.PasswordSetupTokens"

    def max_age(self) -> timedelta:
        return timedelta(days=settings.INVITATION_DAYS)


class EmailVerificationTokens(LinkTokenGenerator):
    """Verification links: they name the address, and die once it is verified or changed."""

    key_salt = "users.links.EmailVerificationTokens"

    def max_age(self) -> timedelta:
        return timedelta(days=settings.EMAIL_VERIFICATION_DAYS)

    def _make_hash_value(self, user: User, timestamp: int) -> str:
        return f"{user.pk}|{user.email.lower()}|{user.email_verified}|{timestamp}"


class InvitationTokens(LinkTokenGenerator):
    """Invitation links: they die once the invitation is accepted, revoked or sent again."""

    key_salt = "users.links.InvitationTokens"

    def max_age(self) -> timedelta:
        return timedelta(days=settings.INVITATION_DAYS)

    def _make_hash_value(self, invitation: Invitation, timestamp: int) -> str:
        is_open = invitation.accepted_at is None and invitation.revoked_at is None
        return (
            f"{invitation.pk}|{invitation.email.lower()}|{invitation.level}|"
            f"{invitation.send_count}|{is_open}|{timestamp}"
        )


password_reset_tokens = PasswordResetTokens()
password_setup_tokens = PasswordSetupTokens()
email_verification_tokens = EmailVerificationTokens()
invitation_tokens = InvitationTokens()

# The web app's page for each kind of link (web/urls.py serves them).
PAGES = {
    "password_reset": "/reset-password",
    "password_setup": "/reset-password",
    "email_verification": "/verify-email",
    "invitation": "/invitation",
}


def make_link(kind: str, obj) -> str:
    """The absolute address, under PUBLIC_URL, of a fresh link of `kind` for `obj`."""
    return f"{settings.PUBLIC_URL}{PAGES[kind]}#{make_token(kind, obj)}"


def make_token(kind: str, obj) -> str:
    """A fresh `<id>.<token>` for `obj`."""
    generator = GENERATORS[kind]
    return f"{urlsafe_base64_encode(force_bytes(obj.pk))}.{generator.make_token(obj)}"


def token_object_id(token: str) -> int | None:
    """The object id a `<id>.<token>` names, or None for anything malformed."""
    encoded, dot, _ = token.partition(".")
    if not dot:
        return None
    try:
        text = urlsafe_base64_decode(encoded).decode("ascii")
    except (ValueError, UnicodeDecodeError):
        return None
    # int() would take " 7", "+7" and other scripts' digits; an id is plain ASCII digits.
    if not text.isascii() or not text.isdigit() or len(text) > 18:
        return None
    return int(text)


def check_token(kind: str, obj, token: str) -> Check:
    """Check the token part of `<id>.<token>` against `obj` (whose id the caller looked up)."""
    return GENERATORS[kind].check(obj, token.partition(".")[2])


def expires_at(kind: str):
    """When a link of `kind` made now stops working."""
    return timezone.now() + GENERATORS[kind].max_age()


GENERATORS: dict[str, LinkTokenGenerator] = {
    "password_reset": password_reset_tokens,
    "password_setup": password_setup_tokens,
    "email_verification": email_verification_tokens,
    "invitation": invitation_tokens,
}
