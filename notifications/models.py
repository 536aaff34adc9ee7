"""Who wants to hear about which runs, and every notification sent."""

import uuid

from django.conf import settings
from django.db import models
from django.utils import timezone

from scripts_api.models import Run, RunStatus, Script

FAILURE_STATUSES = (RunStatus.FAILED, RunStatus.TIMED_OUT)


class Subscription(models.Model):
    """A user's wish to be told when runs of a script end (or fail), by email or webhook."""

    class On(models.TextChoices):
        FINISH = "finish"
        FAILURE = "failure"

    class Channel(models.TextChoices):
        EMAIL = "email"
        WEBHOOK = "webhook"

    class Scope(models.TextChoices):
        OWN = "own"  # the user's own runs
        ALL = "all"  # everyone's runs of the script: `admin` policy only

    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="subscriptions"
    )
    script = models.ForeignKey(Script, on_delete=models.CASCADE, related_name="subscriptions")
    on = models.CharField(max_length=8, choices=On.choices)
    channel = models.CharField(max_length=8, choices=Channel.choices)
    scope = models.CharField(max_length=8, choices=Scope.choices, default=Scope.OWN)
    url = models.URLField(max_length=2000, blank=True)
    # The webhook's signing secret, encrypted like the vault's secrets (vault.crypto).
    secret_encrypted = models.TextField(blank=True)
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["-created_at", "-id"]

    def __str__(self) -> str:
        return f"{self.user_id} {self.on} {self.script_id} by {self.channel}"

    def wants(self, status: str) -> bool:
        """Whether a run that ended with `status` is news for this subscription."""
        return self.on == self.On.FINISH or status in FAILURE_STATUSES


class DeliveryQuerySet(models.QuerySet):
    """Queries over deliveries."""

    def pending(self):
        """Deliveries still being tried."""
        return self.filter(status=Delivery.Status.PENDING)


class Delivery(models.Model):
    """One notification: its series of attempts and how the last one went."""

    class Status(models.TextChoices):
        PENDING = "pending"
        DELIVERED = "delivered"
        FAILED = "failed"
        SKIPPED = "skipped"  # the recipient may no longer hear about the script

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="deliveries"
    )
    subscription = models.ForeignKey(
        Subscription, on_delete=models.SET_NULL, null=True, blank=True, related_name="deliveries"
    )
    run = models.ForeignKey(Run, on_delete=models.CASCADE, related_name="deliveries")
    reason = models.CharField(max_length=200)
    channel = models.CharField(max_length=8, choices=Subscription.Channel.choices)
    target = models.CharField(max_length=2000)
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.PENDING)
    attempts = models.PositiveIntegerField(default=0)
    last_error = models.TextField(blank=True)
    response_code = models.PositiveIntegerField(null=True, blank=True)
    created_at = models.DateTimeField(default=timezone.now)
    updated_at = models.DateTimeField(default=timezone.now)
    next_attempt_at = models.DateTimeField(null=True, blank=True)

    objects = DeliveryQuerySet.as_manager()

    class Meta:
        ordering = ["-created_at", "-id"]
        indexes = [models.Index(fields=["user", "created_at"], name="delivery_list_user")]

    def __str__(self) -> str:
        return f"delivery {self.id} ({self.channel}, {self.status})"
