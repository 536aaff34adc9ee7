"""The OpenAPI schema and the Swagger UI (served from drf-spectacular-sidecar: no CDN)."""

from drf_spectacular.views import SpectacularAPIView, SpectacularSwaggerSplitView

from users import roles


class SchemaView(SpectacularAPIView):
    """`GET /api/schema/`: OpenAPI 3 as YAML, or JSON with `?format=json`."""

    required_policy = roles.PUBLIC
    authentication_classes = []


class SwaggerView(SpectacularSwaggerSplitView):
    """`GET /api/docs/`: Swagger UI, usable with the cookie session or a pasted Bearer token."""

    required_policy = roles.PUBLIC
    authentication_classes = []
    url_name = "schema"
