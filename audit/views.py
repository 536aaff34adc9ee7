"""The audit log endpoints, for the `owner` policy: read and export, never edit."""

import json

from django.http import StreamingHttpResponse
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, OpenApiResponse, extend_schema
from rest_framework.generics import GenericAPIView
from rest_framework.utils.encoders import JSONEncoder
from rest_framework.views import APIView

from audit import selectors
from audit.serializers import AuditEventSerializer, AuditFilterSerializer
from simple_rbas.api import query_params, validated
from simple_rbas.openapi import errors
from simple_rbas.pagination import KeysetPagination

FILTER_PARAMETERS = [
    OpenApiParameter("event", str, description="An event name, or a prefix ending in `.`."),
    OpenApiParameter("actor", int, description="The acting user's id."),
    OpenApiParameter("target_type", str, description="`user`, `secret`, `run`, ..."),
    OpenApiParameter("target_id", str),
    OpenApiParameter("since", OpenApiTypes.DATETIME, description="Inclusive."),
    OpenApiParameter("until", OpenApiTypes.DATETIME, description="Exclusive."),
]


def _events(request):
    return selectors.events_filtered(validated(AuditFilterSerializer, query_params(request)))


class AuditListView(GenericAPIView):
    """The audit log, newest first, by cursor."""

    required_policy = "owner"
    serializer_class = AuditEventSerializer
    pagination_class = KeysetPagination

    @extend_schema(
        tags=["audit"],
        summary="The audit log, newest first",
        parameters=FILTER_PARAMETERS,
        responses={200: AuditEventSerializer(many=True), **errors(400, 401, 403)},
    )
    def get(self, request):
        page = self.paginate_queryset(_events(request))
        return self.get_paginated_response(AuditEventSerializer(page, many=True).data)


class AuditExportView(APIView):
    """The filtered audit log as JSON lines, oldest first, streamed."""

    required_policy = "owner"

    @extend_schema(
        tags=["audit"],
        summary="Export the audit log as JSON lines (application/x-ndjson)",
        parameters=FILTER_PARAMETERS,
        responses={
            (200, "application/x-ndjson"): OpenApiResponse(
                OpenApiTypes.STR, description="One `AuditEvent` object per line."
            ),
            **errors(400, 401, 403),
        },
    )
    def get(self, request):
        events = _events(request).order_by("created_at", "id")
        # Rendered here, not by DRF: its renderers would build the whole body in memory.
        lines = (
            json.dumps(AuditEventSerializer(event).data, cls=JSONEncoder) + "\n"
            for event in events.iterator(chunk_size=500)
        )
        response = StreamingHttpResponse(lines, content_type="application/x-ndjson")
        response["Content-Disposition"] = 'attachment; filename="audit.jsonl"'
        return response
