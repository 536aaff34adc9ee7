"""What the ID token and userinfo say about a user, per scope."""

from users import roles

# Claim -> the scope that releases it (DOT's `oidc_claim_scope`).
CLAIM_SCOPES = {
    "sub": "openid",
    "preferred_username": "profile",
    "name": "profile",
    "given_name": "profile",
    "family_name": "profile",
    "email": "email",
    "email_verified": "email",
    "level": "rbas",
    "level_name": "rbas",
    "policies": "rbas",
}


def user_claims(user) -> dict:
    """Every claim this provider can release about `user` (filtered by scope by the caller)."""
    return {
        "preferred_username": user.get_username(),
        "name": user.get_full_name(),
        "given_name": user.first_name,
        "family_name": user.last_name,
        "email": user.email,
        "email_verified": user.email_verified,
        "level": user.level,
        "level_name": user.level_name,
        "policies": roles.policies_for(user.level),
    }
