"""The OAuth2 / OpenID Connect endpoints: DOT's views, each declaring its policy, and the
authorization (consent) page signed in by RBAS's own cookie."""

import base64
import contextlib
import json

from django.contrib.auth.models import AnonymousUser
from django.http import JsonResponse
from django.template.response import TemplateResponse
from oauth2_provider import views as dot
from oauth2_provider.exceptions import OAuthToolkitError
from oauth2_provider.models import Application
from oauthlib.openid.connect.core.exceptions import LoginRequired
from rest_framework.exceptions import AuthenticationFailed

from provider.claims import CLAIM_SCOPES
from simple_rbas.api import text_problem
from users import roles
from users.authentication import user_for_claims
from users.cookies import read_token_cookie
from users.tokens import ACCESS, decode_token

SIGN_IN_PAGE = "/login"
UNVERIFIED = {
    "error": "Email address not confirmed",
    "description": "Confirm your email address before signing in to other applications.",
}
UNKNOWN_CLIENT = {"error": "invalid_request", "description": "No such application."}
# As strict as the web app's pages, less `form-action`: Chromium applies it to the redirect
# that follows the consent form, which goes to the application's own address.
CONTENT_SECURITY_POLICY = (
    "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
    "connect-src 'self'; object-src 'none'; base-uri 'self'; frame-ancestors 'none'"
)


def unstorable_input(request) -> str | None:
    """Why a parameter or the Basic credentials hold text the database cannot store (a NUL:
    PostgreSQL refuses it with an error), or None. DOT looks such values up unguarded."""
    values = [*request.GET.values(), *request.POST.values()]
    scheme, _, credentials = request.META.get("HTTP_AUTHORIZATION", "").partition(" ")
    if scheme.lower() == "basic":
        with contextlib.suppress(ValueError):
            values.append(base64.b64decode(credentials, validate=True).decode())
    return next(filter(None, map(text_problem, values)), None)


class CheckedInput:
    """Refuses (400 `invalid_request`) what the database cannot store, before DOT reads it."""

    @classmethod
    def as_view(cls, **initkwargs):
        view = super().as_view(**initkwargs)
        # What DOT marked its own dispatch with (csrf_exempt on the client endpoints).
        view.__dict__.update(super().dispatch.__dict__)
        return view

    def dispatch(self, request, *args, **kwargs):
        problem = unstorable_input(request)
        if problem:
            return JsonResponse(
                {"error": "invalid_request", "error_description": problem}, status=400
            )
        return super().dispatch(request, *args, **kwargs)


def cookie_user(request):
    """The user of the request's RBAS access cookie, or `None` (no cookie, or one no longer
    valid: expired, signed out, user deactivated)."""
    raw = read_token_cookie(request, ACCESS)
    if raw is None:
        return None
    try:
        user, _session = user_for_claims(decode_token(raw, token_type=ACCESS))
    except AuthenticationFailed:
        return None
    return user


class AuthorizationView(CheckedInput, dot.AuthorizationView):
    """`/o/authorize/`: the consent page for a signed-in user, else the sign-in page with
    `next` set to come back here. The Allow/Deny form is CSRF-checked by Django's middleware."""

    required_policy = "authenticated"
    template_name = "provider/authorize.html"
    login_url = SIGN_IN_PAGE

    def dispatch(self, request, *args, **kwargs):
        # The RBAS cookie, never a Django admin session, signs a user in here.
        request.user = user = cookie_user(request) or AnonymousUser()
        if user.is_authenticated and user.must_verify_email:
            response = TemplateResponse(
                request, self.template_name, {"error": UNVERIFIED}, status=403
            )
        else:
            response = super().dispatch(request, *args, **kwargs)
        if isinstance(response, TemplateResponse):
            response["Content-Security-Policy"] = CONTENT_SECURITY_POLICY
        return response

    def form_valid(self, form):
        """DOT's answer to Allow/Deny, once the (hidden, so editable) client id is known: DOT
        looks it up unguarded and would fail with a 500."""
        if not Application.objects.filter(client_id=form.cleaned_data["client_id"]).exists():
            return self.render_to_response({"error": UNKNOWN_CLIENT}, status=400)
        return super().form_valid(form)

    def handle_prompt_login(self):
        """`prompt=login`: the sign-in page asks for the password even if a session is alive
        (`reauth`: it renews no session silently), then comes back without the prompt."""
        response = super().handle_prompt_login()
        response["Location"] += "&reauth=1"
        return response

    def handle_no_permission(self):
        """Nobody signed in: the sign-in page, then back here. With `prompt=none` no page may
        be shown: the application hears `login_required` (once its request checked out)."""
        if "none" not in self.request.GET.get("prompt", "").split():
            return super().handle_no_permission()
        try:
            self.validate_authorization_request(self.request)
        except OAuthToolkitError as error:
            problem = error.oauthlib_error
            if problem.error == "consent_required":  # valid, but for a signed-in user only
                error = OAuthToolkitError(
                    LoginRequired(state=problem.state), redirect_uri=problem.redirect_uri
                )
            return self.error_response(error, application=None)
        return super().handle_no_permission()  # unreachable: consent is never silent


class _Public(CheckedInput):
    """DOT's endpoints that authenticate their callers themselves (client credentials,
    access tokens) or publish public metadata."""

    required_policy = roles.PUBLIC


class TokenView(_Public, dot.TokenView):
    """`/o/token/`."""


class RevokeTokenView(_Public, dot.RevokeTokenView):
    """`/o/revoke_token/`."""


class IntrospectTokenView(_Public, dot.IntrospectTokenView):
    """`/o/introspect/`: POST only (RFC 7662), so tokens never sit in a URL or a log line."""

    http_method_names = ["post", "options"]


class ConnectDiscoveryInfoView(_Public, dot.ConnectDiscoveryInfoView):
    """`/o/.well-known/openid-configuration`: DOT's document, plus what it leaves out (the
    revocation and introspection endpoints, the grants, every claim this provider releases)."""

    def get(self, request, *args, **kwargs):
        response = super().get(request, *args, **kwargs)
        document = json.loads(response.content)
        document.update(
            revocation_endpoint=self._get_endpoint_url(request, "revoke-token", required=True),
            introspection_endpoint=self._get_endpoint_url(request, "introspect", required=True),
            grant_types_supported=["authorization_code", "refresh_token", "client_credentials"],
            claims_supported=sorted(CLAIM_SCOPES),
        )
        response.content = json.dumps(document)
        return response


class JwksInfoView(_Public, dot.JwksInfoView):
    """`/o/.well-known/jwks.json`."""


class UserInfoView(_Public, dot.UserInfoView):
    """`/o/userinfo/`."""
