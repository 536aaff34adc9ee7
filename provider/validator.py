"""DOT's validator with RBAS's claims and its account rules."""

from oauth2_provider.oauth2_validators import OAuth2Validator

from provider import selectors
from provider.claims import CLAIM_SCOPES, user_claims


def _may_act(user) -> bool:
    """Whether tokens may still be issued to or used by `user` (None: a service's token)."""
    return user is None or user.is_active


class RBASOAuth2Validator(OAuth2Validator):
    """Adds `level`, `level_name` and `policies` (scope `rbas`) and the profile and email
    claims to ID tokens and userinfo; a deactivated user's code, refresh token and access
    tokens stop working at once."""

    oidc_claim_scope = CLAIM_SCOPES

    def get_additional_claims(self, request) -> dict:
        """The user's claims, read from their row at the time of the request."""
        return user_claims(request.user)

    def validate_silent_login(self, request) -> bool:
        """`prompt=none` from a signed-in user (the view answers the others itself)."""
        return True

    def validate_silent_authorization(self, request) -> bool:
        """`prompt=none` never succeeds: consent is asked every time (`consent_required`)."""
        return False

    def validate_grant_type(self, client_id, grant_type, client, request, *args, **kwargs) -> bool:
        """DOT's checks, then: a service's account must be active to get client credentials."""
        if not super().validate_grant_type(client_id, grant_type, client, request, *args, **kwargs):
            return False
        if grant_type != "client_credentials":
            return True
        account = selectors.service_user(application_id=client.pk)
        return account is not None and account.is_active

    def validate_code(self, client_id, code, client, request, *args, **kwargs) -> bool:
        """DOT's checks, then: the user who consented is still active."""
        valid = super().validate_code(client_id, code, client, request, *args, **kwargs)
        return valid and _may_act(request.user)

    def validate_refresh_token(self, refresh_token, client, request, *args, **kwargs) -> bool:
        """DOT's checks (rotation, reuse), then: the user is still active."""
        valid = super().validate_refresh_token(refresh_token, client, request, *args, **kwargs)
        return valid and _may_act(request.user)

    def validate_bearer_token(self, token, scopes, request) -> bool:
        """DOT's checks (expiry, revocation, scopes), then: the user is still active."""
        return super().validate_bearer_token(token, scopes, request) and _may_act(request.user)
