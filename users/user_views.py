"""Managing users, for the `admin` policy (API.md: Managing users)."""

from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework import exceptions, status
from rest_framework.generics import GenericAPIView
from rest_framework.response import Response
from rest_framework.views import APIView

from simple_rbas.api import query_params, validated
from simple_rbas.openapi import PAGE_PARAMETERS, errors
from users import selectors, services
from users.serializers import (
    UserCreateSerializer,
    UserFilterSerializer,
    UserSerializer,
    UserUpdateSerializer,
)
from users.views import refuse_password_field


class UserListView(GenericAPIView):
    """List users with filters, or create one at a chosen level."""

    required_policy = "admin"
    serializer_class = UserSerializer

    @extend_schema(
        tags=["users"],
        summary="List users",
        parameters=[
            OpenApiParameter("search", str, description="In username, email and names."),
            OpenApiParameter("level", int, enum=[0, 1, 2, 3, 4]),
            OpenApiParameter("is_active", bool),
            *PAGE_PARAMETERS,
        ],
        responses={200: UserSerializer(many=True), **errors(400, 401, 403, 404)},
    )
    def get(self, request):
        filters = validated(UserFilterSerializer, query_params(request))
        page = self.paginate_queryset(selectors.user_list(**filters))
        return self.get_paginated_response(UserSerializer(page, many=True).data)

    @extend_schema(
        tags=["users"],
        summary="Create a user at a level (without a password: a link to choose one is emailed)",
        request=UserCreateSerializer,
        responses={201: UserSerializer, **errors(400, 401, 403, 415)},
    )
    def post(self, request):
        data = validated(UserCreateSerializer, request.data)
        level = data.pop("level", services.default_level())
        user = services.user_create_by_admin(actor=request.user, level=level, **data)
        return Response(UserSerializer(user).data, status=status.HTTP_201_CREATED)


# `<id:pk>` is an integer (a custom converter, which the schema generator reads as a string).
USER_ID = OpenApiParameter("id", int, OpenApiParameter.PATH)


class UserDetailView(APIView):
    """Read or change one user (assignment rules apply)."""

    required_policy = "admin"

    @extend_schema(
        tags=["users"],
        summary="One user",
        operation_id="api_users_detail",
        parameters=[USER_ID],
        responses={200: UserSerializer, **errors(401, 403, 404)},
    )
    def get(self, request, pk: int):
        user = selectors.user_get(pk=pk)
        if user is None:
            raise exceptions.NotFound()
        return Response(UserSerializer(user).data)

    @extend_schema(
        tags=["users"],
        summary="Change a user's level, activity, names or email (assignment rules apply)",
        parameters=[USER_ID],
        request=UserUpdateSerializer,
        responses={200: UserSerializer, **errors(400, 401, 403, 404, 409, 415)},
    )
    def patch(self, request, pk: int):
        refuse_password_field(
            request,
            "Admins never choose a user's password: the user gets a link with "
            "POST /api/auth/password-reset/, and newcomers with POST /api/invitations/.",
        )
        changes = validated(UserUpdateSerializer, request.data, partial=True)
        user = services.user_update_by_admin(actor=request.user, target_pk=pk, **changes)
        return Response(UserSerializer(user).data)
