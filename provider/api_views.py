"""The application registration API, for the `admin` policy (owners and admins)."""

from drf_spectacular.utils import extend_schema
from rest_framework import exceptions, status
from rest_framework.generics import GenericAPIView
from rest_framework.response import Response
from rest_framework.views import APIView

from provider import selectors, services
from provider.serializers import (
    ApplicationCreatedSerializer,
    ApplicationCreateSerializer,
    ApplicationSerializer,
)
from simple_rbas.api import validated
from simple_rbas.openapi import PAGE_PARAMETERS, errors


def _application(pk: int):
    application = selectors.application_get(pk=pk)
    if application is None:
        raise exceptions.NotFound("No application with that id.")
    return application


class ApplicationListView(GenericAPIView):
    """List the registered applications, or register one."""

    required_policy = "admin"
    serializer_class = ApplicationSerializer

    @extend_schema(
        tags=["oauth"],
        summary="List the applications that sign users in through RBAS",
        parameters=PAGE_PARAMETERS,
        responses={200: ApplicationSerializer(many=True), **errors(401, 403, 404)},
    )
    def get(self, request):
        page = self.paginate_queryset(selectors.application_list())
        return self.get_paginated_response(ApplicationSerializer(page, many=True).data)

    @extend_schema(
        tags=["oauth"],
        summary="Register an application (its client secret is shown once)",
        request=ApplicationCreateSerializer,
        responses={201: ApplicationCreatedSerializer, **errors(400, 401, 403, 415)},
    )
    def post(self, request):
        data = validated(ApplicationCreateSerializer, request.data)
        application, secret = services.application_create(actor=request.user, **data)
        body = ApplicationCreatedSerializer(application, context={"client_secret": secret}).data
        return Response(body, status=status.HTTP_201_CREATED)


class ApplicationDetailView(APIView):
    """Read or delete one application."""

    required_policy = "admin"

    @extend_schema(
        tags=["oauth"],
        summary="One registered application",
        responses={200: ApplicationSerializer, **errors(401, 403, 404)},
    )
    def get(self, request, pk: int):
        return Response(ApplicationSerializer(_application(pk)).data)

    @extend_schema(
        tags=["oauth"],
        summary="Delete an application: its tokens stop working at once",
        responses={204: None, **errors(401, 403, 404)},
    )
    def delete(self, request, pk: int):
        services.application_delete(actor=request.user, application=_application(pk))
        return Response(status=status.HTTP_204_NO_CONTENT)
