"""Top-level routes."""

from django.contrib import admin
from django.urls import include, path

from simple_rbas.docs import SchemaView, SwaggerView
from simple_rbas.health import HealthView, ReadyView
from users.urls import api_urlpatterns, legacy_urlpatterns

urlpatterns = [
    path("healthz", HealthView.as_view(), name="healthz"),
    path("readyz", ReadyView.as_view(), name="readyz"),
    path("api/schema/", SchemaView.as_view(), name="schema"),
    path("api/docs/", SwaggerView.as_view(), name="swagger-ui"),
    path("api/", include(api_urlpatterns)),
    path("api/", include("scripts_api.urls")),
    path("api/", include("vault.urls")),
    path("api/", include("notifications.urls")),
    path("api/", include("schedules.urls")),
    path("api/", include("provider.api_urls")),
    path("api/", include("audit.urls")),
    # RBAS as an OAuth2 / OpenID Connect provider (django-oauth-toolkit's views).
    path("o/", include("provider.urls", namespace="oauth2_provider")),
    *legacy_urlpatterns,
    # Django's admin has its own staff login (sessions), apart from the API's policies.
    path("admin/", admin.site.urls),
    path("", include("web.urls")),
]

handler400 = "simple_rbas.errors.bad_request"
handler404 = "simple_rbas.errors.not_found"
handler500 = "simple_rbas.errors.server_error"
