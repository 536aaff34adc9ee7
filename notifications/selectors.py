"""Reads: the subscriptions and deliveries a user may see."""

from notifications.models import Delivery, Subscription
from users import roles


def subscription_list(*, user):
    """The user's own subscriptions, newest first."""
    return Subscription.objects.filter(user=user).select_related("script")


def subscription_get(*, user, pk: int) -> Subscription | None:
    """One of the user's own subscriptions (anyone else's is None, as if it did not exist)."""
    return subscription_list(user=user).filter(pk=pk).first()


def delivery_list(*, user, levels: tuple[int, ...]):
    """The delivery log: the user's own, or everyone's for the `admin` policy."""
    deliveries = Delivery.objects.select_related("user", "run__script")
    if roles.allows("admin", *levels):
        return deliveries
    return deliveries.filter(user=user)
