"""Django admin for scripts and runs: read-only, because both are records of what happened.

Scripts change through their files (`sync_scripts`), runs through the API; editing either here
would falsify the history. Runs can be cancelled from the list. A run's page lists its artifacts
(never their bytes); lists never load runs' output or scripts' sources.
"""

from django.contrib import admin, messages

from scripts_api import services
from scripts_api.models import Artifact, Run, Script, ScriptEnvironment, ScriptVersion
from simple_rbas.exceptions import Conflict


class ReadOnlyAdmin(admin.ModelAdmin):
    """An admin page that shows records and never changes or deletes them."""

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False


@admin.register(Script)
class ScriptAdmin(ReadOnlyAdmin):
    list_display = ["slug", "title", "policy_label", "version", "is_published", "updated_at"]
    list_filter = ["is_published"]
    search_fields = ["slug", "title", "description"]


@admin.register(ScriptVersion)
class ScriptVersionAdmin(ReadOnlyAdmin):
    """Every published version of every script, with its source on its own page."""

    list_display = ["script", "version", "title", "published_at", "created_at"]
    list_filter = ["script"]
    search_fields = ["script__slug", "version", "title"]
    list_select_related = ["script"]

    def get_queryset(self, request):
        return super().get_queryset(request).defer("source")


@admin.register(ScriptEnvironment)
class ScriptEnvironmentAdmin(ReadOnlyAdmin):
    """Dependency sets, their locks and uv's last word (scripts_api/dependencies.py)."""

    list_display = ["digest", "status", "updated_at"]
    list_filter = ["status"]
    search_fields = ["digest", "error"]


class ArtifactInline(admin.TabularInline):
    """The files a run kept: name, size, checksum, and when retention removed them."""

    model = Artifact
    fields = ["name", "size", "sha256", "expired_at"]
    readonly_fields = fields
    extra = 0
    can_delete = False

    def has_add_permission(self, request, obj=None):
        return False

    def has_change_permission(self, request, obj=None):
        return False


@admin.register(Run)
class RunAdmin(ReadOnlyAdmin):
    list_display = ["id", "script", "user", "status", "created_at", "duration_ms"]
    list_filter = ["status", "script"]
    search_fields = ["id", "user__username", "script__slug"]
    list_select_related = ["script", "user"]
    date_hierarchy = "created_at"
    actions = ["cancel_runs"]
    inlines = [ArtifactInline]

    def get_queryset(self, request):
        # A page of 100 runs would otherwise carry up to 3 MB of output each; a run's own page
        # still shows them (each deferred column is read when displayed).
        return super().get_queryset(request).defer("stdout", "stderr", "result", "script__source")

    @admin.action(description="Cancel the selected runs")
    def cancel_runs(self, request, queryset):
        cancelled = 0
        for run in queryset:
            try:
                services.run_cancel(run=run, actor=request.user)
                cancelled += 1
            except Conflict:
                continue
        self.message_user(request, f"Cancelled {cancelled} runs.", messages.SUCCESS)

    def has_change_permission(self, request, obj=None):
        # The list's action needs change permission on the list, never on one run.
        return obj is None and request.user.is_superuser
