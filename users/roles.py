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


def allows(policy: str, level: int) -> bool:
    """Return whether a user of `level` satisfies `policy` (KeyError for an unknown policy)."""
    return level in POLICIES[policy]


def policies_for(level: int) -> list[str]:
    """Return the names of the policies a user of `level` satisfies, in declaration order."""
    return [name for name, levels in POLICIES.items() if level in levels]


def level_key(level: int) -> str:
    """Return the stable key (`owner`, `read_only`, ...) of a level."""
    return LEVEL_KEYS[Level(level)]
