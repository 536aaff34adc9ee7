"""Shapes of the secrets endpoints: a value goes in, never out."""

from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from users import roles
from vault import usage
from vault.models import DEFAULT_POLICY, Secret
from vault.names import name_problem

# An environment variable holds at most 128 KiB on Linux; secrets are far shorter.
MAX_VALUE_LENGTH = 16384
# Every occurrence of a value is masked in runs' output: a shorter one would mask ordinary text.
MIN_VALUE_LENGTH = 4


class SecretSerializer(serializers.ModelSerializer):
    """A secret as the API shows it: everything but the value."""

    created_by = serializers.CharField(
        source="created_by.username", default=None, read_only=True, allow_null=True
    )
    updated_by = serializers.CharField(
        source="updated_by.username", default=None, read_only=True, allow_null=True
    )
    declared_by = serializers.SerializerMethodField()

    class Meta:
        model = Secret
        fields = [
            "name",
            "description",
            "policy",
            "created_by",
            "created_at",
            "updated_by",
            "updated_at",
            "value_changed_at",
            "declared_by",
        ]
        read_only_fields = fields

    @extend_schema_field(serializers.ListField(child=serializers.CharField()))
    def get_declared_by(self, secret: Secret) -> list[str]:
        """Slugs of the published scripts that declare this secret."""
        known = self.context.get("declared_by")
        if known is None:
            known = usage.declared_by([secret.name])
        return known.get(secret.name, [])


class SecretValueField(serializers.CharField):
    """A secret's value: text only, kept exactly as given (no trimming), never rendered."""

    default_error_messages = {
        "min_length": f"A value has at least {MIN_VALUE_LENGTH} characters, not only spaces: "
        "every occurrence of it is masked in runs' output.",
    }

    def __init__(self, **kwargs):
        kwargs.update(
            write_only=True,
            trim_whitespace=False,
            min_length=MIN_VALUE_LENGTH,
            max_length=MAX_VALUE_LENGTH,
        )
        super().__init__(**kwargs)

    def to_internal_value(self, data):
        if not isinstance(data, str):
            self.fail("invalid")
        value = super().to_internal_value(data)
        if len(value) < MIN_VALUE_LENGTH or not value.strip():
            self.fail("min_length")
        return value


class SecretCreateSerializer(serializers.Serializer):
    """Body of `POST /api/secrets/`."""

    name = serializers.CharField(max_length=64)
    value = SecretValueField(help_text="Write-only: no response ever shows it.")
    description = serializers.CharField(required=False, allow_blank=True, max_length=2000)
    policy = serializers.ChoiceField(
        choices=list(roles.POLICIES),
        default=DEFAULT_POLICY,
        help_text="Who may run a script that reads this secret (default: admin).",
    )

    def validate_name(self, name: str) -> str:
        problem = name_problem(name)
        if problem:
            raise serializers.ValidationError(problem, code="invalid_name")
        return name


class SecretUpdateSerializer(serializers.Serializer):
    """Body of `PATCH /api/secrets/<name>/`: any of value, description, policy."""

    value = SecretValueField(required=False, help_text="Write-only: no response ever shows it.")
    description = serializers.CharField(required=False, allow_blank=True, max_length=2000)
    policy = serializers.ChoiceField(choices=list(roles.POLICIES), required=False)

    def validate(self, attrs: dict) -> dict:
        if "name" in self.initial_data:
            raise serializers.ValidationError(
                {"name": ["A secret cannot be renamed: create a new one and delete this one."]},
                code="rename",
            )
        if not attrs:
            raise serializers.ValidationError(
                "Give at least one of value, description, policy.", code="empty"
            )
        return attrs
