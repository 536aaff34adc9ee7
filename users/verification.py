"""Email verification: following the link sent to an address proves it reaches the user."""

from django.db import transaction
from rest_framework import exceptions

from users import links
from users.models import User


def token_error(check: links.Check, *, what: str) -> exceptions.ValidationError:
    """The 400 for a link that cannot be used, on the `token` field."""
    if check is links.Check.EXPIRED:
        return exceptions.ValidationError(
            {"token": [f"This link has expired. {what}"]}, code="token_expired"
        )
    return exceptions.ValidationError(
        {"token": [f"This link is not valid: it was already used, replaced or mistyped. {what}"]},
        code="token_invalid",
    )


def locked_user_for_token(kinds: tuple[str, ...], token: str, *, what: str) -> User:
    """The user a valid link of one of `kinds` names, its row locked so that the link works
    once even when it is followed twice at the same moment. Call inside a transaction."""
    user_id = links.token_object_id(token)
    user = User.objects.select_for_update().filter(pk=user_id).first() if user_id else None
    checks = {links.check_token(kind, user, token) for kind in kinds} if user else set()
    if links.Check.VALID in checks:
        return user
    raise token_error(
        links.Check.EXPIRED if links.Check.EXPIRED in checks else links.Check.INVALID, what=what
    )


def email_verify(*, token: str) -> User:
    """Mark the address a verification link names as verified; a signup's limits end."""
    with transaction.atomic():
        user = locked_user_for_token(
            ("email_verification",), token, what="Sign in and ask for a new one."
        )
        user.email_verified = True
        user.must_verify_email = False
        user.save(update_fields=["email_verified", "must_verify_email"])
    return user
