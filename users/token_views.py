"""Personal API tokens endpoints (API.md: Personal API tokens)."""

from django.conf import settings
from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework import serializers, status
from rest_framework.generics import GenericAPIView
from rest_framework.response import Response
from rest_framework.views import APIView

from simple_rbas.api import MAX_DATABASE_INTEGER, query_params, validated
from simple_rbas.openapi import PAGE_PARAMETERS, errors
from users import personal_tokens, roles
from users.models import PersonalAccessToken
from users.roles import Level
from users.serializers import TextField
from users.views import forbid_caching


class PersonalTokenSerializer(serializers.ModelSerializer):
    """API.md's `PersonalToken` (never its secret)."""

    username = serializers.CharField(source="user.username", read_only=True)
    level_name = serializers.CharField(read_only=True, allow_null=True)
    revoked_by = serializers.SlugRelatedField(
        slug_field="username", read_only=True, allow_null=True
    )

    class Meta:
        model = PersonalAccessToken
        fields = [
            "id",
            "name",
            "user",
            "username",
            "level",
            "level_name",
            "created_at",
            "expires_at",
            "last_used_at",
            "last_used_address",
            "revoked_at",
            "revoked_by",
        ]
        read_only_fields = fields


class PersonalTokenCreatedSerializer(PersonalTokenSerializer):
    """The create answer: the token and, once only, its secret `token`."""

    token = serializers.CharField(read_only=True, help_text="Shown once: store it now.")

    class Meta(PersonalTokenSerializer.Meta):
        fields = [*PersonalTokenSerializer.Meta.fields, "token"]
        read_only_fields = fields


class PersonalTokenCreateSerializer(serializers.Serializer):
    """Body of `POST /api/tokens/`."""

    name = TextField(max_length=100)
    expires_in_days = serializers.IntegerField(
        required=False, min_value=1, max_value=MAX_DATABASE_INTEGER
    )
    level = serializers.ChoiceField(choices=Level.choices, required=False, allow_null=True)


class PersonalTokenFilterSerializer(serializers.Serializer):
    """Query parameters of the token list."""

    user = serializers.IntegerField(required=False, min_value=1, max_value=MAX_DATABASE_INTEGER)
    all = serializers.BooleanField(required=False, default=False)


class PersonalTokenListView(GenericAPIView):
    """List personal tokens, or create one for yourself."""

    required_policy = "authenticated"
    # A leaked token must not be able to mint itself a successor.
    session_only = ("POST",)
    serializer_class = PersonalTokenSerializer

    @extend_schema(
        tags=["tokens"],
        summary="List your personal API tokens (admins: ?user=<id> or ?all=true for others')",
        parameters=[
            OpenApiParameter("user", int, description="Another user's tokens (admin policy)."),
            OpenApiParameter("all", bool, description="Everyone's tokens (admin policy)."),
            *PAGE_PARAMETERS,
        ],
        responses={200: PersonalTokenSerializer(many=True), **errors(400, 401, 403, 404)},
    )
    def get(self, request):
        filters = validated(PersonalTokenFilterSerializer, query_params(request))
        tokens = personal_tokens.token_list(
            actor=request.user,
            levels=roles.request_levels(request),
            user_id=filters.get("user"),
            all_users=filters["all"],
        )
        page = self.paginate_queryset(tokens)
        return self.get_paginated_response(PersonalTokenSerializer(page, many=True).data)

    @extend_schema(
        tags=["tokens"],
        summary="Create a personal API token (its secret is in this answer only)",
        description=(
            f"Expires after `expires_in_days` (default {settings.API_TOKEN_DEFAULT_DAYS}, at most "
            f"{settings.API_TOKEN_MAX_DAYS}). `level` narrows it to a level whose policies you "
            "all satisfy yourself."
        ),
        request=PersonalTokenCreateSerializer,
        responses={201: PersonalTokenCreatedSerializer, **errors(400, 401, 403, 415)},
    )
    def post(self, request):
        data = validated(PersonalTokenCreateSerializer, request.data)
        token, raw = personal_tokens.token_create(
            user=request.user, levels=roles.request_levels(request), **data
        )
        body = {**PersonalTokenSerializer(token).data, "token": raw}
        response = Response(body, status=status.HTTP_201_CREATED)
        forbid_caching(response)
        return response


class PersonalTokenDetailView(APIView):
    """Revoke a personal token."""

    required_policy = "authenticated"

    @extend_schema(
        tags=["tokens"],
        summary="Revoke a personal API token (yours; admins: others' by the assignment rules)",
        operation_id="api_tokens_revoke",
        parameters=[OpenApiParameter("id", int, OpenApiParameter.PATH)],
        responses={204: None, **errors(401, 403, 404)},
    )
    def delete(self, request, pk: int):
        personal_tokens.token_revoke(
            actor=request.user,
            levels=roles.request_levels(request),
            token_id=pk,
            auth=request.auth,
        )
        return Response(status=status.HTTP_204_NO_CONTENT)
