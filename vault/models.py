"""Named secrets, their values encrypted at rest (see `vault.crypto`)."""

from django.conf import settings
from django.db import models
from django.utils import timezone

from users import roles

# Who may run a script that reads a secret when its creator says nothing: owners and admins.
DEFAULT_POLICY = "admin"


class Secret(models.Model):
    """A value a script may receive as an environment variable; never shown once stored."""

    name = models.CharField(max_length=64, unique=True)
    # A Fernet token (url-safe base64): the value, encrypted with the first configured key.
    encrypted_value = models.TextField()
    description = models.TextField(blank=True)
    # Who may run a script that declares this secret (a policy of users/roles.py).
    policy = models.CharField(
        max_length=32,
        choices=[(name, name) for name in roles.POLICIES],
        default=DEFAULT_POLICY,
    )
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, related_name="+"
    )
    updated_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, related_name="+"
    )
    created_at = models.DateTimeField(default=timezone.now)
    updated_at = models.DateTimeField(default=timezone.now)
    # When the value itself last changed (a new description or policy leaves it).
    value_changed_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["name"]

    def __str__(self) -> str:
        return self.name

    def allows(self, level: int, *more_levels: int) -> bool:
        """Whether `level`, and every one of `more_levels` (`roles.credential_levels`), may run
        a script that reads this secret."""
        return roles.allows(self.policy, level, *more_levels)
