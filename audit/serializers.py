"""Audit log serializers: the filters, and an event as the API shows it."""

from rest_framework import serializers

from audit.models import AuditEvent


class AuditFilterSerializer(serializers.Serializer):
    """The query parameters of the audit list and export."""

    event = serializers.RegexField(r"^[a-z_]+(\.[a-z_]+)*\.?$", max_length=64, required=False)
    actor = serializers.IntegerField(min_value=1, max_value=2**63 - 1, required=False)
    target_type = serializers.CharField(max_length=64, required=False)
    target_id = serializers.CharField(max_length=64, required=False)
    since = serializers.DateTimeField(required=False)
    until = serializers.DateTimeField(required=False)


class AuditEventSerializer(serializers.ModelSerializer):
    """One event. `actor` is the user's id (null once the user is deleted); `actor_username`
    stays."""

    class Meta:
        model = AuditEvent
        fields = ["id", "created_at", "event", "actor", "actor_username", "target_type",
                  "target_id", "target_label", "client_address", "request_id", "data"]  # fmt: skip
        read_only_fields = fields
