"""The service account behind a client-credentials application."""

from django.conf import settings
from django.db import models


class ServiceAccount(models.Model):
    """Links a client-credentials application to the user its tokens act as.

    DOT issues client-credentials tokens without a user (`AccessToken.user` is None); the API
    resolves them to this account, whose level decides what the service may do.
    """

    application = models.OneToOneField(
        settings.OAUTH2_PROVIDER_APPLICATION_MODEL,
        on_delete=models.CASCADE,
        related_name="service_account",
    )
    user = models.OneToOneField(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="service_account"
    )
    created_at = models.DateTimeField(auto_now_add=True)

    def __str__(self) -> str:
        return f"{self.user} for {self.application}"
