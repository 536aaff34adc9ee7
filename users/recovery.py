"""Password reset: a link to the account's address lets its owner choose a new password."""

from django.db import transaction

from users import links, tasks
from users.models import User
from users.services import check_password_rules
from users.sessions import user_sessions_revoke
from users.verification import locked_user_for_token, token_error


def password_reset_request(*, email: str) -> None:
    """Queue a reset link for `email`. Whether an account uses the address is decided by the
    worker, so this takes the same time, and writes the same row, either way."""
    tasks.send_password_reset.enqueue(email=email)


def password_reset_confirm(*, token: str, new_password: str) -> User:
    """Set the password a reset link allows, under the password validators, and end every
    session of the user. The link reached the account's address, so the address is verified."""
    with transaction.atomic():
        # A reset link, or the link of an account an admin made without a password.
        user = locked_user_for_token(
            ("password_reset", "password_setup"),
            token,
            what="Ask for a new one from the sign-in page.",
        )
        if not user.is_active:
            raise token_error(links.Check.INVALID, what="This account is deactivated.")
        check_password_rules(new_password, user, field="new_password")
        user.set_password(new_password)
        user.email_verified = True
        user.must_verify_email = False
        user.save(update_fields=["password", "email_verified", "must_verify_email"])
        user_sessions_revoke(user_id=user.pk, reason="password_reset")
    return user
