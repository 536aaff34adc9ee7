"""What a secret may be called: an environment variable name that the sandbox does not set
itself and that cannot change how the interpreter or the dynamic linker behaves."""

import re

NAME_PATTERN = re.compile(r"[A-Z][A-Z0-9_]{0,63}")
# Set by the sandbox for every run (scripts_api/sandbox.py), or read by the shell, the C
# library or the system: a secret of that name would override or be overridden.
RESERVED_NAMES = frozenset(
    {"PATH", "HOME", "LANG", "TMPDIR", "PWD", "SHELL", "USER", "LOGNAME", "TERM", "TZ", "IFS"}
)
RESERVED_PREFIXES = ("RBAS_", "LC_", "LD_", "PYTHON", "GCONV_", "MALLOC_", "SSL_CERT_")


def name_problem(name: object) -> str | None:
    """Why `name` cannot name a secret, in words for its author, or None when it can."""
    if not isinstance(name, str) or not NAME_PATTERN.fullmatch(name):
        return (
            "A secret's name is an upper-case letter followed by at most 63 upper-case "
            "letters, digits and underscores, e.g. CRM_TOKEN."
        )
    if name in RESERVED_NAMES or name.startswith(RESERVED_PREFIXES):
        prefixes = ", ".join(f"{p}..." for p in RESERVED_PREFIXES)
        return (
            f"{name} is reserved: the sandbox or the system sets or reads it "
            f"({', '.join(sorted(RESERVED_NAMES))}, {prefixes})."
        )
    return None
