"""Pagination shared by every list endpoint."""

import base64
import binascii
import uuid
from datetime import UTC, datetime, timedelta

from django.db.models import Q
from rest_framework import exceptions, pagination
from rest_framework.utils.urls import replace_query_param

EPOCH = datetime.fromtimestamp(0, UTC)


class PageNumberPagination(pagination.PageNumberPagination):
    """`?page=` and `?page_size=` (at most 100), answering `{count, next, previous, results}`."""

    page_size_query_param = "page_size"
    max_page_size = 100


class KeysetPagination(pagination.CursorPagination):
    """Newest first on `(created_at, id)`, answering `{next, previous, results}` (no count).

    A page is found by its position, never by an offset or a count, so that its cost does not
    grow with the table: the cursor holds the `(created_at, id)` of the row it continues from and
    the query asks for the rows strictly before (next) or after (previous) it, which an index
    ending in `(created_at, id)` answers by reading only the page. Ties on `created_at` are
    ordered by `id`, so no row is skipped or repeated. The cursor only says where to start: the
    rows are always those of the queryset the view filtered, so a crafted cursor shows no one
    else's. `?page=` is refused with a 400 that says to follow `next`.
    """

    page_size_query_param = "page_size"
    max_page_size = 100
    ordering = ("-created_at", "-id")
    invalid_cursor_message = "Invalid cursor: follow the `next` and `previous` links as given."

    def paginate_queryset(self, queryset, request, view=None):
        if "page" in request.query_params:
            raise exceptions.ValidationError(
                {"page": ["This list is paginated by cursor: follow the `next` link instead."]}
            )
        self.request = request
        self.base_url = request.build_absolute_uri()
        self.page_size = self.get_page_size(request)
        reverse, position = self._decode(request.query_params.get(self.cursor_query_param))
        self.position = position
        if position is not None:
            created_at, pk = position
            if reverse:  # the rows after the position, oldest first, then turned around
                queryset = queryset.filter(
                    Q(created_at__gt=created_at) | Q(created_at=created_at, id__gt=pk),
                    created_at__gte=created_at,  # the bound an index range scan starts from
                )
            else:
                queryset = queryset.filter(
                    Q(created_at__lt=created_at) | Q(created_at=created_at, id__lt=pk),
                    created_at__lte=created_at,
                )
        order = ("created_at", "id") if reverse else ("-created_at", "-id")
        rows = list(queryset.order_by(*order)[: self.page_size + 1])
        more = len(rows) > self.page_size
        self.page = rows[: self.page_size]
        if reverse:
            self.page.reverse()
        # Going forward there is a page before whenever we started from a position; going back
        # there is one after (the page we came from).
        self.has_next = more if not reverse else position is not None
        self.has_previous = position is not None if not reverse else more
        return self.page

    def _decode(self, cursor):
        if cursor is None:
            return False, None
        try:
            text = base64.urlsafe_b64decode(cursor.encode("ascii")).decode("ascii")
            direction, micros, pk = text.split("|")
            if direction not in ("n", "p"):
                raise ValueError(direction)
            created_at = EPOCH + timedelta(microseconds=int(micros))
            return direction == "p", (created_at, uuid.UUID(pk))
        except (ValueError, UnicodeError, binascii.Error, OverflowError) as error:
            raise exceptions.ValidationError(
                {self.cursor_query_param: [self.invalid_cursor_message]}
            ) from error

    def _link(self, created_at: datetime, pk, reverse: bool) -> str:
        micros = (created_at - EPOCH) // timedelta(microseconds=1)
        text = f"{'p' if reverse else 'n'}|{micros}|{pk}"
        cursor = base64.urlsafe_b64encode(text.encode("ascii")).decode("ascii")
        return replace_query_param(self.base_url, self.cursor_query_param, cursor)

    def get_next_link(self):
        if not self.has_next:
            return None
        if not self.page:  # nothing before the position (any more): continue from it
            return self._link(*self.position, reverse=False)
        return self._link(self.page[-1].created_at, self.page[-1].id, reverse=False)

    def get_previous_link(self):
        if not self.has_previous:
            return None
        if not self.page:  # nothing after the position (any more): go back from it
            return self._link(*self.position, reverse=True)
        return self._link(self.page[0].created_at, self.page[0].id, reverse=True)

    def get_paginated_response_schema(self, schema):
        link = {"type": "string", "nullable": True, "format": "uri"}
        return {
            "type": "object",
            "required": ["next", "previous", "results"],
            "properties": {
                "next": {**link, "description": "The older runs' page; null on the last page."},
                "previous": {**link, "description": "The newer runs' page; null on the first."},
                "results": schema,
            },
        }

    def get_schema_operation_parameters(self, view):
        return [
            {
                "name": self.cursor_query_param,
                "required": False,
                "in": "query",
                "description": "Where the page starts: take it from a `next` or `previous` link.",
                "schema": {"type": "string"},
            },
            {
                "name": self.page_size_query_param,
                "required": False,
                "in": "query",
                "description": f"Items per page (at most {self.max_page_size}).",
                "schema": {"type": "integer"},
            },
        ]
