"""The delivery log in Django's admin, read only."""

from django.contrib import admin

from notifications.models import Delivery


@admin.register(Delivery)
class DeliveryAdmin(admin.ModelAdmin):
    """Deliveries, for looking into one that failed."""

    list_display = ["created_at", "user", "channel", "target", "status", "attempts"]
    list_filter = ["status", "channel"]

    def has_add_permission(self, request) -> bool:
        return False

    def has_change_permission(self, request, obj=None) -> bool:
        return False
