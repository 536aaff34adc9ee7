"""Liveness and readiness probes."""

from django.db import DatabaseError, connection
from django.db.migrations.executor import MigrationExecutor
from rest_framework import status
from rest_framework.response import Response
from rest_framework.views import APIView

from users import roles


class HealthView(APIView):
    """Liveness: the process answers; the database is not touched."""

    required_policy = roles.PUBLIC
    authentication_classes = []

    def get(self, request):
        return Response({"status": "ok"})


class ReadyView(APIView):
    """Readiness: the database answers and every migration is applied."""

    required_policy = roles.PUBLIC
    authentication_classes = []

    def get(self, request):
        try:
            executor = MigrationExecutor(connection)
            pending = executor.migration_plan(executor.loader.graph.leaf_nodes())
        except DatabaseError:
            return Response(
                {"status": "unavailable", "reason": "database unreachable"},
                status=status.HTTP_503_SERVICE_UNAVAILABLE,
            )
        if pending:
            return Response(
                {"status": "unavailable", "reason": f"{len(pending)} migrations pending"},
                status=status.HTTP_503_SERVICE_UNAVAILABLE,
            )
        return Response({"status": "ok"})
