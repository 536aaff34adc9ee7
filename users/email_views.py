"""Password reset and email verification endpoints (the links are made in `users.links`)."""

from drf_spectacular.utils import extend_schema
from rest_framework import status
from rest_framework.response import Response
from rest_framework.throttling import ScopedRateThrottle
from rest_framework.views import APIView

from simple_rbas.api import validated
from simple_rbas.exceptions import Conflict
from simple_rbas.openapi import DetailSerializer, errors
from users import recovery, services, verification
from users.serializers import (
    PasswordResetConfirmSerializer,
    PasswordResetSerializer,
    TokenSerializer,
)
from users.throttling import PasswordResetEmailThrottle
from users.views import CredentialView

RESET_QUEUED = (
    "If an account uses this address, a link to choose a new password is on its way. "
    "It works once and expires soon; look in your spam folder if nothing arrives."
)


class LinkView(CredentialView):
    """Base of the public endpoints that take a link's token: throttled per client address."""

    throttle_classes = [ScopedRateThrottle]
    throttle_scope = "email_links"


class PasswordResetView(CredentialView):
    """Ask for a password reset link. The answer is the same whether or not an account uses
    the address, and so is the time it takes (the queue worker decides whom to write to)."""

    throttle_classes = [PasswordResetEmailThrottle, ScopedRateThrottle]
    throttle_scope = "password_reset_address"

    @extend_schema(
        tags=["auth"],
        auth=[],
        summary="Ask for a password reset link (the same 202 whether the address is known)",
        request=PasswordResetSerializer,
        responses={202: DetailSerializer, **errors(400, 415, 429)},
    )
    def post(self, request):
        data = validated(PasswordResetSerializer, request.data)
        recovery.password_reset_request(email=data["email"])
        return Response({"detail": RESET_QUEUED}, status=status.HTTP_202_ACCEPTED)


class PasswordResetConfirmView(LinkView):
    """Choose a new password with a reset link's token; every session of the user ends."""

    @extend_schema(
        tags=["auth"],
        auth=[],
        summary="Set a new password with a reset link (every session of the user ends)",
        request=PasswordResetConfirmSerializer,
        responses={204: None, **errors(400, 415, 429)},
    )
    def post(self, request):
        data = validated(PasswordResetConfirmSerializer, request.data)
        recovery.password_reset_confirm(token=data["token"], new_password=data["new_password"])
        return Response(status=status.HTTP_204_NO_CONTENT)


class EmailVerifyView(LinkView):
    """Verify an address with the token of the link sent to it."""

    @extend_schema(
        tags=["auth"],
        auth=[],
        summary="Verify an email address with the link sent to it",
        request=TokenSerializer,
        responses={204: None, **errors(400, 415, 429)},
    )
    def post(self, request):
        data = validated(TokenSerializer, request.data)
        verification.email_verify(token=data["token"])
        return Response(status=status.HTTP_204_NO_CONTENT)


class EmailVerificationResendView(APIView):
    """Send a new verification link to the current user's address (throttled per user)."""

    required_policy = "authenticated"
    open_before_verification = True
    throttle_classes = [ScopedRateThrottle]
    throttle_scope = "email_links"

    @extend_schema(
        tags=["auth"],
        summary="Send a new verification link to your address",
        request=None,
        responses={202: DetailSerializer, **errors(401, 403, 409, 429)},
    )
    def post(self, request):
        user = request.user
        if user.email_verified:
            raise Conflict("Your email address is verified already.", code="already_verified")
        if not user.email:
            raise Conflict("Your account has no email address: add one first.", code="no_email")
        services.email_verification_send(user)
        return Response(
            {"detail": f"A new link is on its way to {user.email}."},
            status=status.HTTP_202_ACCEPTED,
        )
