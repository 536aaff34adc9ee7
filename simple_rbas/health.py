"""Liveness and readiness probes."""

from django.db import DatabaseError, connection
from django.db.migrations.executor import MigrationExecutor
from drf_spectacular.utils import OpenApiResponse, extend_schema, inline_serializer
from rest_framework import serializers, status
from rest_framework.response import Response
from rest_framework.views import APIView

from users import roles


def pending_migrations() -> int:
    """How many migrations the database still lacks (DatabaseError when it does not answer)."""
    executor = MigrationExecutor(connection)
    return len(executor.migration_plan(executor.loader.graph.leaf_nodes()))


STATUS = inline_serializer(
    "Status",
    {"status": serializers.CharField(), "reason": serializers.CharField(required=False)},
)


class HealthView(APIView):
    """Liveness: the process answers; the database is not touched."""

    required_policy = roles.PUBLIC
    authentication_classes = []

    @extend_schema(tags=["operations"], auth=[], summary="Liveness", responses={200: STATUS})
    def get(self, request):
        return Response({"status": "ok"})


class ReadyView(APIView):
    """Readiness: the database answers and every migration is applied."""

    required_policy = roles.PUBLIC
    authentication_classes = []

    @extend_schema(
        tags=["operations"],
        auth=[],
        summary="Readiness: the database answers and migrations are applied",
        responses={200: STATUS, 503: OpenApiResponse(STATUS, description="Not ready.")},
    )
    def get(self, request):
        try:
            pending = pending_migrations()
        except DatabaseError:
            return Response(
                {"status": "unavailable", "reason": "database unreachable"},
                status=status.HTTP_503_SERVICE_UNAVAILABLE,
            )
        if pending:
            return Response(
                {"status": "unavailable", "reason": f"{pending} migrations pending"},
                status=status.HTTP_503_SERVICE_UNAVAILABLE,
            )
        return Response({"status": "ok"})
