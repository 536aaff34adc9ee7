"""Shapes of the notification endpoints."""

from rest_framework import serializers

from notifications.models import Delivery, Subscription


class SubscriptionSerializer(serializers.ModelSerializer):
    """A subscription as listed: never its webhook secret."""

    script = serializers.CharField(source="script.slug", read_only=True)

    class Meta:
        model = Subscription
        fields = ["id", "script", "on", "channel", "scope", "url", "created_at"]


class SubscriptionCreatedSerializer(SubscriptionSerializer):
    """A new subscription, with its webhook's signing secret (null for email), shown once."""

    secret = serializers.CharField(allow_null=True, read_only=True)

    class Meta(SubscriptionSerializer.Meta):
        fields = [*SubscriptionSerializer.Meta.fields, "secret"]


class SubscriptionCreateSerializer(serializers.Serializer):
    """What to hear about, and how."""

    script = serializers.SlugField(max_length=100)
    on = serializers.ChoiceField(choices=Subscription.On.choices)
    channel = serializers.ChoiceField(choices=Subscription.Channel.choices)
    scope = serializers.ChoiceField(
        choices=Subscription.Scope.choices, default=Subscription.Scope.OWN
    )
    url = serializers.CharField(max_length=2000, required=False, default="", allow_blank=True)


class DeliverySerializer(serializers.ModelSerializer):
    """One notification in the delivery log."""

    user = serializers.CharField(source="user.username", read_only=True)
    script = serializers.CharField(source="run.script.slug", read_only=True)
    run = serializers.UUIDField(source="run_id", read_only=True)
    subscription = serializers.IntegerField(
        source="subscription_id", read_only=True, allow_null=True
    )

    class Meta:
        model = Delivery
        fields = [
            "id",
            "user",
            "subscription",
            "run",
            "script",
            "reason",
            "channel",
            "target",
            "status",
            "attempts",
            "last_error",
            "response_code",
            "created_at",
            "updated_at",
            "next_attempt_at",
        ]
