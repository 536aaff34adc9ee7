"""Invitations: an admin names an email address and a level; whoever reads the mail at that
address chooses a username and password and joins at that level. The admin never knows the
password. The assignment rules of `users.services.check_assignment` apply to whoever invites,
resends or revokes, and still to the inviter when the invitation is accepted."""

from datetime import timedelta

from django.conf import settings
from django.db import IntegrityError, transaction
from django.utils import timezone
from rest_framework import exceptions

from audit import services as audit
from simple_rbas.exceptions import Conflict
from users import links, roles, tasks
from users.models import Invitation, User
from users.services import check_assignment, check_unique, user_create
from users.verification import token_error


def _queue_sending(invitation: Invitation) -> None:
    tasks.send_invitation.enqueue(invitation_id=invitation.pk, send_count=invitation.send_count)


def invitation_create(*, actor: User, email: str, level: int) -> Invitation:
    """Invite `email` at `level`: 400 when an account has the address, 409 while another
    invitation for it is pending (an expired one is replaced)."""
    check_assignment(actor=actor, target=None, level=level, deactivate=False)
    check_unique(email=email)
    now = timezone.now()
    try:
        with transaction.atomic():
            Invitation.objects.open().filter(email__iexact=email, expires_at__lte=now).update(
                revoked_at=now
            )
            invitation = Invitation.objects.create(
                email=email,
                level=level,
                invited_by=actor,
                created_at=now,
                sent_at=now,
                expires_at=now + timedelta(days=settings.INVITATION_DAYS),
            )
            _queue_sending(invitation)
            audit.record("invitation.created", actor=actor, target=invitation, level=level)
    except IntegrityError:
        raise Conflict(
            "This address already has a pending invitation: resend or revoke it.",
            code="already_invited",
        ) from None
    return invitation


def _locked_open_invitation(*, actor: User, pk: int) -> Invitation:
    """The invitation `pk`, locked, which `actor` may act on (403, 404, or 409 once accepted)."""
    invitation = Invitation.objects.select_for_update().filter(pk=pk).first()
    if invitation is None:
        raise exceptions.NotFound()
    check_assignment(actor=actor, target=None, level=invitation.level, deactivate=False)
    if invitation.accepted_at is not None:
        raise Conflict("This invitation was accepted already.", code="invitation_accepted")
    return invitation


def invitation_resend(*, actor: User, pk: int) -> Invitation:
    """Send a pending or expired invitation again, with a new link valid for INVITATION_DAYS;
    the link sent before stops working."""
    with transaction.atomic():
        invitation = _locked_open_invitation(actor=actor, pk=pk)
        if invitation.revoked_at is not None:
            raise Conflict("This invitation was revoked: invite the address again.")
        now = timezone.now()
        invitation.sent_at = now
        invitation.expires_at = now + timedelta(days=settings.INVITATION_DAYS)
        invitation.send_count += 1
        invitation.delivered_at = None
        invitation.delivery_error = ""
        invitation.save()
        _queue_sending(invitation)
    return invitation


def invitation_revoke(*, actor: User, pk: int) -> Invitation:
    """Revoke an invitation that was not accepted: its link stops working (revoking twice is
    harmless)."""
    with transaction.atomic():
        invitation = _locked_open_invitation(actor=actor, pk=pk)
        if invitation.revoked_at is None:
            invitation.revoked_at = timezone.now()
            invitation.save(update_fields=["revoked_at"])
            audit.record("invitation.revoked", actor=actor, target=invitation)
    return invitation


AGAIN = "Ask whoever invited you to send it again."


def _usable_invitation(token: str, *, lock: bool) -> Invitation:
    """The pending invitation a link names (400 on the token otherwise). An invitation whose
    inviter has left, is no admin any more, or may no longer grant its level, cannot be used
    either."""
    pk = links.token_object_id(token)
    invitations = Invitation.objects.select_related("invited_by")
    if lock:
        # Only the invitation's row: PostgreSQL cannot lock the nullable side of the outer join
        # to the inviter (a plain select_for_update() made every acceptance a 500 there).
        invitations = invitations.select_for_update(of=("self",))
    invitation = invitations.filter(pk=pk).first() if pk else None
    if invitation is None:
        raise token_error(links.Check.INVALID, what=AGAIN)
    check = links.check_token("invitation", invitation, token)
    if check is links.Check.VALID and invitation.expires_at <= timezone.now():
        check = links.Check.EXPIRED
    if check is not links.Check.VALID:
        raise token_error(check, what=AGAIN)
    inviter = invitation.invited_by
    try:
        # check_assignment assumes an actor the admin policy let in: test that here too, or an
        # admin demoted to Read/Write would still grant Read/Write through old invitations.
        if inviter is None or not inviter.is_active or not roles.allows("admin", inviter.level):
            raise exceptions.PermissionDenied()
        check_assignment(actor=inviter, target=None, level=invitation.level, deactivate=False)
    except exceptions.PermissionDenied:
        raise token_error(links.Check.INVALID, what=AGAIN) from None
    return invitation


def invitation_preview(*, token: str) -> Invitation:
    """The pending invitation a link names, for the page that accepts it."""
    return _usable_invitation(token, lock=False)


def invitation_accept(
    *, token: str, username: str, password: str, first_name: str = "", last_name: str = ""
) -> User:
    """Make the account an invitation offers: the invited address (verified: the link reached
    it) at the invited level, with the username and password its owner chose."""
    with transaction.atomic():
        invitation = _usable_invitation(token, lock=True)
        if User.objects.filter(email__iexact=invitation.email).exists():
            raise Conflict(
                "An account already uses this address: sign in, or reset its password.",
                code="email_taken",
            )
        user = user_create(
            username=username,
            email=invitation.email,
            password=password,
            level=invitation.level,
            first_name=first_name,
            last_name=last_name,
            email_verified=True,
        )
        invitation.accepted_at = timezone.now()
        invitation.user = user
        invitation.save(update_fields=["accepted_at", "user"])
        audit.record("invitation.accepted", actor=user, target=invitation, level=invitation.level)
    return user
