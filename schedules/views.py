"""Schedules endpoints, for the `admin` policy (owners and admins)."""

from django.conf import settings
from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework import exceptions, status
from rest_framework.generics import GenericAPIView
from rest_framework.response import Response
from rest_framework.views import APIView

from schedules import selectors, services
from schedules.serializers import ScheduleSerializer, ScheduleWriteSerializer
from scripts_api.models import Script
from simple_rbas.api import validated
from simple_rbas.openapi import PAGE_PARAMETERS, errors
from users.models import User

SCHEDULE_ID = OpenApiParameter("id", int, OpenApiParameter.PATH)


def _schedule(pk: int):
    schedule = selectors.schedule_get(pk)
    if schedule is None:
        raise exceptions.NotFound("No such schedule.")
    return schedule


def _references(data: dict, request) -> dict:
    """The script and run-as user a request names, as objects (400 when unknown)."""
    found = dict(data)
    if "script" in data:
        script = Script.objects.filter(slug=data["script"], is_published=True).first()
        if script is None:
            raise exceptions.ValidationError({"script": ["No published script of that name."]})
        found["script"] = script
    if "run_as" in data:
        user = User.objects.filter(username=data["run_as"]).first()
        if user is None:
            raise exceptions.ValidationError({"run_as": ["No user of that name."]})
        found["run_as"] = user
    return found


class ScheduleListView(GenericAPIView):
    """List schedules, or create one."""

    required_policy = "admin"
    serializer_class = ScheduleSerializer

    @extend_schema(
        tags=["schedules"],
        summary="List schedules, with their next runs and latest ticks",
        parameters=[
            *PAGE_PARAMETERS,
            OpenApiParameter("script", str, description="Only the schedules of this script."),
        ],
        responses={200: ScheduleSerializer(many=True), **errors(401, 403, 404)},
    )
    def get(self, request):
        slug = request.query_params.get("script")
        schedules = selectors.schedules_of_script(slug) if slug else selectors.schedule_list()
        page = self.paginate_queryset(schedules)
        return self.get_paginated_response(ScheduleSerializer(page, many=True).data)

    @extend_schema(
        tags=["schedules"],
        summary="Create a schedule: run a script as a user at every tick of a cron expression",
        request=ScheduleWriteSerializer,
        responses={201: ScheduleSerializer, **errors(400, 401, 403, 415)},
    )
    def post(self, request):
        data = _references(validated(ScheduleWriteSerializer, request.data), request)
        schedule = services.schedule_create(
            actor=request.user,
            script=data["script"],
            cron=data["cron"],
            timezone_name=data.get("timezone") or settings.SCHEDULES_DEFAULT_TIMEZONE,
            params=data["params"],
            run_as=data.get("run_as", request.user),
            paused=data["paused"],
        )
        return Response(ScheduleSerializer(schedule).data, status=status.HTTP_201_CREATED)


class ScheduleDetailView(APIView):
    """Read, change or delete one schedule."""

    required_policy = "admin"

    @extend_schema(
        tags=["schedules"],
        summary="One schedule, with its next runs and latest ticks",
        operation_id="api_schedules_detail",
        parameters=[SCHEDULE_ID],
        responses={200: ScheduleSerializer, **errors(401, 403, 404)},
    )
    def get(self, request, pk: int):
        return Response(ScheduleSerializer(_schedule(pk)).data)

    @extend_schema(
        tags=["schedules"],
        summary="Change a schedule (a script file's schedule: only pause and resume)",
        parameters=[SCHEDULE_ID],
        request=ScheduleWriteSerializer(partial=True),
        responses={200: ScheduleSerializer, **errors(400, 401, 403, 404, 415)},
    )
    def patch(self, request, pk: int):
        schedule = _schedule(pk)
        data = validated(ScheduleWriteSerializer, request.data, partial=True)
        changes = _references(data, request)
        paused = changes.pop("paused", None)
        if changes:
            schedule = services.schedule_update(actor=request.user, schedule=schedule, **changes)
        if paused is not None and paused != schedule.paused:
            service = services.schedule_pause if paused else services.schedule_resume
            schedule = service(actor=request.user, schedule=schedule)
        return Response(ScheduleSerializer(schedule).data)

    @extend_schema(
        tags=["schedules"],
        summary="Delete a schedule (its runs stay; a script file's schedule: 400)",
        parameters=[SCHEDULE_ID],
        responses={204: None, **errors(400, 401, 403, 404)},
    )
    def delete(self, request, pk: int):
        services.schedule_delete(actor=request.user, schedule=_schedule(pk))
        return Response(status=status.HTTP_204_NO_CONTENT)


class _ScheduleActionView(APIView):
    required_policy = "admin"
    service = None

    def post(self, request, pk: int):
        schedule = type(self).service(actor=request.user, schedule=_schedule(pk))
        return Response(ScheduleSerializer(schedule).data)


@extend_schema(
    tags=["schedules"],
    summary="Pause a schedule: no tick fires until it is resumed",
    parameters=[SCHEDULE_ID],
    request=None,
    responses={200: ScheduleSerializer, **errors(401, 403, 404)},
)
class SchedulePauseView(_ScheduleActionView):
    """Pause a schedule."""

    service = services.schedule_pause


@extend_schema(
    tags=["schedules"],
    summary="Resume a schedule from its next tick (the ticks missed while paused never run)",
    parameters=[SCHEDULE_ID],
    request=None,
    responses={200: ScheduleSerializer, **errors(401, 403, 404)},
)
class ScheduleResumeView(_ScheduleActionView):
    """Resume a schedule; the ticks missed while paused are not replayed."""

    service = services.schedule_resume
