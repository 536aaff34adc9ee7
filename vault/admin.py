"""Django admin for secrets: names, policies and history only. Values are neither shown nor
edited here (the API encrypts them; an admin form would have to render or re-post them)."""

from django.contrib import admin

from vault.models import Secret


@admin.register(Secret)
class SecretAdmin(admin.ModelAdmin):
    list_display = ["name", "policy", "updated_by", "updated_at"]
    search_fields = ["name", "description"]
    fields = ["name", "description", "policy", "created_by", "created_at", "updated_by",
              "updated_at", "value_changed_at"]  # fmt: skip
    readonly_fields = fields

    def get_queryset(self, request):
        return super().get_queryset(request).defer("encrypted_value")

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False
