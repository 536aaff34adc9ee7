"""Invitations: admins invite by email (`admin` policy); the invited accept with the link."""

from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework import exceptions, status
from rest_framework.generics import GenericAPIView
from rest_framework.response import Response
from rest_framework.views import APIView

from simple_rbas.api import query_params, validated
from simple_rbas.openapi import PAGE_PARAMETERS, errors
from users import invitations, selectors, services
from users.email_views import LinkView
from users.serializers import (
    InvitationAcceptSerializer,
    InvitationCreateSerializer,
    InvitationFilterSerializer,
    InvitationPreviewSerializer,
    InvitationSerializer,
    SignupResponseSerializer,
    TokenSerializer,
    UserSerializer,
)

INVITATION_ID = OpenApiParameter("id", int, OpenApiParameter.PATH)


class InvitationListView(GenericAPIView):
    """List invitations, or invite an address at a level (assignment rules apply)."""

    required_policy = "admin"
    serializer_class = InvitationSerializer

    @extend_schema(
        tags=["invitations"],
        summary="List invitations, newest first",
        parameters=[
            OpenApiParameter("status", str, enum=["pending", "accepted", "revoked", "expired"]),
            OpenApiParameter("search", str, description="In the invited address."),
            *PAGE_PARAMETERS,
        ],
        responses={200: InvitationSerializer(many=True), **errors(400, 401, 403, 404)},
    )
    def get(self, request):
        filters = validated(InvitationFilterSerializer, query_params(request))
        page = self.paginate_queryset(selectors.invitation_list(**filters))
        return self.get_paginated_response(InvitationSerializer(page, many=True).data)

    @extend_schema(
        tags=["invitations"],
        summary="Invite an email address at a level: a link goes to it",
        request=InvitationCreateSerializer,
        responses={201: InvitationSerializer, **errors(400, 401, 403, 409, 415)},
    )
    def post(self, request):
        data = validated(InvitationCreateSerializer, request.data)
        invitation = invitations.invitation_create(
            actor=request.user,
            email=data["email"],
            level=data.get("level", services.default_level()),
        )
        return Response(InvitationSerializer(invitation).data, status=status.HTTP_201_CREATED)


class InvitationDetailView(APIView):
    """One invitation."""

    required_policy = "admin"

    @extend_schema(
        tags=["invitations"],
        summary="One invitation",
        operation_id="api_invitations_detail",
        parameters=[INVITATION_ID],
        responses={200: InvitationSerializer, **errors(401, 403, 404)},
    )
    def get(self, request, pk: int):
        invitation = selectors.invitation_get(pk=pk)
        if invitation is None:
            raise exceptions.NotFound()
        return Response(InvitationSerializer(invitation).data)


class InvitationResendView(APIView):
    """Send an invitation again with a new link (the previous link stops working)."""

    required_policy = "admin"

    @extend_schema(
        tags=["invitations"],
        summary="Send an invitation again with a new link; the old link stops working",
        parameters=[INVITATION_ID],
        request=None,
        responses={200: InvitationSerializer, **errors(401, 403, 404, 409)},
    )
    def post(self, request, pk: int):
        invitation = invitations.invitation_resend(actor=request.user, pk=pk)
        return Response(InvitationSerializer(invitation).data)


class InvitationRevokeView(APIView):
    """Revoke an invitation that was not accepted: its link stops working."""

    required_policy = "admin"

    @extend_schema(
        tags=["invitations"],
        summary="Revoke an invitation: its link stops working",
        parameters=[INVITATION_ID],
        request=None,
        responses={200: InvitationSerializer, **errors(401, 403, 404, 409)},
    )
    def post(self, request, pk: int):
        invitation = invitations.invitation_revoke(actor=request.user, pk=pk)
        return Response(InvitationSerializer(invitation).data)


class InvitationPreviewView(LinkView):
    """What an invitation link offers: the address, the level and who invited."""

    @extend_schema(
        tags=["invitations"],
        auth=[],
        summary="What an invitation link offers (for the page that accepts it)",
        request=TokenSerializer,
        responses={200: InvitationPreviewSerializer, **errors(400, 415, 429)},
    )
    def post(self, request):
        data = validated(TokenSerializer, request.data)
        invitation = invitations.invitation_preview(token=data["token"])
        inviter = invitation.invited_by
        return Response(
            {
                "email": invitation.email,
                "level": invitation.level,
                "level_name": invitation.level_name,
                "invited_by": inviter.get_full_name() or inviter.username,
                "expires_at": invitation.expires_at,
            }
        )


class InvitationAcceptView(LinkView):
    """Accept an invitation: choose a username and password; the account is made at the
    invited level with the invited (now verified) address."""

    @extend_schema(
        tags=["invitations"],
        auth=[],
        summary="Accept an invitation: choose a username and password",
        request=InvitationAcceptSerializer,
        responses={201: SignupResponseSerializer, **errors(400, 409, 415, 429)},
    )
    def post(self, request):
        data = validated(InvitationAcceptSerializer, request.data)
        user = invitations.invitation_accept(**data)
        return Response({"user": UserSerializer(user).data}, status=status.HTTP_201_CREATED)
