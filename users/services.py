"""Services that create and change accounts. Every write that touches several rows is atomic."""

from django.conf import settings
from django.contrib.auth.password_validation import validate_password
from django.core.exceptions import ValidationError as DjangoValidationError
from django.db import IntegrityError, transaction
from rest_framework import exceptions

from audit import services as audit
from simple_rbas.exceptions import Conflict
from users import roles, tasks
from users.models import User
from users.roles import Level
from users.sessions import user_sessions_revoke
from users.signup_mode import signup_refusal


def default_level() -> Level:
    """The level self-service signup grants (`DEFAULT_LEVEL`)."""
    return roles.LEVELS_BY_KEY[settings.DEFAULT_LEVEL]


def check_unique(*, username: str | None = None, email: str | None = None, exclude_pk=None):
    """Raise a 400 naming the field when a username or email is taken (case-insensitively)."""
    others = User.objects.exclude(pk=exclude_pk) if exclude_pk else User.objects.all()
    errors = {}
    if username is not None and others.filter(username__iexact=username).exists():
        errors["username"] = ["A user with that username already exists."]
    if email and others.filter(email__iexact=email).exists():
        errors["email"] = ["A user with that email already exists."]
    if errors:
        raise exceptions.ValidationError(errors)


def _save_checking_uniqueness(user: User, **save_kwargs) -> None:
    """Save `user`; a concurrent request that took the username or email first gives a 400."""
    try:
        with transaction.atomic():
            user.save(**save_kwargs)
    except IntegrityError:
        check_unique(username=user.username, email=user.email, exclude_pk=user.pk)
        raise


def check_password_rules(password: str, user: User, field: str = "password") -> None:
    """Run Django's password validators, as a 400 on `field`."""
    try:
        validate_password(password, user=user)
    except DjangoValidationError as error:
        raise exceptions.ValidationError({field: list(error.messages)}) from None


def user_create(
    *,
    username: str,
    email: str,
    password: str | None,
    level: int,
    first_name: str = "",
    last_name: str = "",
    email_verified: bool = False,
    must_verify_email: bool = False,
) -> User:
    """Create an account with a validated password; duplicates give 400, never a 500.

    `email_verified` says that the address is known to reach the user (an admin typed it, or
    the user followed a link sent there). The username is stored in its NFKC form, so
    look-alike spellings are one name. Without a `password` the account has none (it signs in
    once its owner chose one through a link, or through single sign-on)."""
    username = User.normalize_username(username)
    check_unique(username=username, email=email)
    user = User(
        username=username,
        email=email,
        first_name=first_name,
        last_name=last_name,
        level=level,
        email_verified=email_verified,
        must_verify_email=must_verify_email,
    )
    if password is None:
        user.set_unusable_password()
    else:
        check_password_rules(password, user)
        user.set_password(password)
    _save_checking_uniqueness(user, force_insert=True)
    return user


def active_owner_pks_locked() -> list[int]:
    """The active owners' ids, their rows locked in one order (so that two concurrent demotions
    cannot both pass the last-owner rule, nor deadlock). Call inside a transaction."""
    return list(
        User.objects.select_for_update()
        .filter(level=Level.OWNER, is_active=True)
        .order_by("pk")
        .values_list("pk", flat=True)
    )


def user_signup(*, username: str, email: str, password: str, **names: str) -> User:
    """Self-service signup under `SIGNUP_MODE`, always at the default level. The account is
    limited until its owner follows the verification link sent to `email`: in domain mode
    that is what proves the address is in an allowed domain."""
    refusal = signup_refusal(email)
    if refusal == "closed":
        raise exceptions.PermissionDenied("Signup is closed.", code="signup_closed")
    if refusal == "domain":
        raise exceptions.PermissionDenied(
            "Signup is not open to this email domain.", code="signup_domain_not_allowed"
        )
    with transaction.atomic():
        user = user_create(
            username=username,
            email=email,
            password=password,
            level=default_level(),
            must_verify_email=True,
            **names,
        )
        email_verification_send(user)
    return user


def email_verification_send(user: User) -> None:
    """Queue a verification link to the user's address (inside the caller's transaction)."""
    if user.email and not user.email_verified:
        tasks.send_email_verification.enqueue(user_id=user.pk, email=user.email)


