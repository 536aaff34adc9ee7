"""Authentication endpoints (API.md: Authentication)."""

from django.middleware.csrf import get_token, rotate_token
from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework import exceptions, status
from rest_framework.response import Response
from rest_framework.throttling import ScopedRateThrottle
from rest_framework.views import APIView

from simple_rbas.api import validated
from simple_rbas.openapi import errors
from users import roles, services, sessions
from users.authentication import WWW_AUTHENTICATE, enforce_csrf
from users.cookies import clear_token_cookies, read_token_cookie, set_token_cookies
from users.serializers import (
    AccessSerializer,
    CsrfSerializer,
    LoginSerializer,
    MeSerializer,
    PasswordChangeSerializer,
    ProfileUpdateSerializer,
    RefreshSerializer,
    SignupResponseSerializer,
    SignupSerializer,
    TokenResponseSerializer,
    UserSerializer,
    policies_of,
)
from users.throttling import LoginUsernameThrottle
from users.tokens import ACCESS, REFRESH, lifetime

COOKIE = "cookie"  # the default token delivery (the other: "body")

# Fields no one may set on their own account, at signup or later.
PRIVILEGE_FIELDS = ("level", "is_active", "is_staff", "is_superuser")


def _body_fields(request) -> set[str]:
    """The top-level field names of a JSON object body (none for any other body)."""
    return set(request.data) if isinstance(request.data, dict) else set()


def refuse_password_field(request, how: str) -> None:
    """Answer 400 naming the right endpoint to a body that tries to set a password here (it
    used to be ignored, so a client believed the password had changed)."""
    if _body_fields(request) & {"password", "new_password"}:
        field = "password" if "password" in request.data else "new_password"
        raise exceptions.ValidationError(
            {field: [f"A password cannot be set here. {how}"]}, code="password_not_here"
        )


class CredentialView(APIView):
    """Base of the public endpoints that take credentials instead of a session: they ignore
    any token cookie the browser still holds, and answer credential failures with 401."""

    required_policy = roles.PUBLIC
    authentication_classes = []

    def get_authenticate_header(self, request) -> str:
        return WWW_AUTHENTICATE


class SignupView(CredentialView):
    """Self-service account creation at the default level."""

    throttle_classes = [ScopedRateThrottle]
    throttle_scope = "signup_address"

    @extend_schema(
        tags=["auth"],
        auth=[],
        summary="Create an account at the default level",
        request=SignupSerializer,
        responses={201: SignupResponseSerializer, **errors(400, 403, 415, 429)},
    )
    def post(self, request):
        self.refuse_privileges(request)
        data = validated(SignupSerializer, request.data)
        user = services.user_signup(**data)
        return self.created_response(user)

    def refuse_privileges(self, request) -> None:
        """Refuse (403) a body that sets a privilege to anything but what signup grants anyway."""
        body = request.data if isinstance(request.data, dict) else {}
        default = services.default_level()
        granted = {
            "level": (int(default), roles.level_key(default)),
            "is_active": (True,),
            "is_staff": (False,),
            "is_superuser": (False,),
        }
        for field, harmless in granted.items():
            # Compare types too: JSON `true` must not pass for the level 1.
            if field in body and not any(
                type(body[field]) is type(value) and body[field] == value for value in harmless
            ):
                raise exceptions.PermissionDenied(
                    f"Signup cannot choose '{field}'.", code="privilege_not_allowed"
                )

    def created_response(self, user) -> Response:
        return Response({"user": UserSerializer(user).data}, status=status.HTTP_201_CREATED)


