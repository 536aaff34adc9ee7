"""Script catalog and run endpoints (API.md: Scripts)."""

import io

from django.http import FileResponse
from rest_framework import exceptions, status
from rest_framework.generics import GenericAPIView
from rest_framework.response import Response
from rest_framework.views import APIView

from scripts_api import artifacts, selectors, services
from scripts_api.serializers import (
    RunFilterSerializer,
    RunRequestSerializer,
    RunSerializer,
    ScriptSerializer,
    WaitSerializer,
)
from simple_rbas.api import query_params, validated


def _wait_seconds(request) -> int:
    return validated(WaitSerializer, {"wait": request.query_params.get("wait") or 0})["wait"]


class ScriptListView(GenericAPIView):
    """The published scripts the caller may run."""

    required_policy = "authenticated"

    def get(self, request):
        page = self.paginate_queryset(selectors.scripts_for(request.user))
        return self.get_paginated_response(ScriptSerializer(page, many=True).data)


class ScriptDetailView(APIView):
    """One script, for those it allows (403 naming the policy, 404 unknown)."""

    required_policy = "authenticated"

    def get(self, request, slug: str):
        return Response(ScriptSerializer(selectors.script_for(request.user, slug)).data)


class ScriptRunView(APIView):
    """Queue a run of a script with parameters; `?wait=N` answers 200 if it ends in time."""

    required_policy = "authenticated"

    def post(self, request, slug: str):
        wait = _wait_seconds(request)
        script = selectors.script_for(request.user, slug)
        params = validated(RunRequestSerializer, request.data)["params"]
        run = services.run_create(user=request.user, script=script, params=params)
        if wait:
            run = selectors.run_wait(run, wait)
        code = status.HTTP_200_OK if run.is_finished else status.HTTP_202_ACCEPTED
        return Response(RunSerializer(run, context={"request": request}).data, status=code)


class RunListView(GenericAPIView):
    """The caller's runs, newest first (everyone's under the `admin` policy)."""

    required_policy = "authenticated"

    def get(self, request):
        filters = validated(RunFilterSerializer, query_params(request))
        runs = selectors.runs_visible_to(request.user)
        if "script" in filters:
            runs = runs.filter(script__slug=filters["script"])
        if "status" in filters:
            runs = runs.filter(status=filters["status"])
        if "user" in filters:
            runs = runs.filter(user_id=filters["user"])
        page = self.paginate_queryset(runs.order_by("-created_at"))
        data = RunSerializer(page, many=True, context={"request": request}).data
        return self.get_paginated_response(data)


class RunDetailView(APIView):
    """One run; `?wait=N` long-polls until it finishes. Others' runs: 404."""

    required_policy = "authenticated"

    def get(self, request, pk):
        wait = _wait_seconds(request)
        run = selectors.run_for(request.user, pk)
        if wait:
            run = selectors.run_wait(run, wait)
        return Response(RunSerializer(run, context={"request": request}).data)


class RunCancelView(APIView):
    """Stop a run; it ends `cancelled`. A finished run: 409."""

    required_policy = "authenticated"

    def post(self, request, pk):
        run = services.run_cancel(run=selectors.run_for(request.user, pk))
        data = RunSerializer(run, context={"request": request}).data
        return Response(data, status=status.HTTP_202_ACCEPTED)


class RunArtifactView(APIView):
    """Download one artifact of a run the caller may see, as an attachment."""

    required_policy = "authenticated"

    def get(self, request, pk, name: str):
        artifact = artifacts.artifact_for(selectors.run_for(request.user, pk), name)
        if artifact is None:
            raise exceptions.NotFound("No such artifact.")
        content = io.BytesIO(artifact.content)
        return FileResponse(content, as_attachment=True, filename=artifact.name)
