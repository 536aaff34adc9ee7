"""Checks of the settings that name other sites: web origins and cookie domains.

Settings call these at start-up, so a value a browser would silently ignore (an origin with a
path, a cookie domain the service's own host is not in) stops the service with a clear reason.
"""

import ipaddress
import re
from urllib.parse import urlsplit

from django.core.exceptions import ImproperlyConfigured

_LABEL = r"(?!-)[a-z0-9-]{1,63}(?<!-)"
_DOMAIN = re.compile(rf"{_LABEL}(\.{_LABEL})+")
_DEFAULT_PORTS = {"http": 80, "https": 443}


def origin(value: str, setting: str) -> str:
    """`value` if it is a web origin exactly as browsers send it in `Origin`, else refuse."""
    try:
        parts = urlsplit(value)
        port = parts.port
    except ValueError:
        parts, port = None, None
    if (
        parts is None
        or parts.scheme not in _DEFAULT_PORTS
        or not parts.hostname
        or parts.username is not None
        or parts.password is not None
        or parts.path
        or parts.query
        or parts.fragment
        or "#" in value
        or "?" in value
        or "*" in value  # CORS has no wildcards: name each front end
    ):
        raise ImproperlyConfigured(
            f"{setting}: {value!r} is not an origin (scheme://host[:port], no path), "
            "e.g. https://app.example.com."
        )
    canonical = f"{parts.scheme}://{parts.netloc.lower()}"
    if port == _DEFAULT_PORTS[parts.scheme]:
        canonical = canonical.rsplit(":", 1)[0]
    if canonical != value:
        raise ImproperlyConfigured(
            f"{setting}: write {value!r} as browsers send it: {canonical!r}."
        )
    return value


def cookie_domain(value: str, setting: str) -> str:
    """`value` (a leading dot dropped) if browsers accept it as a cookie's `Domain`, else refuse.

    A cookie's Domain must be a registrable name of two labels or more: browsers refuse top-level
    domains (and public suffixes) and IP addresses.
    """
    domain = value.lower().removeprefix(".")
    try:
        ipaddress.ip_address(domain.strip("[]"))
        is_address = True
    except ValueError:
        is_address = False
    if is_address or not _DOMAIN.fullmatch(domain):
        raise ImproperlyConfigured(
            f"{setting}: {value!r} is not a domain browsers accept for cookies "
            "(two labels or more, no scheme, port or address), e.g. example.com."
        )
    return domain


def host_in_domain(host: str, domain: str) -> bool:
    """Whether a request host (an ALLOWED_HOSTS entry) receives cookies of `domain`."""
    host = host.lower().removeprefix(".")
    return host == domain or host.endswith("." + domain)
