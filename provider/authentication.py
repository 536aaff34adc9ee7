"""DRF authentication by the provider's access tokens (`Authorization: Bearer rbas_oat_...`)."""

from oauth2_provider.oauth2_backends import get_oauthlib_core
from rest_framework import exceptions
from rest_framework.authentication import BaseAuthentication

from provider import selectors
from provider.generators import ACCESS_PREFIX

# The scope an OAuth access token needs to act on the RBAS API (as its user or service account).
API_SCOPE = "rbas"
WWW_AUTHENTICATE = 'Bearer realm="api"'


class OAuthTokenAuthentication(BaseAuthentication):
    """Authenticate by an OAuth access token this service issued, carrying the `rbas` scope.

    Claims only Bearer tokens that start with `rbas_oat_` (None for anything else, so the
    other classes can try). The token's user, or the service account of a client-credentials
    application, is read from the database on every request: deactivation and level changes
    apply at once. `request.auth` is DOT's `AccessToken`.
    """

    def authenticate(self, request):
        """Return `(user, access_token)`, `None` for other credentials, or raise a 401."""
        if not self.get_raw_token(request):
            return None
        valid, oauth_request = get_oauthlib_core().verify_request(request, scopes=[])
        if not valid:
            raise exceptions.AuthenticationFailed(
                "Invalid, expired or revoked access token.", code="token_not_valid"
            )
        token = oauth_request.access_token
        if not token.allow_scopes([API_SCOPE]):
            raise exceptions.AuthenticationFailed(
                f"This access token lacks the '{API_SCOPE}' scope.", code="insufficient_scope"
            )
        user = token.user or selectors.service_user(application_id=token.application_id)
        if user is None or not user.is_active:
            raise exceptions.AuthenticationFailed("User is inactive.", code="user_inactive")
        return user, token

    def get_raw_token(self, request) -> str | None:
        """The token of an `Authorization: Bearer rbas_oat_...` header, else `None`."""
        parts = request.META.get("HTTP_AUTHORIZATION", "").split()
        if len(parts) == 2 and parts[0].lower() == "bearer" and parts[1].startswith(ACCESS_PREFIX):
            return parts[1]
        return None

    def authenticate_header(self, request) -> str:
        """Turns refusals of anonymous callers into 401."""
        return WWW_AUTHENTICATE
