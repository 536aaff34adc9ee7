"""Request ids and the one log line per request; 503 while the database is unreachable; Django's
messages for the pages that show them."""

import logging
import re
import time
import uuid

from django.contrib.messages.middleware import MessageMiddleware

from simple_rbas.database import UNAVAILABLE
from simple_rbas.errors import database_unavailable, is_database_unavailable
from simple_rbas.logging import request_id

logger = logging.getLogger("simple_rbas.request")
# A caller's id is kept only if it is short and plain, so that it cannot forge log content.
_VALID_ID = re.compile(r"[A-Za-z0-9._-]{1,128}")


class RequestLogMiddleware:
    """Give each request an id (the caller's `X-Request-ID`, or a new one), echo it in the
    response, and log method, path, status, duration and user id as one JSON line."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        given = request.headers.get("X-Request-ID", "")
        rid = given if _VALID_ID.fullmatch(given) else uuid.uuid4().hex
        token = request_id.set(rid)
        started = time.monotonic()
        try:
            response = self.get_response(request)
            response["X-Request-ID"] = rid
            if not logger.isEnabledFor(logging.INFO):
                return response
            logger.info(
                "%s %s %s",
                request.method,
                request.path,
                response.status_code,
                extra={
                    "request_id": rid,
                    "method": request.method,
                    "path": request.path,  # never the query string
                    "status": response.status_code,
                    "duration_ms": round((time.monotonic() - started) * 1000, 1),
                    "user_id": _user_id(request),
                },
            )
            return response
        finally:
            request_id.reset(token)


def _user_id(request) -> int | None:
    user = getattr(request, "user", None)
    try:
        return user.pk if user is not None and user.is_authenticated else None
    except UNAVAILABLE:
        # A Django session user is looked up lazily, here if the view never did; when the
        # database is unreachable the response already says so, and this line is still logged.
        return None


class DatabaseUnavailableMiddleware:
    """Answer 503 with Retry-After, not 500, when a view (DRF's authentication included) fails
    because the database cannot be reached; other exceptions go on to Django's handling."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        return self.get_response(request)

    def process_exception(self, request, exception):
        if is_database_unavailable(exception):
            return database_unavailable(request, exception)
        return None


class PageMessageMiddleware(MessageMiddleware):
    """Django's messages (`django.contrib.messages`), for everything but the API: the admin shows
    them; no API view stores one, and preparing their cookie and session storage cost every API
    request about 20 µs. The admin's system check accepts this subclass."""

    def process_request(self, request):
        if not request.path_info.startswith("/api/"):
            super().process_request(request)
