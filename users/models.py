"""Accounts and their server-side login sessions."""

import uuid

from django.contrib.auth.models import AbstractUser
from django.contrib.auth.models import UserManager as DjangoUserManager
from django.db import models
from django.db.models.functions import Lower
from django.utils import timezone

from users.roles import Level


class UserManager(DjangoUserManager):
    """Case-insensitive usernames in NFKC form (`create_user` normalises), and superusers that
    are owners."""

    def get_by_natural_key(self, username):
        """Find the user for a login name regardless of its case and Unicode form (NFKC)."""
        normalized = self.model.normalize_username(username)
        try:
            return self.get(username__iexact=normalized)
        except self.model.DoesNotExist:
            if normalized == username:
                raise
            # An account stored before usernames were normalised, under the name as typed.
            return self.get(username__iexact=username)

    def create_superuser(self, username, email=None, password=None, **extra_fields):
        """Create a superuser at the owner level (used by `createsuperuser`, both modes)."""
        extra_fields["level"] = Level.OWNER
        extra_fields["email_verified"] = True  # typed by the operator who runs the command
        return super().create_superuser(username, email, password, **extra_fields)


class User(AbstractUser):
    """An account carrying one numeric role `level`."""

    level = models.PositiveSmallIntegerField(
        choices=Level.choices, default=Level.READ_ONLY, db_index=True
    )
    # Whether someone trusted vouched for `email`: an admin or the operator who typed it, or a
    # provider at a single sign-on. Self-service signup and a user's own email change leave it
    # False (there is no email confirmation yet), and single sign-on never links such an account.
    email_verified = models.BooleanField(default=False)

    objects = UserManager()

    class Meta:
        constraints = [
            models.UniqueConstraint(Lower("username"), name="users_user_username_ci_unique"),
            models.UniqueConstraint(
                Lower("email"),
                condition=~models.Q(email=""),
                name="users_user_email_ci_unique",
            ),
        ]

    @property
    def level_name(self) -> str:
        """The level's display name, e.g. "Read Only"."""
        return Level(self.level).label


class LoginSessionQuerySet(models.QuerySet):
    """Queries over login sessions."""

    def active(self):
        """Sessions neither revoked nor expired."""
        return self.filter(revoked_at__isnull=True, expires_at__gt=timezone.now())


class LoginSession(models.Model):
    """One sign-in: the `sid` claim of its tokens. Revoking it invalidates them all at once."""

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    user = models.ForeignKey(User, on_delete=models.CASCADE, related_name="login_sessions")
    # The jti of the one refresh token that may still be used; any other is a replay.
    refresh_jti = models.CharField(max_length=64)
    created_at = models.DateTimeField(default=timezone.now)
    expires_at = models.DateTimeField()
    revoked_at = models.DateTimeField(null=True, blank=True)
    revoked_reason = models.CharField(max_length=32, blank=True)

    objects = LoginSessionQuerySet.as_manager()

    class Meta:
        indexes = [models.Index(fields=["user", "revoked_at"])]

    def __str__(self) -> str:
        return f"session {self.id} of user {self.user_id}"

    @property
    def is_usable(self) -> bool:
        """Whether tokens of this session may still be accepted."""
        return self.revoked_at is None and self.expires_at > timezone.now()


class SsoIdentity(models.Model):
    """A user's account at an OpenID Connect provider, bound to the provider's stable `sub`.

    The email only finds the account at the first sign-in; later sign-ins follow `subject`, so
    an email that changes at the provider cannot lead to somebody else's account.
    """

    user = models.ForeignKey(User, on_delete=models.CASCADE, related_name="sso_identities")
    provider = models.CharField(max_length=31)
    subject = models.CharField(max_length=255)
    email = models.EmailField(help_text="The email the provider vouched for at linking time.")
    created_at = models.DateTimeField(default=timezone.now)
    last_login_at = models.DateTimeField(default=timezone.now)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["provider", "subject"], name="users_ssoidentity_subject_unique"
            ),
            # One identity per provider and user: a second `sub` cannot claim a linked account.
            models.UniqueConstraint(
                fields=["user", "provider"], name="users_ssoidentity_user_provider_unique"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.provider} identity {self.subject} of user {self.user_id}"
