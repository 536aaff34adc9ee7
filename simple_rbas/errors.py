"""Error pages: JSON under /api/ (clients parse them), Django's usual pages elsewhere."""

from django.http import JsonResponse
from django.views import defaults
from rest_framework.exceptions import server_error as api_server_error


def _is_api(request) -> bool:
    return request.path.startswith("/api/")


def not_found(request, exception):
    """404 for a URL that matches no route."""
    if _is_api(request):
        return JsonResponse({"detail": "Not found."}, status=404)
    return defaults.page_not_found(request, exception)


def server_error(request):
    """500: a bug, reported without details."""
    if _is_api(request):
        return api_server_error(request)
    return defaults.server_error(request)