def user_update_profile(*, user: User, **fields: str) -> User:
    """Change a user's own names or email. A new email is not verified: a link goes to it,
    and a notice to the old address if that one was verified (an unverified one may be a
    stranger's, who should not learn about the account)."""
    changes: dict = dict(fields)
    old_email, old_verified = user.email, user.email_verified
    changed_email = "email" in fields and fields["email"].lower() != old_email.lower()
    if "email" in fields:
        check_unique(email=fields["email"], exclude_pk=user.pk)
    if changed_email:
        # In domain mode an address outside the allowed domains would lift a signup's limits
        # once verified: the domain rule holds for one's own changes as it does at signup.
        if settings.SIGNUP_MODE == "domain" and signup_refusal(fields["email"]) == "domain":
            raise exceptions.PermissionDenied(
                "Only addresses in the allowed domains can be used here; ask an administrator.",
                code="signup_domain_not_allowed",
            )
        changes["email_verified"] = False
    with transaction.atomic():
        for name, value in changes.items():
            setattr(user, name, value)
        _save_checking_uniqueness(user, update_fields=list(changes))
        if changed_email:
            email_verification_send(user)
            if old_email and old_verified:
                tasks.send_email_changed.enqueue(user_id=user.pk, old_email=old_email)
    return user


def user_change_password(
    *, user: User, old_password: str, new_password: str, keep_session_id
) -> None:
    """Change the password and end every other session of the user."""
    if not user.check_password(old_password):
        raise exceptions.ValidationError({"old_password": ["Wrong password."]})
    check_password_rules(new_password, user, field="new_password")
    with transaction.atomic():
        user.set_password(new_password)
        user.save(update_fields=["password"])
        user_sessions_revoke(
            user_id=user.pk, reason="password_changed", keep_session_id=keep_session_id
        )


def check_assignment(*, actor: User, target: User | None, level: int | None, deactivate: bool):
    """Apply API.md's assignment rules 1-3, raising 403 for a change `actor` may not make."""
    is_self = target is not None and target.pk == actor.pk
    changes_level = level is not None and (target is None or level != target.level)
    if is_self and (changes_level or deactivate):
        raise exceptions.PermissionDenied(
            "You cannot change your own level or deactivate yourself.", code="self_change"
        )
    if roles.allows("owner", actor.level):
        return
    # Everyone else here is an admin: the admin policy's own levels are out of their reach.
    protected = roles.POLICIES["admin"]
    if target is not None and not is_self and target.level in protected:
        raise exceptions.PermissionDenied(
            "Admins cannot change owners or other admins.", code="protected_user"
        )
    if changes_level and level in protected:
        raise exceptions.PermissionDenied(
            "Only an owner can grant the owner or admin level.", code="level_not_grantable"
        )


def user_create_by_admin(
    *, actor: User, level: int, password: str | None = None, **fields: str
) -> User:
    """Create a user at `level` on behalf of `actor` (assignment rules apply). Without a
    password, the user gets an email with a link to choose one: the admin never knows it."""
    check_assignment(actor=actor, target=None, level=level, deactivate=False)
    with transaction.atomic():
        user = user_create(level=level, password=password, email_verified=True, **fields)
        audit.record("user.created", actor=actor, target=user, level=level)
        if password is None:
            tasks.send_password_setup.enqueue(user_id=user.pk, inviter_id=actor.pk)
    return user


def user_update_by_admin(*, actor: User, target_pk: int, **changes) -> User:
    """Apply an admin's change to a user, keeping at least one active owner (409 otherwise).

    Owner rows are locked first, in one order, so two owners demoting each other at the same
    time cannot both succeed and cannot deadlock.
    """
    with transaction.atomic():
        active_owners = active_owner_pks_locked()
        target = User.objects.select_for_update().filter(pk=target_pk).first()
        if target is None:
            raise exceptions.NotFound()
        level = changes.get("level")
        deactivate = changes.get("is_active") is False and target.is_active
        check_assignment(actor=actor, target=target, level=level, deactivate=deactivate)
        leaves_owners = (level is not None and not roles.allows("owner", level)) or deactivate
        if leaves_owners and active_owners == [target.pk]:
            raise Conflict("The last active owner cannot be demoted or deactivated.")
        if "email" in changes:
            check_unique(email=changes["email"], exclude_pk=target.pk)
            # The admin vouches for the address they typed, which also ends a signup's limits.
            changes.update(email_verified=True, must_verify_email=False)
        before = {name: getattr(target, name) for name in changes}
        for name, value in changes.items():
            setattr(target, name, value)
        if changes:
            _save_checking_uniqueness(target, update_fields=list(changes))
        _record_changes(actor, target, before)
        if deactivate:
            user_sessions_revoke(user_id=target.pk, reason="deactivated")
    return target


def _record_changes(actor: User, target: User, before: dict) -> None:
    """Audit the level and activation changes an admin made (who, whom, from, to)."""
    if "level" in before and before["level"] != target.level:
        audit.record(
            "user.level_changed",
            actor=actor,
            target=target,
            **{"from": before["level"], "to": target.level},
        )
    if "is_active" in before and before["is_active"] != target.is_active:
        audit.record(
            "user.activated" if target.is_active else "user.deactivated", actor=actor, target=target
        )