class LoginView(CredentialView):
    """Exchange a username and password for tokens: the access token in the body, and both as
    HTTP-only cookies, or (`token_delivery: body`) both in the body and no cookie."""

    throttle_classes = [LoginUsernameThrottle, ScopedRateThrottle]
    throttle_scope = "login_address"

    @extend_schema(
        tags=["auth"],
        auth=[],
        summary="Sign in: tokens in the body and as HTTP-only cookies (or all in the body)",
        request=LoginSerializer,
        responses={200: TokenResponseSerializer, **errors(400, 401, 415, 429)},
    )
    def post(self, request):
        data = validated(LoginSerializer, request.data)
        delivery = data.pop("token_delivery")
        issued = sessions.session_login(request=request, **data)
        if delivery == COOKIE:
            rotate_token(request)  # a new CSRF secret for the new sign-in
        return token_response(request, issued, delivery, self.login_body(issued))

    def login_body(self, issued: sessions.IssuedTokens) -> dict:
        return {}


class RefreshView(CredentialView):
    """Rotate the refresh token (cookie, or `refresh` in the body) for a new token pair."""

    @extend_schema(
        tags=["auth"],
        auth=[],
        summary="Rotate the refresh token (cookie or body) for a new token pair",
        request=RefreshSerializer,
        responses={200: TokenResponseSerializer, **errors(400, 401, 403, 415)},
    )
    def post(self, request):
        data = validated(RefreshSerializer, request.data)
        raw = data.get("refresh")
        if raw is None:
            raw = read_token_cookie(request, REFRESH)
            if raw is None:
                raise exceptions.NotAuthenticated("No refresh token was sent.")
            enforce_csrf(request)
        issued = sessions.session_refresh(raw_refresh=raw)
        return token_response(request, issued, data["token_delivery"])


def token_response(
    request, issued: sessions.IssuedTokens, delivery: str, extra: dict | None = None
) -> Response:
    """The login/refresh answer: the access token in the body; the refresh token in an
    HTTP-only cookie (with the CSRF token in the body), or in the body for `body` delivery."""
    body = {
        "user": UserSerializer(issued.user).data,
        "access_token": issued.access.raw,
        "token_type": "Bearer",
        "expires_in": int(lifetime(ACCESS).total_seconds()),
    }
    if delivery == COOKIE:
        # Also sets the cookie. Front ends on another origin cannot read that cookie, so
        # they take the token from here.
        body["csrf_token"] = get_token(request)
    else:
        body["refresh_token"] = issued.refresh.raw
        body["refresh_expires_in"] = int(lifetime(REFRESH).total_seconds())
    response = Response({**body, **(extra or {})})
    if delivery == COOKIE:
        set_token_cookies(response, access=issued.access.raw, refresh=issued.refresh.raw)
    forbid_caching(response)
    return response


class CsrfView(APIView):
    """The CSRF token (and its cookie), for front ends that cannot read the cookie."""

    required_policy = roles.PUBLIC
    authentication_classes = []

    @extend_schema(
        tags=["auth"],
        auth=[],
        summary="The CSRF token to send as X-CSRFToken (also sets the csrftoken cookie)",
        responses={200: CsrfSerializer},
    )
    def get(self, request):
        response = Response({"csrf_token": get_token(request)})
        forbid_caching(response)
        return response


def forbid_caching(response) -> None:
    """Keep a response that carries tokens out of every cache (RFC 6749, section 5.1)."""
    response["Cache-Control"] = "no-store"
    response["Pragma"] = "no-cache"


class LogoutView(APIView):
    """End the current login session and clear the cookies."""

    required_policy = "authenticated"
    open_before_verification = True
    # Only a signed-in session (`request.auth` is its TokenClaims) ends sessions: a personal
    # token revokes itself, an OAuth token is revoked at /o/revoke_token/.
    session_only = ("POST",)

    @extend_schema(
        tags=["auth"],
        summary="Sign out: end this session and clear the cookies",
        request=None,
        responses={204: None, **errors(401, 403)},
    )
    def post(self, request):
        self.revoke(request)
        response = Response(status=status.HTTP_204_NO_CONTENT)
        clear_token_cookies(response)
        return response

    def revoke(self, request) -> None:
        """End what this endpoint ends: the current session."""
        sessions.session_revoke(session_id=request.auth.session_id, reason="logout")


