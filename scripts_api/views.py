"""Script catalog and run endpoints (API.md: Scripts)."""

import mimetypes

from django.http import StreamingHttpResponse
from django.utils.http import content_disposition_header
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, OpenApiResponse, extend_schema
from rest_framework import exceptions, status
from rest_framework.generics import GenericAPIView
from rest_framework.response import Response
from rest_framework.views import APIView

from scripts_api import artifacts, live, selectors, services, versions
from scripts_api.models import RejectedFile, RunStatus, Script
from scripts_api.serializers import (
    CompareSerializer,
    RejectedFileSerializer,
    RunFilterSerializer,
    RunOutputQuerySerializer,
    RunOutputSerializer,
    RunRequestSerializer,
    RunSerializer,
    RunSummarySerializer,
    ScriptSerializer,
    ScriptVersionDetailSerializer,
    ScriptVersionSerializer,
    WaitSerializer,
)
from simple_rbas.api import query_params, validated
from simple_rbas.exceptions import Gone
from simple_rbas.openapi import PAGE_PARAMETERS, WAIT_PARAMETER, errors
from simple_rbas.pagination import KeysetPagination
from users import roles


def _wait_seconds(request) -> int:
    return validated(WaitSerializer, {"wait": request.query_params.get("wait") or 0})["wait"]


class ScriptListView(GenericAPIView):
    """The published scripts the caller may run."""

    required_policy = "authenticated"
    serializer_class = ScriptSerializer

    @extend_schema(
        tags=["scripts"],
        summary="The published scripts the caller may run",
        parameters=PAGE_PARAMETERS,
        responses={200: ScriptSerializer(many=True), **errors(401, 404)},
    )
    def get(self, request):
        page = self.paginate_queryset(selectors.scripts_for(roles.request_levels(request)))
        data = ScriptSerializer(page, many=True, context={"request": request}).data
        return self.get_paginated_response(data)


class ScriptDetailView(APIView):
    """One script, for those it allows (403 naming the policy, 404 unknown)."""

    required_policy = "authenticated"

    @extend_schema(
        tags=["scripts"],
        summary="One script, with the JSON Schema of its parameters",
        operation_id="api_scripts_detail",
        responses={200: ScriptSerializer, **errors(401, 403, 404)},
    )
    def get(self, request, slug: str):
        script = selectors.script_for(roles.request_levels(request), slug)
        return Response(ScriptSerializer(script, context={"request": request}).data)


class RejectedFileListView(GenericAPIView):
    """The files the last `sync_scripts` rejected, and why (`admin` policy)."""

    required_policy = "admin"
    serializer_class = RejectedFileSerializer

    @extend_schema(
        tags=["scripts"],
        summary="Script files the last sync rejected, new ones included (admin policy)",
        parameters=PAGE_PARAMETERS,
        responses={200: RejectedFileSerializer(many=True), **errors(401, 403, 404)},
    )
    def get(self, request):
        page = self.paginate_queryset(RejectedFile.objects.order_by("filename"))
        published = set(
            Script.objects.filter(is_published=True, slug__in=[r.slug for r in page]).values_list(
                "slug", flat=True
            )
        )
        data = RejectedFileSerializer(page, many=True, context={"published": published}).data
        return self.get_paginated_response(data)


class ScriptVersionListView(GenericAPIView):
    """The published versions of a script, newest first; who: as the script's detail."""

    required_policy = "authenticated"
    serializer_class = ScriptVersionSerializer

    @extend_schema(
        tags=["scripts"],
        summary="The published versions of a script, newest first",
        parameters=PAGE_PARAMETERS,
        responses={200: ScriptVersionSerializer(many=True), **errors(401, 403, 404)},
    )
    def get(self, request, slug: str):
        script = selectors.script_for(roles.request_levels(request), slug)
        page = self.paginate_queryset(versions.versions_of(script))
        context = {"request": request, "script": script}
        return self.get_paginated_response(
            ScriptVersionSerializer(page, many=True, context=context).data
        )


class ScriptVersionDetailView(APIView):
    """One version of a script with its source; `?compare=<version>` adds a unified diff from
    that version to this one."""

    required_policy = "authenticated"

    @extend_schema(
        tags=["scripts"],
        summary="One version of a script, with its source (and a diff with ?compare=)",
        operation_id="api_scripts_versions_detail",
        parameters=[
            OpenApiParameter(
                "compare", str, description="Another version: `diff` goes from it to this one."
            )
        ],
        responses={200: ScriptVersionDetailSerializer, **errors(400, 401, 403, 404)},
    )
    def get(self, request, slug: str, version: str):
        compare = validated(CompareSerializer, query_params(request)).get("compare")
        script = selectors.script_for(roles.request_levels(request), slug)
        shown = versions.version_of(script, version)
        context = {"request": request, "script": script}
        if compare:
            try:
                other = versions.version_of(script, compare)
            except exceptions.NotFound:
                raise exceptions.ValidationError(
                    {"compare": ["No such version of this script."]}, code="unknown_version"
                ) from None
            context["diff"] = versions.version_diff(other, shown)
        return Response(ScriptVersionDetailSerializer(shown, context=context).data)


