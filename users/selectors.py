"""Read-side queries over accounts."""

from django.db.models import Q, QuerySet
from django.utils import timezone

from users.models import Invitation, User


def user_list(*, search: str = "", level: int | None = None, is_active: bool | None = None):
    """Users matching a free-text `search` and optional filters, in a stable order."""
    users: QuerySet[User] = User.objects.order_by("pk")
    if search:
        users = users.filter(
            Q(username__icontains=search)
            | Q(email__icontains=search)
            | Q(first_name__icontains=search)
            | Q(last_name__icontains=search)
        )
    if level is not None:
        users = users.filter(level=level)
    if is_active is not None:
        users = users.filter(is_active=is_active)
    return users


def user_get(*, pk: int) -> User | None:
    """The user with primary key `pk`, or None."""
    return User.objects.filter(pk=pk).first()


def invitation_list(*, status: str = "", search: str = ""):
    """Invitations, newest first, by status (pending, accepted, revoked, expired) and email."""
    invitations = Invitation.objects.select_related("invited_by").order_by("-created_at", "-pk")
    now = timezone.now()
    by_status = {
        Invitation.Status.PENDING: Q(accepted_at__isnull=True, revoked_at__isnull=True)
        & Q(expires_at__gt=now),
        Invitation.Status.EXPIRED: Q(accepted_at__isnull=True, revoked_at__isnull=True)
        & Q(expires_at__lte=now),
        Invitation.Status.ACCEPTED: Q(accepted_at__isnull=False),
        Invitation.Status.REVOKED: Q(accepted_at__isnull=True, revoked_at__isnull=False),
    }
    if status:
        invitations = invitations.filter(by_status[status])
    if search:
        invitations = invitations.filter(email__icontains=search)
    return invitations


def invitation_get(*, pk: int) -> Invitation | None:
    """The invitation with primary key `pk`, or None."""
    return Invitation.objects.select_related("invited_by").filter(pk=pk).first()
