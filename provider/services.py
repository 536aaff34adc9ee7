"""Registering and removing the applications that use RBAS as their identity provider."""

import secrets

from django.core.exceptions import ValidationError as DjangoValidationError
from django.db import transaction
from django.utils.text import slugify
from oauth2_provider.generators import generate_client_secret
from oauth2_provider.models import Application
from rest_framework import exceptions

from audit import services as audit
from provider.models import ServiceAccount
from users.models import User
from users.services import check_assignment, user_create, user_update_by_admin


def application_create(
    *,
    actor: User,
    name: str,
    client_type: str,
    authorization_grant_type: str,
    redirect_uris: list[str],
    level: int | None = None,
) -> tuple[Application, str | None]:
    """Register an application; return it with its client secret (shown once, stored hashed;
    `None` for a public client, which has none it could keep: PKCE alone proves it).

    A client-credentials application acts as a service account of its own at `level`, granted
    under the rules that apply to creating a user (an admin cannot grant owner or admin).
    """
    is_service = authorization_grant_type == Application.GRANT_CLIENT_CREDENTIALS
    if is_service:
        check_assignment(actor=actor, target=None, level=level, deactivate=False)
    secret = generate_client_secret()
    application = Application(
        name=name,
        user=actor,
        client_type=client_type,
        authorization_grant_type=authorization_grant_type,
        redirect_uris=" ".join(redirect_uris),
        client_secret=secret,
        hash_client_secret=True,
        algorithm=Application.RS256_ALGORITHM,
    )
    try:
        application.full_clean(exclude=["client_secret", "user"])
    except DjangoValidationError as error:
        raise exceptions.ValidationError(error.message_dict) from error
    with transaction.atomic():
        application.save()
        if is_service:
            ServiceAccount.objects.create(
                application=application, user=_service_user_create(name=name, level=level)
            )
        audit.record(
            "oauth_app.created", actor=actor, target=application, grant=authorization_grant_type
        )
    public = client_type == Application.CLIENT_PUBLIC
    return application, None if public else secret


def _service_user_create(*, name: str, level: int) -> User:
    """A user no one can sign in as (no password, no email): only the app's tokens act as it."""
    slug = slugify(name)[:40] or "app"
    return user_create(
        username=f"service-{slug}-{secrets.token_hex(3)}",
        email="",
        password=None,
        level=level,
        first_name=name[:150],
    )


def check_manage(*, actor: User, application: Application) -> None:
    """403 when `actor` may not manage `application`: an admin cannot touch an app whose
    service account holds the owner or admin level (the rules for managing users)."""
    account = getattr(application, "service_account", None)
    if account is not None:
        try:
            check_assignment(actor=actor, target=account.user, level=None, deactivate=True)
        except exceptions.PermissionDenied as error:
            raise exceptions.PermissionDenied(
                "Admins cannot manage an application whose service account is an owner or admin.",
                code="protected_application",
            ) from error


def application_delete(*, actor: User, application: Application) -> None:
    """Remove `application`: its grants and tokens go with it (revoked at once), and its
    service account is deactivated (kept, as runs may name it)."""
    check_manage(actor=actor, application=application)
    account = getattr(application, "service_account", None)
    with transaction.atomic():
        if account is not None:
            user_update_by_admin(actor=actor, target_pk=account.user_id, is_active=False)
        audit.record("oauth_app.deleted", actor=actor, target=application)
        application.delete()
