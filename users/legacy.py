"""The seed tutorial's routes, kept working on top of the endpoints of `users.views`.

They reuse the same views, services and policies; only the response bodies keep the tutorial's
shapes and messages.
"""

from rest_framework.response import Response
from rest_framework.views import APIView

from users import roles
from users.serializers import UserSerializer
from users.views import LoginView, SignupView


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

    def get(self, request):
        user = request.user if request.user.is_authenticated else None
        return Response(
            {
                "user": UserSerializer(user).data if user else None,
                "message": self.message,
                "success": True,
            }
        )

    post = get


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
