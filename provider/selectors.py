"""Reads of the provider's applications and service accounts."""

from django.db.models import QuerySet
from oauth2_provider.models import Application

from provider.models import ServiceAccount


def application_list() -> QuerySet[Application]:
    """Every registered application with its service account's user, newest first."""
    return Application.objects.select_related("user", "service_account__user").order_by("-id")


def application_get(*, pk: int) -> Application | None:
    """The application `pk`, or `None`."""
    return application_list().filter(pk=pk).first()


def service_user(*, application_id: int | None):
    """The user a client-credentials application's tokens act as, read fresh, or `None`."""
    account = (
        ServiceAccount.objects.select_related("user").filter(application_id=application_id).first()
    )
    return account.user if account else None
