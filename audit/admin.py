"""Django admin for the audit log: read only."""

from django.contrib import admin

from audit.models import AuditEvent


@admin.register(AuditEvent)
class AuditEventAdmin(admin.ModelAdmin):
    list_display = ["created_at", "event", "actor_username", "target_type", "target_label",
                    "client_address"]  # fmt: skip
    list_filter = ["event"]
    search_fields = ["event", "actor_username", "target_label", "request_id"]

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False
