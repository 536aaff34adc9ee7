"""Read-side queries over accounts."""

from django.db.models import Q, QuerySet

from users.models import User


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