class ScriptRunView(APIView):
    """Queue a run of a script with parameters; `?wait=N` answers 200 if it ends in time."""

    required_policy = "authenticated"

    @extend_schema(
        tags=["scripts"],
        summary="Run a script: 202 queued, or 200 when it finished within ?wait=N",
        parameters=[WAIT_PARAMETER],
        request=RunRequestSerializer,
        responses={
            200: OpenApiResponse(RunSerializer, description="The run finished within wait."),
            202: OpenApiResponse(RunSerializer, description="The run is queued or running."),
            **errors(400, 401, 403, 404, 409, 415, 429),
        },
    )
    def post(self, request, slug: str):
        wait = _wait_seconds(request)
        script = selectors.script_for(roles.request_levels(request), slug)
        params = validated(RunRequestSerializer, request.data)["params"]
        run = services.run_create(
            user=request.user, script=script, params=params, levels=roles.request_levels(request)
        )
        if wait:
            run = selectors.run_wait(run, wait)
        code = status.HTTP_200_OK if run.is_finished else status.HTTP_202_ACCEPTED
        return Response(RunSerializer(run, context={"request": request}).data, status=code)


class RunListView(GenericAPIView):
    """The caller's runs as `RunSummary`, newest first (everyone's under the `admin` policy)."""

    required_policy = "authenticated"
    serializer_class = RunSummarySerializer
    pagination_class = KeysetPagination  # stays as fast at a million runs as at a thousand

    @extend_schema(
        tags=["runs"],
        summary="Runs, newest first: your own, or everyone's under the admin policy",
        parameters=[
            OpenApiParameter("script", str, description="A script's slug."),
            OpenApiParameter("status", str, enum=[s.value for s in RunStatus]),
            OpenApiParameter("user", int, description="A user's id."),
        ],
        responses={200: RunSummarySerializer(many=True), **errors(400, 401, 404)},
    )
    def get(self, request):
        filters = validated(RunFilterSerializer, query_params(request))
        runs = selectors.runs_visible_to(request.user, roles.request_levels(request))
        if "script" in filters:
            runs = runs.filter(script__slug=filters["script"])
        if "status" in filters:
            runs = runs.filter(status=filters["status"])
        if "user" in filters:
            runs = runs.filter(user_id=filters["user"])
        runs = runs.only(*RunSummarySerializer.columns)
        page = self.paginate_queryset(runs)
        data = RunSummarySerializer(page, many=True, context={"request": request}).data
        return self.get_paginated_response(data)


class RunDetailView(APIView):
    """One run; `?wait=N` long-polls until it finishes. Others' runs: 404."""

    required_policy = "authenticated"

    @extend_schema(
        tags=["runs"],
        summary="One run; ?wait=N long-polls until it finishes",
        operation_id="api_runs_detail",
        parameters=[WAIT_PARAMETER],
        responses={200: RunSerializer, **errors(400, 401, 404)},
    )
    def get(self, request, pk):
        wait = _wait_seconds(request)
        run = selectors.run_for(request.user, roles.request_levels(request), pk)
        if wait:
            run = selectors.run_wait(run, wait)
        return Response(RunSerializer(run, context={"request": request}).data)


class RunCancelView(APIView):
    """Stop a run; it ends `cancelled`. A finished run: 409."""

    required_policy = "authenticated"

    @extend_schema(
        tags=["runs"],
        summary="Cancel a run: it ends cancelled",
        request=None,
        responses={202: RunSerializer, **errors(401, 403, 404, 409)},
    )
    def post(self, request, pk):
        run = services.run_cancel(
            run=selectors.run_for(request.user, roles.request_levels(request), pk),
            actor=request.user,
        )
        data = RunSerializer(run, context={"request": request}).data
        return Response(data, status=status.HTTP_202_ACCEPTED)


class RunArtifactView(APIView):
    """Download one artifact of a run the caller may see, as an attachment, streamed chunk by
    chunk. Others' runs: 404; an artifact removed by retention: 410."""

    required_policy = "authenticated"

    @extend_schema(
        tags=["runs"],
        summary="Download a file the run wrote",
        responses={
            (200, "application/octet-stream"): OpenApiResponse(
                OpenApiTypes.BINARY, description="The file, as an attachment."
            ),
            **errors(401, 404, 410),
        },
    )
    def get(self, request, pk, name: str):
        artifact = artifacts.artifact_for(
            selectors.run_for(request.user, roles.request_levels(request), pk), name
        )
        if artifact is None:
            raise exceptions.NotFound("No such artifact.")
        if artifact.expired_at:
            raise Gone(
                "This artifact was removed by the retention policy; the run's record is kept.",
                code="expired",
            )
        content_type = mimetypes.guess_type(artifact.name)[0] or "application/octet-stream"
        response = StreamingHttpResponse(artifacts.read_chunks(artifact), content_type)
        response["Content-Length"] = str(artifact.size)
        response["Content-Disposition"] = content_disposition_header(True, artifact.name)
        return response


class RunOutputView(APIView):
    """A run's output after given offsets, while it runs or after; `?wait=N` long-polls until
    there is something new. Others' runs: 404."""

    required_policy = "authenticated"

    @extend_schema(
        tags=["runs"],
        summary="Live output: the text after the offsets; ?wait=N waits for more",
        parameters=[
            OpenApiParameter(
                "stdout_after", int, description="Characters of stdout already read (default 0)."
            ),
            OpenApiParameter(
                "stderr_after", int, description="Characters of stderr already read (default 0)."
            ),
            OpenApiParameter(
                "wait",
                int,
                description="Seconds (0-30) to wait for new output, progress or the end.",
            ),
        ],
        responses={200: RunOutputSerializer, **errors(400, 401, 404)},
    )
    def get(self, request, pk):
        query = validated(RunOutputQuerySerializer, query_params(request))
        run = selectors.run_for(request.user, roles.request_levels(request), pk)
        return Response(
            live.run_output(
                run,
                stdout_after=query["stdout_after"],
                stderr_after=query["stderr_after"],
                wait=query["wait"],
            )
        )
