"""Reads of secrets (never their values)."""

from django.db.models import QuerySet

from vault.models import Secret


def secret_list() -> QuerySet[Secret]:
    """Every secret, by name, with who created and last changed it."""
    return Secret.objects.select_related("created_by", "updated_by").defer("encrypted_value")


def secret_get(*, name: str) -> Secret | None:
    """The secret called `name`, or None."""
    return Secret.objects.select_related("created_by", "updated_by").filter(name=name).first()
