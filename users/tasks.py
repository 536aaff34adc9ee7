"""Queue tasks that send the account emails. The queue workers (`manage.py db_worker`) run
them, ahead of script runs (a higher priority).

Sending off the request has two purposes: a mail server that is slow or down never slows or
breaks a request (a sending that fails is tried again later, with a growing delay), and a
password reset answers in the same time whether or not the address has an account, because
the request only queues the address and the worker decides whom to write to.
"""

import logging
import smtplib
from collections.abc import Callable
from datetime import timedelta

from django.core.mail import EmailMessage
from django.utils import timezone
from django_tasks import task

from simple_rbas.database import call_until_available
from users import mail
from users.models import Invitation, User
from users.signup_mode import may_set_password
from users.throttling import folded

logger = logging.getLogger(__name__)

EMAIL_PRIORITY = 10  # above script runs (0): a reset link should not wait behind a long report
# Delays before each new attempt: about 17 hours in all, then the sending is given up.
RETRY_DELAYS_SECONDS = (30, 120, 600, 1800, 3600, 3 * 3600, 6 * 3600, 6 * 3600)


def _permanent(error: Exception) -> bool:
    """Whether the mail server refused for good (a 5xx answer): trying again cannot help."""
    if isinstance(error, smtplib.SMTPResponseException):
        return error.smtp_code >= 500
    if isinstance(error, smtplib.SMTPRecipientsRefused):
        return all(code >= 500 for code, _ in error.recipients.values())
    return False


def deliver(message: EmailMessage, *, attempt: int, retry: Callable[..., object], what: str) -> str:
    """Send `message`; when the mail server cannot take it now, queue `retry` (the task again,
    with `run_after` and the next attempt) and say so. Returns sent, retrying or failed."""
    try:
        message.send()
    except (smtplib.SMTPException, OSError) as error:
        if _permanent(error) or attempt > len(RETRY_DELAYS_SECONDS):
            logger.error("Gave up sending %s after %d attempts: %s", what, attempt, error)
            return f"failed: {error}"
        delay = RETRY_DELAYS_SECONDS[attempt - 1]
        logger.warning("Could not send %s (%s); trying again in %d s.", what, error, delay)
        retry(run_after=timezone.now() + timedelta(seconds=delay), attempt=attempt + 1)
        return f"retrying: {error}"
    logger.info("Sent %s.", what)
    return "sent"


def _again(task_function, **kwargs) -> Callable[..., object]:
    """A `retry` for `deliver`: the same task and arguments, later."""

    def retry(*, run_after, attempt: int):
        return task_function.using(run_after=run_after).enqueue(**kwargs, attempt=attempt)

    return retry


def password_reset_recipients(email: str) -> list[User]:
    """The accounts a reset link for `email` goes to: active ones that use the address and
    may hold a password (`may_set_password`).

    The address must be the account's under the throttle's folding, not only under the
    database's: PostgreSQL's case-insensitive match takes a dotless i (U+0131) for an i, so
    each such spelling of a domain would have had its own throttle count for one mailbox."""
    wanted = folded(email)
    return [
        user
        for user in User.objects.filter(email__iexact=email, is_active=True)
        if folded(user.email) == wanted and may_set_password(user)
    ]


@task(priority=EMAIL_PRIORITY)
def send_password_reset(email: str, attempt: int = 1) -> str:
    """Send a reset link to the account that uses `email`, if there is one."""
    recipients = call_until_available(
        lambda: password_reset_recipients(email), what="finding whom to send a reset link"
    )
    results = [
        deliver(
            mail.password_reset_message(user),
            attempt=attempt,
            retry=_again(send_password_reset, email=email),
            what=f"a password reset link to user {user.pk}",
        )
        for user in recipients[:1]  # addresses are unique: there is at most one
    ]
    return results[0] if results else "no account"


@task(priority=EMAIL_PRIORITY)
def send_password_setup(user_id: int, inviter_id: int | None, attempt: int = 1) -> str:
    """Send an account an admin made without a password the link to choose one, unless it
    has one by now or was deactivated."""
    user, inviter = call_until_available(
        lambda: (
            User.objects.filter(pk=user_id).first(),
            User.objects.filter(pk=inviter_id).first() if inviter_id else None,
        ),
        what="loading a new user",
    )
    if user is None or not user.is_active or user.has_usable_password() or not user.email:
        return "not needed"
    return deliver(
        mail.password_setup_message(user, inviter),
        attempt=attempt,
        retry=_again(send_password_setup, user_id=user_id, inviter_id=inviter_id),
        what=f"a link to choose a password to user {user_id}",
    )


@task(priority=EMAIL_PRIORITY)
def send_email_verification(user_id: int, email: str, attempt: int = 1) -> str:
    """Send a verification link to `email`, unless the account has another address by now or
    has verified this one."""
    user = call_until_available(
        lambda: User.objects.filter(pk=user_id).first(), what="loading a user to verify"
    )
    if user is None or user.email.lower() != email.lower() or user.email_verified:
        return "not needed"
    return deliver(
        mail.email_verification_message(user),
        attempt=attempt,
        retry=_again(send_email_verification, user_id=user_id, email=email),
        what=f"a verification link to user {user_id}",
    )


@task(priority=EMAIL_PRIORITY)
def send_email_changed(user_id: int, old_email: str, attempt: int = 1) -> str:
    """Tell the address an account used to have that the account moved to another one."""
    user = call_until_available(
        lambda: User.objects.filter(pk=user_id).first(), what="loading a user"
    )
    if user is None or user.email.lower() == old_email.lower():
        return "not needed"
    return deliver(
        mail.email_changed_message(user, old_email),
        attempt=attempt,
        retry=_again(send_email_changed, user_id=user_id, old_email=old_email),
        what=f"an address change notice for user {user_id}",
    )


@task(priority=EMAIL_PRIORITY)
def send_invitation(invitation_id: int, send_count: int, attempt: int = 1) -> str:
    """Send sending number `send_count` of an invitation, unless it was sent again, accepted
    or revoked since; record what the mail server said, for the admins' list."""
    invitation = call_until_available(
        lambda: Invitation.objects.select_related("invited_by").filter(pk=invitation_id).first(),
        what="loading an invitation",
    )
    if invitation is None or invitation.send_count != send_count:
        return "not needed"
    if invitation.status != Invitation.Status.PENDING:
        return "not needed"
    result = deliver(
        mail.invitation_message(invitation),
        attempt=attempt,
        retry=_again(send_invitation, invitation_id=invitation_id, send_count=send_count),
        what=f"invitation {invitation_id}",
    )
    sent = result == "sent"
    call_until_available(
        lambda: Invitation.objects.filter(pk=invitation_id, send_count=send_count).update(
            delivered_at=timezone.now() if sent else None,
            delivery_error="" if sent else result[:500],
        ),
        what="recording an invitation's delivery",
    )
    return result