@extend_schema(tags=["auth"], summary="End every session of the current user")
class LogoutAllView(LogoutView):
    """End every login session of the current user."""

    def revoke(self, request) -> None:
        sessions.user_sessions_revoke(user_id=request.user.pk, reason="logout_all")


# Built once: a ModelSerializer otherwise derives its fields from the model on every request
# (a third of `GET /api/auth/me/`'s time). Its fields are bound here, before any thread serves
# a request, and `to_representation` only reads them, so the threads may share it.
_ME = MeSerializer()
_ME.fields  # noqa: B018


class MeView(APIView):
    """The current user: read, or change their own names and email."""

    required_policy = "authenticated"
    open_before_verification = True
    throttle_scope = "email_links"
    # A leaked personal token must not take the account over by changing its email.
    session_only = ("PATCH",)

    def get_throttles(self):
        """A change of email sends two messages (a link to the new address, a notice to the
        old one): it counts against EMAIL_LINK_THROTTLE, so nobody floods an inbox with it."""
        if self.request.method == "PATCH" and "email" in _body_fields(self.request):
            return [ScopedRateThrottle()]
        return []

    @extend_schema(
        tags=["auth"],
        summary="The current user and the policies they satisfy",
        responses={200: MeSerializer, **errors(401)},
    )
    def get(self, request):
        body = _ME.to_representation(request.user)
        body["policies"] = policies_of(request.user, roles.request_levels(request))
        return Response(body)

    @extend_schema(
        tags=["auth"],
        summary="Change your own names or email (a new email gets a verification link)",
        request=ProfileUpdateSerializer,
        responses={200: UserSerializer, **errors(400, 401, 403, 415, 429)},
    )
    def patch(self, request):
        refused = _body_fields(request).intersection(PRIVILEGE_FIELDS)
        if refused:
            raise exceptions.PermissionDenied(
                f"You cannot change your own {', '.join(sorted(refused))}.",
                code="privilege_not_allowed",
            )
        refuse_password_field(
            request,
            "Change your password with POST /api/auth/password/ (old_password, new_password); "
            "if you forgot it, ask for a link with POST /api/auth/password-reset/.",
        )
        data = validated(ProfileUpdateSerializer, request.data, partial=True)
        user = services.user_update_profile(user=request.user, **data)
        return Response(UserSerializer(user).data)


class PasswordChangeView(APIView):
    """Change the password; every other session of the user ends."""

    required_policy = "authenticated"
    open_before_verification = True
    session_only = ("POST",)

    @extend_schema(
        tags=["auth"],
        summary="Change your password (your other sessions end)",
        request=PasswordChangeSerializer,
        responses={204: None, **errors(400, 401, 403, 415)},
    )
    def post(self, request):
        data = validated(PasswordChangeSerializer, request.data)
        services.user_change_password(
            user=request.user, keep_session_id=request.auth.session_id, **data
        )
        return Response(status=status.HTTP_204_NO_CONTENT)


class AccessView(APIView):
    """Answer whether the current user satisfies a named policy (for other services)."""

    required_policy = "authenticated"

    @extend_schema(
        tags=["auth"],
        summary="Whether the current user satisfies a named policy",
        parameters=[
            OpenApiParameter("policy", str, OpenApiParameter.PATH, enum=list(roles.POLICIES))
        ],
        responses={200: AccessSerializer, **errors(401, 403, 404)},
    )
    def get(self, request, policy: str):
        if policy not in roles.POLICIES:
            raise exceptions.NotFound(f"Unknown policy '{policy}'.", code="unknown_policy")
        if not roles.allows(policy, *roles.request_levels(request)):
            raise exceptions.PermissionDenied(
                f"This action requires the '{policy}' policy.", code="policy_denied"
            )
        return Response({"policy": policy, "allowed": True})
