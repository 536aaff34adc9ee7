"""Bodies of the application registration API."""

from oauth2_provider.models import Application
from rest_framework import serializers

from users.roles import Level

GRANT_TYPES = [
    (Application.GRANT_AUTHORIZATION_CODE, "Authorization code (+ PKCE): users sign in"),
    (Application.GRANT_CLIENT_CREDENTIALS, "Client credentials: a service account"),
]


class ApplicationCreateSerializer(serializers.Serializer):
    """Body of `POST /api/oauth/applications/`."""

    name = serializers.CharField(max_length=255)
    client_type = serializers.ChoiceField(choices=Application.CLIENT_TYPES)
    authorization_grant_type = serializers.ChoiceField(choices=GRANT_TYPES)
    redirect_uris = serializers.ListField(
        child=serializers.URLField(max_length=2000), required=False, default=list, max_length=20
    )
    level = serializers.ChoiceField(choices=Level.choices, required=False)

    def validate(self, data: dict) -> dict:
        service = data["authorization_grant_type"] == Application.GRANT_CLIENT_CREDENTIALS
        if service:
            if "level" not in data:
                raise serializers.ValidationError(
                    {"level": "A client-credentials application needs its service account's level."}
                )
            if data["client_type"] != Application.CLIENT_CONFIDENTIAL:
                raise serializers.ValidationError(
                    {"client_type": "Client credentials need a confidential client."}
                )
        else:
            if "level" in data:
                raise serializers.ValidationError(
                    {"level": "Only a client-credentials application has a level of its own."}
                )
            if not data["redirect_uris"]:
                raise serializers.ValidationError(
                    {"redirect_uris": "An authorization-code application needs a redirect URI."}
                )
        return data


class ApplicationSerializer(serializers.ModelSerializer):
    """A registered application (never its secret)."""

    authorization_grant_type = serializers.ChoiceField(choices=GRANT_TYPES, read_only=True)
    redirect_uris = serializers.SerializerMethodField()
    service_account = serializers.SerializerMethodField()
    registered_by = serializers.SerializerMethodField()

    class Meta:
        model = Application
        fields = [
            "id",
            "name",
            "client_id",
            "client_type",
            "authorization_grant_type",
            "redirect_uris",
            "service_account",
            "registered_by",
            "created",
        ]

    def get_redirect_uris(self, application) -> list[str]:
        return application.redirect_uris.split()

    def get_registered_by(self, application) -> str | None:
        return application.user.get_username() if application.user else None

    def get_service_account(self, application) -> dict | None:
        account = getattr(application, "service_account", None)
        if account is None:
            return None
        user = account.user
        return {
            "id": user.pk,
            "username": user.get_username(),
            "level": user.level,
            "level_name": user.level_name,
        }


class ApplicationCreatedSerializer(ApplicationSerializer):
    """The response to a registration: the one time the client secret is shown."""

    client_secret = serializers.SerializerMethodField()

    class Meta(ApplicationSerializer.Meta):
        fields = [*ApplicationSerializer.Meta.fields, "client_secret"]

    def get_client_secret(self, application) -> str | None:
        return self.context["client_secret"]
