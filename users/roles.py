"""Role levels and named policies: the one place where access rules are written down.

The seed tutorial's levels are not a hierarchy (an investor is not staff), so access is always
decided by set membership in a policy, never by comparing levels with `<` or `>`.
"""

from django.db import models


class Level(models.IntegerChoices):
    """The five numeric levels of the seed tutorial."""

    OWNER = 0, "Owner"
    INVESTOR = 1, "Investor"
    ADMIN = 2, "Admin"
    WRITE = 3, "Read/Write"
    READ_ONLY = 4, "Read Only"


LEVEL_KEYS: dict[Level, str] = {
    Level.OWNER: "owner",
    Level.INVESTOR: "investor",
    Level.ADMIN: "admin",
    Level.WRITE: "write",
    Level.READ_ONLY: "read_only",
}
LEVELS_BY_KEY: dict[str, Level] = {key: level for level, key in LEVEL_KEYS.items()}

# Marker for views anyone may call (login, signup, health checks): they say so explicitly.
PUBLIC = "public"

POLICIES: dict[str, frozenset[Level]] = {
    "authenticated": frozenset(Level),
    "staff": frozenset({Level.OWNER, Level.ADMIN, Level.WRITE}),
    "admin": frozenset({Level.OWNER, Level.ADMIN}),
    "investor": frozenset({Level.OWNER, Level.INVESTOR}),
    "owner": frozenset({Level.OWNER}),
}


def allows(policy: str, level: int, *more_levels: int) -> bool:
    """Return whether `level`, and every one of `more_levels`, satisfies `policy` (KeyError for
    an unknown policy). Pass `*credential_levels(...)` to decide for a request."""
    allowed = POLICIES[policy]
    return level in allowed and all(other in allowed for other in more_levels)


def policies_for(level: int, *more_levels: int) -> list[str]:
    """Return the names of the policies `level` (and every one of `more_levels`) satisfies, in
    declaration order."""
    return [name for name in POLICIES if allows(name, level, *more_levels)]


def credential_levels(user, auth) -> tuple[int, ...]:
    """The levels that must all allow what `user` does with the credential `auth`: the user's
    current level, and the level a narrowed credential (a personal token with a `level`)
    carries as `narrowed_level`. A credential never outranks its user, even after a demotion,
    and the user instance is never changed (it could be saved)."""
    narrowed = getattr(auth, "narrowed_level", None)
    return (user.level,) if narrowed is None else (user.level, narrowed)


def request_levels(request) -> tuple[int, ...]:
    """`credential_levels` of an authenticated DRF request."""
    return credential_levels(request.user, request.auth)


def level_within(narrowed: int, level: int) -> bool:
    """Whether a credential narrowed to `narrowed` grants nothing beyond `level`: every policy
    `narrowed` satisfies, `level` satisfies too (an admin may make a `write` token, not an
    `investor` one). A script whose POLICY lists level keys stays safe because a request
    needs both levels to be listed."""
    return set(policies_for(narrowed)).issubset(policies_for(level))


def level_key(level: int) -> str:
    """Return the stable key (`owner`, `read_only`, ...) of a level."""
    return LEVEL_KEYS[Level(level)]
