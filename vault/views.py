"""Secrets endpoints, for the `admin` policy: values are written, never read."""

from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework import exceptions, status
from rest_framework.generics import GenericAPIView
from rest_framework.response import Response
from rest_framework.views import APIView

from simple_rbas.api import validated
from simple_rbas.openapi import PAGE_PARAMETERS, errors
from users import roles
from vault import selectors, services, usage
from vault.serializers import SecretCreateSerializer, SecretSerializer, SecretUpdateSerializer


def _secret(name: str):
    secret = selectors.secret_get(name=name)
    if secret is None:
        raise exceptions.NotFound("No secret of that name.")
    return secret


class SecretListView(GenericAPIView):
    """List secrets (without values), or store a new one."""

    required_policy = "admin"
    serializer_class = SecretSerializer

    @extend_schema(
        tags=["secrets"],
        summary="List secrets: names, policies, who changed them, which scripts declare them",
        parameters=PAGE_PARAMETERS,
        responses={200: SecretSerializer(many=True), **errors(401, 403, 404)},
    )
    def get(self, request):
        page = self.paginate_queryset(selectors.secret_list())
        context = {"declared_by": usage.declared_by(secret.name for secret in page)}
        return self.get_paginated_response(SecretSerializer(page, many=True, context=context).data)

    @extend_schema(
        tags=["secrets"],
        summary="Store a secret (its value is encrypted and never shown again)",
        request=SecretCreateSerializer,
        responses={201: SecretSerializer, **errors(400, 401, 403, 415)},
    )
    def post(self, request):
        data = validated(SecretCreateSerializer, request.data)
        secret = services.secret_create(
            actor=request.user, levels=roles.request_levels(request), **data
        )
        return Response(SecretSerializer(secret).data, status=status.HTTP_201_CREATED)


SECRET_NAME = OpenApiParameter("name", str, OpenApiParameter.PATH)


class SecretDetailView(APIView):
    """Read (without value), change or delete one secret."""

    required_policy = "admin"

    @extend_schema(
        tags=["secrets"],
        summary="One secret, without its value",
        operation_id="api_secrets_detail",
        parameters=[SECRET_NAME],
        responses={200: SecretSerializer, **errors(401, 403, 404)},
    )
    def get(self, request, name: str):
        return Response(SecretSerializer(_secret(name)).data)

    @extend_schema(
        tags=["secrets"],
        summary="Change a secret's value, description or policy",
        parameters=[SECRET_NAME],
        request=SecretUpdateSerializer,
        responses={200: SecretSerializer, **errors(400, 401, 403, 404, 415)},
    )
    def patch(self, request, name: str):
        secret = _secret(name)
        changes = validated(SecretUpdateSerializer, request.data)
        secret = services.secret_update(
            actor=request.user, secret=secret, levels=roles.request_levels(request), **changes
        )
        return Response(SecretSerializer(secret).data)

    @extend_schema(
        tags=["secrets"],
        summary="Delete a secret",
        parameters=[SECRET_NAME],
        responses={204: None, **errors(401, 403, 404)},
    )
    def delete(self, request, name: str):
        services.secret_delete(
            actor=request.user, secret=_secret(name), levels=roles.request_levels(request)
        )
        return Response(status=status.HTTP_204_NO_CONTENT)
