"""Input and output shapes of the account endpoints."""

from django.contrib.auth.validators import UnicodeUsernameValidator
from rest_framework import serializers

from users import roles
from users.models import Invitation, User
from users.roles import Level


class TextField(serializers.CharField):
    """A CharField that refuses numbers instead of turning them into text."""

    def to_internal_value(self, data):
        if not isinstance(data, str):
            self.fail("invalid")
        return super().to_internal_value(data)


class UsernameField(TextField):
    """A username in its NFKC form (Django's `normalize_username`): with a long s (U+017F) or
    in fullwidth letters, `stefan` is still `stefan`, one name with one throttle count."""

    def to_internal_value(self, data):
        return User.normalize_username(super().to_internal_value(data))


class UserSerializer(serializers.ModelSerializer):
    """API.md's `User`."""

    level_name = serializers.CharField(read_only=True)

    class Meta:
        model = User
        fields = [
            "id",
            "username",
            "email",
            "first_name",
            "last_name",
            "level",
            "level_name",
            "is_active",
            "date_joined",
        ]
        read_only_fields = fields


class MeSerializer(UserSerializer):
    """`User` plus the names of the policies the user satisfies, whether the address is
    verified, and whether the account waits for that (`must_verify_email`: a signup, which
    satisfies no policy until then)."""

    policies = serializers.SerializerMethodField()

    class Meta(UserSerializer.Meta):
        fields = [*UserSerializer.Meta.fields, "email_verified", "must_verify_email", "policies"]
        read_only_fields = fields

    def get_policies(self, user: User) -> list[str]:
        return policies_of(user, (user.level,))


def policies_of(user: User, levels: tuple[int, ...]) -> list[str]:
    """The policies a request of `user` with the credential `levels` (`roles.request_levels`)
    satisfies: none while the account waits for its address to be verified."""
    return [] if user.must_verify_email else roles.policies_for(*levels)


class NamesSerializer(serializers.Serializer):
    """The profile fields anyone may set on their own account."""

    email = serializers.EmailField(max_length=254)
    first_name = TextField(max_length=150, required=False, allow_blank=True)
    last_name = TextField(max_length=150, required=False, allow_blank=True)


class SignupSerializer(NamesSerializer):
    """Body of a signup."""

    username = UsernameField(max_length=150, validators=[UnicodeUsernameValidator()])
    password = TextField(max_length=4096, trim_whitespace=False)


class UserCreateSerializer(SignupSerializer):
    """Body of an admin's `POST /api/users/`: a signup plus the level to grant. The password
    may be left out: the user then gets a link by email to choose one."""

    password = TextField(max_length=4096, trim_whitespace=False, required=False)
    level = serializers.ChoiceField(choices=Level.choices, required=False)


class ProfileUpdateSerializer(NamesSerializer):
    """Body of `PATCH /api/auth/me/` (always partial)."""


class UserUpdateSerializer(NamesSerializer):
    """Body of an admin's `PATCH /api/users/<id>/` (always partial)."""

    level = serializers.ChoiceField(choices=Level.choices)
    is_active = serializers.BooleanField()


class UserFilterSerializer(serializers.Serializer):
    """Query parameters of the user list."""

    search = TextField(max_length=150, required=False, allow_blank=True)
    level = serializers.ChoiceField(choices=Level.choices, required=False)
    is_active = serializers.BooleanField(required=False, allow_null=True, default=None)


DELIVERY_HELP = (
    "`cookie` (default): the tokens are set as HTTP-only cookies and the body adds `csrf_token`. "
    "`body`: no cookie is set and the body adds `refresh_token` (for Bearer clients, "
    "docs/front-ends.md)."
)


class LoginSerializer(serializers.Serializer):
    """Body of a login."""

    username = TextField(max_length=150)  # as typed: `get_by_natural_key` normalises it
    password = TextField(max_length=4096, trim_whitespace=False)
    token_delivery = serializers.ChoiceField(
        ["cookie", "body"], default="cookie", help_text=DELIVERY_HELP
    )


