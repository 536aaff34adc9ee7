"""Single sign-on endpoints: the providers on offer, the redirect to one, and its return.

The two redirect endpoints are browser navigations: whatever goes wrong after the provider is
chosen ends on the sign-in page with a plain message (`/login?sso_error=<code>`), never as a
JSON error page, and creates nothing.
"""

import logging
from urllib.parse import urlencode, urlsplit

from django.conf import settings
from django.http import HttpResponseRedirect
from django.middleware.csrf import rotate_token
from django.urls import reverse
from django.utils.http import url_has_allowed_host_and_scheme
from drf_spectacular.utils import OpenApiParameter, OpenApiResponse, extend_schema
from rest_framework import serializers
from rest_framework.generics import ListAPIView
from rest_framework.throttling import ScopedRateThrottle
from rest_framework.views import APIView

from audit import services as audit
from simple_rbas.openapi import PAGE_PARAMETERS, errors
from users import oidc, roles, sessions, sso
from users.cookies import set_token_cookies
from users.views import forbid_caching

logger = logging.getLogger(__name__)

SIGN_IN_PAGE = "/login"


def safe_next(value: str | None) -> str:
    """`value` when it is a path on this site or an address on a front end of
    FRONTEND_ORIGINS, else "/" (no open redirect).

    The one rule for `next`: the single sign-on redirects follow it, and the sign-in page is
    handed its result, never the raw query string. Browsers read a backslash as a slash and drop
    tabs and newlines, so `/\\evil.example` or `/<TAB>/evil.example` would leave the site.
    """
    if not value or "\\" in value or any(ord(char) < 0x20 or ord(char) == 0x7F for char in value):
        return "/"
    if value.startswith("/"):
        if not value.startswith("//") and url_has_allowed_host_and_scheme(value, set()):
            return value
        return "/"
    return value if _on_a_front_end(value) else "/"


def _on_a_front_end(url: str) -> bool:
    """Whether `url` is an absolute address whose origin is one of FRONTEND_ORIGINS."""
    try:
        parts = urlsplit(url)
        parts.port  # noqa: B018 - raises on a port that is not a number
    except ValueError:
        return False
    if "@" in parts.netloc or not parts.hostname:
        return False
    origin = f"{parts.scheme}://{parts.netloc}"
    return origin in settings.FRONTEND_ORIGINS and url_has_allowed_host_and_scheme(
        url, allowed_hosts={parts.netloc}
    )


def sign_in_page(code: str, next_path: str) -> HttpResponseRedirect:
    """Back to the sign-in page, which shows the message for `code`."""
    query = {"sso_error": code}
    if next_path != "/":
        query["next"] = next_path
    return HttpResponseRedirect(f"{SIGN_IN_PAGE}?{urlencode(query)}")


def login_url(provider: oidc.Provider) -> str:
    """The path that starts a sign-in with `provider`."""
    return reverse("oidc-login", args=[provider.name])


class ProviderSerializer(serializers.Serializer):
    """A provider on offer: `login_url` starts its sign-in."""

    name = serializers.CharField()
    title = serializers.CharField()
    login_url = serializers.SerializerMethodField()

    def get_login_url(self, provider: oidc.Provider) -> str:
        return login_url(provider)


class SsoView(APIView):
    """Base of the public single sign-on endpoints: they ignore any token cookie."""

    required_policy = roles.PUBLIC
    authentication_classes = []


class ProviderListView(SsoView, ListAPIView):
    """The enabled OpenID Connect providers, for "Sign in with ..." buttons."""

    serializer_class = ProviderSerializer

    def get_queryset(self):
        return list(oidc.providers().values())

    @extend_schema(
        tags=["auth"],
        auth=[],
        summary="List the single sign-on providers",
        parameters=PAGE_PARAMETERS,
        responses={200: ProviderSerializer(many=True), **errors(404)},
    )
    def get(self, request, *args, **kwargs):
        return super().get(request, *args, **kwargs)


_REDIRECT = OpenApiResponse(description="Redirect (browser navigation).")


class ProviderLoginView(SsoView):
    """Start a single sign-on: redirect to the provider."""

    # Counted with password logins: each start also stores a Django session row.
    throttle_classes = [ScopedRateThrottle]
    throttle_scope = "login_address"

    @extend_schema(
        tags=["auth"],
        auth=[],
        summary="Sign in with a provider: redirects to it",
        parameters=[
            OpenApiParameter("next", str, description="Path on this site to end on."),
        ],
        responses={302: _REDIRECT, **errors(404, 429)},
    )
    def get(self, request, provider: str):
        chosen = oidc.provider_get(provider)
        next_path = safe_next(request.GET.get("next"))
        try:
            return oidc.authorization_redirect(
                request, chosen, next_path=next_path, **self.hints(chosen)
            )
        except oidc.SsoError as error:
            logger.warning("SSO start with %s failed: %s", chosen.name, error)
            return sign_in_page(error.code, next_path)

    def hints(self, provider: oidc.Provider) -> dict:
        """Google's `hd`: its account chooser offers only the one allowed domain's accounts
        (a convenience; the `hd` claim is what the account check trusts)."""
        domains = settings.SIGNUP_ALLOWED_DOMAINS
        if provider.name == "google" and settings.SIGNUP_MODE == "domain" and len(domains) == 1:
            return {"hd": domains[0]}
        return {}


class ProviderCallbackView(SsoView):
    """Finish a single sign-on: verify the provider's answer, sign in, go to `next`."""

    @extend_schema(
        tags=["auth"],
        auth=[],
        summary="The provider's return: sets the login cookies and redirects to next",
        parameters=[
            OpenApiParameter("code", str),
            OpenApiParameter("state", str),
            OpenApiParameter("error", str),
        ],
        responses={302: _REDIRECT, **errors(404)},
    )
    def get(self, request, provider: str):
        chosen = oidc.provider_get(provider)
        next_path = safe_next(oidc.pending_next(request, chosen))
        try:
            claims = oidc.authorization_complete(request, chosen)
            user = sso.sso_sign_in(provider=chosen.name, claims=claims)
        except oidc.SsoError as error:
            logger.warning("SSO with %s refused (%s): %s", chosen.name, error.code, error)
            audit.record("auth.login_failed", method=f"sso:{chosen.name}", reason=error.code)
            return sign_in_page(error.code, next_path)
        issued = sessions.session_start(user=user, method=f"sso:{chosen.name}")
        logger.info("SSO sign-in with %s: user %s", chosen.name, user.pk)
        rotate_token(request)  # a new CSRF secret for the new sign-in
        response = HttpResponseRedirect(next_path)
        set_token_cookies(response, access=issued.access.raw, refresh=issued.refresh.raw)
        forbid_caching(response)
        return response
