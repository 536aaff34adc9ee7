"""What SIGNUP_MODE allows: who may make an account, and who may hold a password."""

from django.conf import settings

from users.models import User


def signup_refusal(email: str, *, vouched_domain: str = "") -> str | None:
    """Why `SIGNUP_MODE` refuses a new account for `email` ("closed" or "domain"), or None.

    In domain mode the email's domain must be allowed, or `vouched_domain`, a domain an identity
    provider vouches for (Google's Workspace `hd` claim).
    """
    if settings.SIGNUP_MODE == "closed":
        return "closed"
    if settings.SIGNUP_MODE == "domain":
        domains = {email.rpartition("@")[2].lower(), vouched_domain.lower()}
        if not domains & set(settings.SIGNUP_ALLOWED_DOMAINS):
            return "domain"
    return None


def may_set_password(user: User) -> bool:
    """Whether `user` may choose a password through a reset link: anyone who has one or whom
    an admin made without one, and an account made by single sign-on where SIGNUP_MODE lets
    its address sign up with a password."""
    return (
        user.has_usable_password()
        or not user.sso_identities.exists()
        or signup_refusal(user.email) is None
    )
