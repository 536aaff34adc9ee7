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
    # Whether `email` is known to reach this user: its owner followed a link sent there, or
    # someone trusted vouched for it (an admin or the operator who typed it, or a provider at a
    # single sign-on). Single sign-on never links an account whose email is not verified.
    email_verified = models.BooleanField(default=False)
    # When the address was last verified by a link (part of verification links' signature).
    email_verified_at = models.DateTimeField(null=True, blank=True)
    # Set by a password signup: until the address is verified the account is limited to its
    # own page (users.permissions.HasPolicy). Accounts made any other way never carry it.
    must_verify_email = models.BooleanField(default=False)

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


class InvitationQuerySet(models.QuerySet):
    """Queries over invitations."""

    def open(self):
        """Invitations neither accepted nor revoked (pending, or expired and still resendable)."""
        return self.filter(accepted_at__isnull=True, revoked_at__isnull=True)


class Invitation(models.Model):
    """An admin's invitation for an email address to join at a level.

    Its link (`users.links`) works until `expires_at`, once, and only while the invitation is
    as it was sent: resending makes a new link and kills the old one.
    """

    class Status(models.TextChoices):
        PENDING = "pending"
        ACCEPTED = "accepted"
        REVOKED = "revoked"
        EXPIRED = "expired"

    email = models.EmailField()
    level = models.PositiveSmallIntegerField(choices=Level.choices)
    invited_by = models.ForeignKey(
        User, null=True, on_delete=models.SET_NULL, related_name="invitations_sent"
    )
    created_at = models.DateTimeField(default=timezone.now)
    sent_at = models.DateTimeField(default=timezone.now)
    expires_at = models.DateTimeField()
    send_count = models.PositiveIntegerField(default=1)
    # What the mail server said about the latest sending: accepted at, or why not (yet).
    delivered_at = models.DateTimeField(null=True, blank=True)
    delivery_error = models.CharField(max_length=500, blank=True)
    accepted_at = models.DateTimeField(null=True, blank=True)
    user = models.OneToOneField(
        User, null=True, blank=True, on_delete=models.SET_NULL, related_name="invitation"
    )
    revoked_at = models.DateTimeField(null=True, blank=True)

    objects = InvitationQuerySet.as_manager()

    class Meta:
        constraints = [
            # One open invitation per address: inviting twice at once cannot send two links.
            models.UniqueConstraint(
                Lower("email"),
                condition=models.Q(accepted_at__isnull=True, revoked_at__isnull=True),
                name="users_invitation_open_email_unique",
            ),
        ]
        indexes = [models.Index(fields=["-created_at"], name="users_invitation_created_idx")]

    def __str__(self) -> str:
        return f"invitation {self.pk} of {self.email}"

    @property
    def status(self) -> str:
        """pending, accepted, revoked or expired."""
        if self.accepted_at is not None:
            return self.Status.ACCEPTED
        if self.revoked_at is not None:
            return self.Status.REVOKED
        if self.expires_at <= timezone.now():
            return self.Status.EXPIRED
        return self.Status.PENDING

    @property
    def level_name(self) -> str:
        """The level's display name, e.g. "Read/Write"."""
        return Level(self.level).label


class PersonalAccessTokenQuerySet(models.QuerySet):
    """Queries over personal access tokens."""

    def active(self):
        """Tokens neither revoked nor expired."""
        return self.filter(revoked_at__isnull=True, expires_at__gt=timezone.now())


class PersonalAccessToken(models.Model):
    """A long-lived credential for scripts and CI (`Authorization: Bearer rbas_pat_...`).

    Only the SHA-256 digest of the secret is stored: the token is shown once, at creation.
    `level`, when set, narrows the token: a request made with it needs both the user's current
    level and this one to satisfy a policy (`users.roles.credential_levels`).
    """

    user = models.ForeignKey(User, on_delete=models.CASCADE, related_name="personal_tokens")
    name = models.CharField(max_length=100)
    level = models.PositiveSmallIntegerField(choices=Level.choices, null=True, blank=True)
    digest = models.CharField(max_length=64, unique=True)
    created_at = models.DateTimeField(default=timezone.now)
    expires_at = models.DateTimeField()
    last_used_at = models.DateTimeField(null=True, blank=True)
    last_used_address = models.GenericIPAddressField(null=True, blank=True)
    revoked_at = models.DateTimeField(null=True, blank=True)
    revoked_by = models.ForeignKey(
        User, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )

    objects = PersonalAccessTokenQuerySet.as_manager()

    class Meta:
        indexes = [models.Index(fields=["user", "-created_at"], name="users_pat_user_created_idx")]

    def __str__(self) -> str:
        return f"personal token {self.pk} ({self.name}) of user {self.user_id}"

    @property
    def narrowed_level(self) -> int | None:
        """The level this credential narrows its user's access to (`users.roles`), or None."""
        return self.level

    @property
    def is_usable(self) -> bool:
        """Whether requests may still authenticate with this token."""
        return self.revoked_at is None and self.expires_at > timezone.now()

    @property
    def level_name(self) -> str | None:
        """The narrowing level's display name, or None for a token with its user's rights."""
        return None if self.level is None else Level(self.level).label
