"""Error pages: JSON under /api/ (clients parse them), the web app's pages elsewhere; 413 for an
API body over DATA_UPLOAD_MAX_MEMORY_SIZE; and 503 with Retry-After, never 500, while the
database cannot be reached."""

import logging
import sys

from django.core.exceptions import RequestDataTooBig
from django.http import HttpResponse, HttpResponseNotFound, HttpResponseServerError, JsonResponse
from django.template import loader
from django.views import defaults
from rest_framework.exceptions import server_error as api_server_error

from simple_rbas.database import is_unavailable

logger = logging.getLogger(__name__)

# Seconds a client is asked to wait before retrying while the database is unreachable.
RETRY_AFTER_SECONDS = 5
UNAVAILABLE_DETAIL = "The service is briefly unavailable (database unreachable); retry shortly."
UNAVAILABLE_CODE = "database_unavailable"
UNAVAILABLE_PAGE = (
    '<!doctype html>\n<html lang="en"><head><meta charset="utf-8">'
    "<title>Briefly unavailable</title></head><body><h1>Briefly unavailable</h1>"
    "<p>The service cannot reach its database. Try again in a few seconds.</p></body></html>\n"
)


def _is_api(request) -> bool:
    return request.path.startswith("/api/")


def is_database_unavailable(exception: BaseException | None) -> bool:
    """Whether `exception` means the database cannot be reached or the connection broke.

    Only these connection-level errors do; any other DatabaseError is a bug (500)."""
    return exception is not None and is_unavailable(exception)


def database_unavailable(request, exception: BaseException) -> HttpResponse:
    """503 with Retry-After (JSON under /api/, a short page elsewhere), logged as one warning
    without a traceback: an outage must not flood the logs with one per request."""
    reason = (str(exception).strip().splitlines() or [""])[0]
    logger.warning(
        "Database unreachable: %s %s answered 503 (%s: %s)",
        request.method,
        request.path,
        type(exception).__name__,
        reason,
    )
    if _is_api(request):
        body = {"detail": UNAVAILABLE_DETAIL, "code": UNAVAILABLE_CODE}
        response = JsonResponse(body, status=503)
    else:
        response = HttpResponse(UNAVAILABLE_PAGE, status=503)
    response["Retry-After"] = str(RETRY_AFTER_SECONDS)
    # Logged above: spare Django's request logger its ERROR line (and traceback) per request.
    response._has_been_logged = True
    return response


def bad_request(request, exception):
    """400 for a request Django refused before any view (a SuspiciousOperation); under /api/ as
    JSON, and 413 for a body over DATA_UPLOAD_MAX_MEMORY_SIZE."""
    if not _is_api(request):
        return defaults.bad_request(request, exception)
    if isinstance(exception, RequestDataTooBig):
        body = {"detail": "The request body is too large.", "code": "request_too_large"}
        return JsonResponse(body, status=413)
    return JsonResponse({"detail": "Bad request.", "code": "bad_request"}, status=400)


def _web_page(template: str, response_class: type[HttpResponse]) -> HttpResponse:
    # Rendered without the request, as Django's own 500 page is: nothing that failed may be
    # needed to say so. The CSP is the web pages' own.
    from web.views import CONTENT_SECURITY_POLICY

    response = response_class(loader.get_template(template).render({"page": ""}))
    response["Content-Security-Policy"] = CONTENT_SECURITY_POLICY
    return response


def not_found(request, exception):
    """404 for a URL that matches no route: JSON under /api/, the web app's page elsewhere."""
    if _is_api(request):
        return JsonResponse({"detail": "Not found."}, status=404)
    return _web_page("web/404.html", HttpResponseNotFound)


def server_error(request):
    """500: a bug, reported without details. 503 when the database was unreachable: views are
    covered by `DatabaseUnavailableMiddleware`, this covers failures in middleware."""
    exception = sys.exc_info()[1]  # Django calls this handler while handling the exception
    if is_database_unavailable(exception):
        return database_unavailable(request, exception)
    if _is_api(request):
        return api_server_error(request)
    return _web_page("web/500.html", HttpResponseServerError)
