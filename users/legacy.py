"""The seed tutorial's routes, kept working on top of the endpoints of `users.views`.

They reuse the same views, services and policies; only the response bodies keep the tutorial's
shapes and messages.
"""

from drf_spectacular.utils import extend_schema, extend_schema_view
from rest_framework import serializers
from rest_framework.response import Response
from rest_framework.views import APIView

from simple_rbas.openapi import errors
from users import roles
from users.serializers import (
    LoginSerializer,
    SignupSerializer,
    TokenResponseSerializer,
    UserSerializer,
)
from users.views import LoginView, SignupView


class LegacyLoginResponseSerializer(TokenResponseSerializer):
    """The login answer plus the tutorial's fields."""

    success = serializers.BooleanField()
    message = serializers.CharField()
    email = serializers.EmailField()
    user_level = serializers.IntegerField()
    token = serializers.CharField(help_text='"Bearer <jwt>"')
    user_id = serializers.IntegerField()


class LegacySignupResponseSerializer(serializers.Serializer):
    """The tutorial's signup answer."""

    user = UserSerializer()
    success = serializers.BooleanField()


class LegacyRouteResponseSerializer(serializers.Serializer):
    """The tutorial's answer on its role routes."""

    user = UserSerializer(allow_null=True)
    message = serializers.CharField()
    success = serializers.BooleanField()


LEGACY = {"tags": ["seed tutorial"], "deprecated": True}
ROUTE_SCHEMA = extend_schema(
    **LEGACY,
    summary="A route of the seed tutorial, guarded by one policy",
    request=None,
    responses={200: LegacyRouteResponseSerializer, **errors(401, 403)},
)


@extend_schema_view(
    post=extend_schema(
        **LEGACY,
        auth=[],
        summary="The tutorial's login (use /api/auth/login/)",
        request=LoginSerializer,
        responses={200: LegacyLoginResponseSerializer, **errors(400, 401, 415, 429)},
    )
)
class LegacyLoginView(LoginView):
    """`POST /user-auth/`: a login whose body adds the tutorial's fields."""

    def login_body(self, issued):
        return {
            "success": True,
            "message": "You've successfully logged in",
            "email": issued.user.email,
            "user_level": issued.user.level,
            "token": f"Bearer {issued.access.raw}",
            "user_id": issued.user.pk,
        }


@extend_schema_view(
    post=extend_schema(
        **LEGACY,
        auth=[],
        summary="The tutorial's signup (use /api/auth/signup/)",
        request=SignupSerializer,
        responses={201: LegacySignupResponseSerializer, **errors(400, 403, 415, 429)},
    )
)
class LegacySignupView(SignupView):
    """`POST /user-signup/`: a signup answering `{"user", "success"}`."""

    def created_response(self, user):
        response = super().created_response(user)
        response.data["success"] = True
        return response


class LegacyPolicyView(APIView):
    """A tutorial route guarded by one policy; `as_view()` sets the policy and messages."""

    required_policy = roles.PUBLIC
    message = ""
    policy_denied_message = None

    @ROUTE_SCHEMA
    def get(self, request):
        user = request.user if request.user.is_authenticated else None
        return Response(
            {
                "user": UserSerializer(user).data if user else None,
                "message": self.message,
                "success": True,
            }
        )

    @ROUTE_SCHEMA
    def post(self, request):
        return self.get(request)


# (path, policy, success message, the tutorial's refusal) for each role route.
LEGACY_POLICY_ROUTES = [
    ("all-user/", roles.PUBLIC, "Every User can visit this url, even unsigned users", None),
    ("authenticated-user/", "authenticated", "Every authenticated user have access here", None),
    (
        "only-staff/",
        "staff",
        "You can only see this if you're a staff or owner",
        "Only Staff or Owner Users can access this endpoint.",
    ),
    (
        "only-admin/",
        "admin",
        "You can only see this if you're an admin staff or owner",
        "Only Admin Staff or Owner Users can access this endpoint.",
    ),
    (
        "only-investor-owner/",
        "investor",
        "You can only see this if you're an investor or owner",
        "Only Investors or Owners can access this endpoint.",
    ),
    (
        "only-owner/",
        "owner",
        "You can only see this if you're an owner",
        "Only Owners can access this endpoint.",
    ),
]
