"""The emails this service sends, rendered from `templates/users/email/` in plain text and
HTML: the product's name, what happened, one link and when it expires. No images, no tracking,
nothing fetched from elsewhere."""

from datetime import timedelta

from django.conf import settings
from django.core.mail import EmailMultiAlternatives
from django.template.loader import render_to_string

from users import links
from users.models import Invitation, User

PRODUCT = "simple RBAS"


def render(template: str, to: str, **context) -> EmailMultiAlternatives:
    """The message `template` (`<name>_subject.txt`, `<name>.txt`, `<name>.html`) for `to`."""
    context = {"product": PRODUCT, "public_url": settings.PUBLIC_URL, **context}
    base = f"users/email/{template}"
    subject = " ".join(render_to_string(f"{base}_subject.txt", context).split())
    message = EmailMultiAlternatives(subject, render_to_string(f"{base}.txt", context), to=[to])
    message.attach_alternative(render_to_string(f"{base}.html", context), "text/html")
    return message


def lifetime_text(lifetime: timedelta) -> str:
    """How long a link works, in words: "7 days", "1 hour", "90 minutes"."""
    minutes = round(lifetime.total_seconds() / 60)
    for unit, size in (("day", 1440), ("hour", 60), ("minute", 1)):
        if minutes % size == 0:
            count = minutes // size
            return f"{count} {unit}{'' if count == 1 else 's'}"
    raise AssertionError("unreachable: every whole number of minutes is a number of minutes")


def _expiry(kind: str) -> dict:
    """When a link made now expires, and how long it works, for the templates."""
    return {
        "expires_at": links.expires_at(kind),
        "lifetime": lifetime_text(links.GENERATORS[kind].max_age()),
    }


def password_reset_message(user: User) -> EmailMultiAlternatives:
    """A link to choose a new password."""
    return render(
        "password_reset",
        user.email,
        user=user,
        link=links.make_link("password_reset", user),
        **_expiry("password_reset"),
    )


def password_setup_message(user: User, inviter: User | None) -> EmailMultiAlternatives:
    """For an account an admin made without a password: a link to choose one."""
    return render(
        "password_setup",
        user.email,
        user=user,
        inviter=(inviter.get_full_name() or inviter.username) if inviter else "An administrator",
        link=links.make_link("password_setup", user),
        **_expiry("password_setup"),
    )


def email_verification_message(user: User) -> EmailMultiAlternatives:
    """A link that proves the account's address reaches its owner."""
    return render(
        "email_verification",
        user.email,
        user=user,
        link=links.make_link("email_verification", user),
        **_expiry("email_verification"),
    )


def email_changed_message(user: User, old_email: str) -> EmailMultiAlternatives:
    """A notice, to the address an account used to have, that it was changed."""
    return render("email_changed", old_email, user=user, old_email=old_email)


def invitation_message(invitation: Invitation) -> EmailMultiAlternatives:
    """The invitation and its link; the link expires with the invitation."""
    inviter = invitation.invited_by
    return render(
        "invitation",
        invitation.email,
        invitation=invitation,
        inviter=(inviter.get_full_name() or inviter.username) if inviter else "An administrator",
        link=links.make_link("invitation", invitation),
        expires_at=invitation.expires_at,
        lifetime=lifetime_text(invitation.expires_at - invitation.sent_at),
    )