class RefreshSerializer(serializers.Serializer):
    """Optional body of a refresh, for clients that do not keep cookies."""

    refresh = TextField(max_length=4096, required=False)
    token_delivery = serializers.ChoiceField(
        ["cookie", "body"], default="cookie", help_text=DELIVERY_HELP
    )

    def validate(self, data: dict) -> dict:
        delivery = data["token_delivery"]
        if delivery == "body" and "refresh" not in data:
            # A cookie's refresh token is never handed to JavaScript.
            raise serializers.ValidationError(
                {"refresh": ["token_delivery=body needs the refresh token in the body."]},
                code="refresh_required",
            )
        return data


class CsrfSerializer(serializers.Serializer):
    """The CSRF token to send as X-CSRFToken with cookie-authenticated writes."""

    csrf_token = serializers.CharField()


class PasswordChangeSerializer(serializers.Serializer):
    """Body of a password change."""

    old_password = TextField(max_length=4096, trim_whitespace=False)
    new_password = TextField(max_length=4096, trim_whitespace=False)


class SignupResponseSerializer(serializers.Serializer):
    """What signup answers."""

    user = UserSerializer()


class TokenResponseSerializer(serializers.Serializer):
    """What login and refresh answer (with cookie delivery, the tokens also arrive as HTTP-only
    cookies)."""

    user = UserSerializer()
    access_token = serializers.CharField()
    token_type = serializers.CharField()
    expires_in = serializers.IntegerField(help_text="Seconds until the access token expires.")
    csrf_token = serializers.CharField(
        required=False, help_text="With cookies: the value to send as X-CSRFToken."
    )
    refresh_token = serializers.CharField(
        required=False, help_text="With token_delivery=body: send it to refresh (it rotates)."
    )
    refresh_expires_in = serializers.IntegerField(
        required=False, help_text="With token_delivery=body: seconds until it expires."
    )


class AccessSerializer(serializers.Serializer):
    """The answer of `/api/access/<policy>/` when the user satisfies the policy."""

    policy = serializers.CharField()
    allowed = serializers.BooleanField()


class InvitationSerializer(serializers.ModelSerializer):
    """An invitation, as admins see it."""

    level_name = serializers.CharField(read_only=True)
    status = serializers.ChoiceField(choices=Invitation.Status.choices, read_only=True)
    invited_by = serializers.SlugRelatedField(slug_field="username", read_only=True)

    class Meta:
        model = Invitation
        fields = [
            "id",
            "email",
            "level",
            "level_name",
            "status",
            "invited_by",
            "created_at",
            "sent_at",
            "expires_at",
            "send_count",
            "delivered_at",
            "delivery_error",
            "accepted_at",
            "user",
        ]
        read_only_fields = fields


class InvitationCreateSerializer(serializers.Serializer):
    """Body of `POST /api/invitations/`."""

    email = serializers.EmailField(max_length=254)
    level = serializers.ChoiceField(choices=Level.choices, required=False)


class InvitationFilterSerializer(serializers.Serializer):
    """Query parameters of the invitation list."""

    status = serializers.ChoiceField(choices=Invitation.Status.choices, required=False)
    search = TextField(max_length=254, required=False, allow_blank=True)


class TokenSerializer(serializers.Serializer):
    """A link's token, as the web app's page read it from the link."""

    token = TextField(max_length=200)


class InvitationPreviewSerializer(serializers.Serializer):
    """What the page that accepts an invitation shows."""

    email = serializers.EmailField()
    level = serializers.IntegerField()
    level_name = serializers.CharField()
    invited_by = serializers.CharField()
    expires_at = serializers.DateTimeField()


class InvitationAcceptSerializer(TokenSerializer):
    """Body of `POST /api/invitations/accept/`."""

    username = UsernameField(max_length=150, validators=[UnicodeUsernameValidator()])
    password = TextField(max_length=4096, trim_whitespace=False)
    first_name = TextField(max_length=150, required=False, allow_blank=True)
    last_name = TextField(max_length=150, required=False, allow_blank=True)


class PasswordResetSerializer(serializers.Serializer):
    """Body of `POST /api/auth/password-reset/`."""

    email = serializers.EmailField(max_length=254)


class PasswordResetConfirmSerializer(TokenSerializer):
    """Body of `POST /api/auth/password-reset/confirm/`."""

    new_password = TextField(max_length=4096, trim_whitespace=False)
