"""DOT's validator with RBAS's claims and its account rules."""

from oauth2_provider.oauth2_validators import OAuth2Validator

from provider.claims import CLAIM_SCOPES, user_claims


class RBASOAuth2Validator(OAuth2Validator):
    """Adds `level`, `level_name` and `policies` (scope `rbas`) and the profile and email
    claims to ID tokens and userinfo; refuses refresh for users who may no longer sign in."""

    oidc_claim_scope = CLAIM_SCOPES

    def get_additional_claims(self, request) -> dict:
        """The user's claims, read from their row at the time of the request."""
        return user_claims(request.user)

    def validate_refresh_token(self, refresh_token, client, request, *args, **kwargs) -> bool:
        """DOT's checks (rotation, reuse), then: the user is still active."""
        if not super().validate_refresh_token(refresh_token, client, request, *args, **kwargs):
            return False
        return request.user is None or request.user.is_active
