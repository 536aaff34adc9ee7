"""Services for single sign-on: which account a provider's verified claims open, creating or
linking it under SIGNUP_MODE, and the level the provider's claims map to."""

import re

from django.conf import settings
from django.db import IntegrityError, transaction
from django.utils import timezone

from audit import services as audit
from simple_rbas.api import text_problem
from users import roles
from users.models import SsoIdentity, User
from users.oidc import SsoError
from users.roles import Level
from users.services import active_owner_pks_locked, default_level
from users.signup_mode import signup_refusal

# What the sign-in page says for each way a single sign-on can fail (codes are stable).
MESSAGES = {
    "cancelled": "Sign-in was cancelled at the provider.",
    "state": "That sign-in link has expired or was already used. Please try again.",
    "token": "The provider's answer could not be verified. Please try again.",
    "unavailable": "The sign-in provider could not be reached. Please try again later.",
    "email_unverified": "Your account at the provider has no verified email address.",
    "domain": "Accounts from your email domain cannot sign in here.",
    "signup_closed": "There is no account for your email address, and sign-up is closed.",
    "linked_elsewhere": (
        "The account with your email address is already linked to another account at this provider."
    ),
    "unverified_account": (
        "An account with your email address exists here, but nobody has confirmed that the "
        "address belongs to it, so single sign-on cannot open it. Ask an administrator."
    ),
    "inactive": "Your account is deactivated.",
}
# The claims kept as they come (`preferred_username` is filtered into a username).
STORED_CLAIMS = ("sub", "email", "given_name", "family_name")


def _verified_email(claims: dict) -> str:
    email = claims.get("email")
    # Some providers send the boolean as a string.
    if (
        not isinstance(email, str)
        or "@" not in email
        or claims.get("email_verified")
        not in (
            True,
            "true",
        )
    ):
        raise SsoError("email_unverified")
    return email.strip()


def _check_signup(provider: str, email: str, claims: dict) -> None:
    """Refuse to create an account that SIGNUP_MODE does not allow; Google's `hd` claim (its
    Workspace domain) counts as an allowed domain, from Google only."""
    vouched = str(claims.get("hd", "")) if provider == "google" else ""
    refusal = signup_refusal(email, vouched_domain=vouched)
    if refusal is not None:
        raise SsoError("signup_closed" if refusal == "closed" else "domain")


def mapped_level(claims: dict) -> Level | None:
    """The level OIDC_LEVEL_MAP gives the claims, DEFAULT_LEVEL when no value is mapped, or
    None when the provider does not send OIDC_LEVEL_CLAIM at all (levels are left alone)."""
    claim = settings.OIDC_LEVEL_CLAIM
    if not claim or claim not in claims:
        return None
    values = claims[claim]
    values = {str(v) for v in values} if isinstance(values, list) else {str(values)}
    for value, key in settings.OIDC_LEVEL_MAP.items():
        if value in values:
            return roles.LEVELS_BY_KEY[key]
    return default_level()


def _free_username(claims: dict, email: str) -> str:
    """A username for a new account: the provider's preferred one or the email's local part."""
    wanted = claims.get("preferred_username") or email.partition("@")[0]
    base = re.sub(r"[^\w.@+-]", "", User.normalize_username(str(wanted)))[:140] or "user"
    candidate, number = base, 1
    while User.objects.filter(username__iexact=candidate).exists():
        number += 1
        candidate = f"{base}-{number}"
    return candidate


def _create_user(email: str, claims: dict, level: Level | None) -> User:
    user = User(
        username=_free_username(claims, email),
        email=email,
        first_name=str(claims.get("given_name", ""))[:150],
        last_name=str(claims.get("family_name", ""))[:150],
        level=default_level() if level is None else level,
        email_verified=True,  # the provider vouched for it
    )
    user.set_unusable_password()  # signs in through the provider until someone sets one
    user.save(force_insert=True)
    return user


def _set_level(user: User, level: Level, provider: str) -> None:
    """Apply a mapped level, except that the last active owner is never demoted."""
    if user.level == level:
        return
    if user.level == Level.OWNER and active_owner_pks_locked() == [user.pk]:
        return
    before, user.level = user.level, level
    user.save(update_fields=["level"])
    audit.record(
        "user.level_changed", target=user, via=f"sso:{provider}", **{"from": before, "to": level}
    )


def _check_storable(claims: dict) -> None:
    """Refuse claims this service stores that hold a NUL or a lone surrogate: the database
    refuses them with an error (a 500), or SQLite keeps the NUL."""
    for name in STORED_CLAIMS:
        value = claims.get(name)
        if isinstance(value, str) and text_problem(value):
            raise SsoError("token", f"the {name} claim holds text the database cannot store")


def _sign_in(*, provider: str, claims: dict) -> User:
    subject = claims.get("sub")
    if not isinstance(subject, str) or not subject or len(subject) > 255:
        raise SsoError("token", "no usable sub claim")
    _check_storable(claims)
    level = mapped_level(claims)
    identity = (
        SsoIdentity.objects.select_related("user")
        .filter(provider=provider, subject=subject)
        .first()
    )
    if identity is not None:
        user = identity.user
    else:
        email = _verified_email(claims)
        user = User.objects.filter(email__iexact=email).first()
        if user is None:
            _check_signup(provider, email, claims)
            user = _create_user(email, claims, level)
        elif SsoIdentity.objects.filter(user=user, provider=provider).exists():
            raise SsoError("linked_elsewhere")
        elif not user.email_verified:
            # Whoever signed up with this address first may not own it: linking would share
            # the account with them (a pre-account takeover).
            raise SsoError("unverified_account")
        identity = SsoIdentity(user=user, provider=provider, subject=subject, email=email)
    if not user.is_active:
        raise SsoError("inactive")
    if level is not None:
        _set_level(user, level, provider)
    linked = identity.pk is None
    identity.last_login_at = timezone.now()
    identity.save()
    if linked:
        audit.record("sso.linked", actor=user, target=user, provider=provider, subject=subject)
    return user


def sso_sign_in(*, provider: str, claims: dict) -> User:
    """Return the active user that a provider's verified claims sign in, linking or creating
    the account as SIGNUP_MODE allows; a refusal (SsoError) writes nothing."""
    try:
        with transaction.atomic():
            return _sign_in(provider=provider, claims=claims)
    except IntegrityError:
        # A concurrent first sign-in of the same person won the race; theirs is linked now.
        with transaction.atomic():
            return _sign_in(provider=provider, claims=claims)
