"""The one permission class: it applies the policy a view declares."""

from rest_framework.permissions import BasePermission

from users import roles
from users.tokens import TokenClaims


class HasPolicy(BasePermission):
    """Allows access when the user satisfies the view's `required_policy`.

    A view without `required_policy` is refused (deny by default); `roles.PUBLIC` opens a view
    to anyone. A view may set `policy_denied_message` to word the 403 its own way.

    A password signup whose address is not verified yet (`must_verify_email`) satisfies no
    policy, except on the views about its own account that set `open_before_verification`.

    The policy must allow every level of the request's credential (`roles.request_levels`), and
    a view lists in `session_only` the methods only a signed-in session (a login's JWT) may
    call: never a personal API token or an OAuth access token.
    """

    def has_permission(self, request, view) -> bool:
        policy = getattr(view, "required_policy", None)
        if policy is None:
            return False
        if policy == roles.PUBLIC:
            return True
        user = request.user
        if not (user and user.is_authenticated):
            return False
        if user.must_verify_email and not getattr(view, "open_before_verification", False):
            self.message = (
                f"Confirm your email address first: follow the link sent to {user.email}, or "
                "ask for a new one (POST /api/auth/verify-email/resend/)."
            )
            self.code = "email_unverified"
            return False
        if request.method in getattr(view, "session_only", ()) and not isinstance(
            request.auth, TokenClaims
        ):
            self.message = (
                "Only a signed-in session can do this, not a personal API token or an "
                "application's access token (a leaked token must not be able to entrench "
                "itself): sign in with your password or single sign-on."
            )
            self.code = "session_required"
            return False
        if roles.allows(policy, *roles.request_levels(request)):
            return True
        self.message = getattr(view, "policy_denied_message", None) or (
            f"This action requires the '{policy}' policy."
        )
        self.code = "policy_denied"
        return False
