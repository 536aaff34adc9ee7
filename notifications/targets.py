"""Where a webhook may be sent: `https` only, and never to this host or a private network,
unless settings allow it (NOTIFICATION_WEBHOOK_ALLOW_HTTP, NOTIFICATION_WEBHOOK_ALLOW_PRIVATE).

A URL is checked when it is subscribed and again at each attempt, on the addresses its host
resolves to then; the request connects to the address just checked, so a name that resolves
elsewhere a moment later (DNS rebinding) cannot steer it. Redirects are never followed.
"""

import ipaddress
import socket
from dataclasses import dataclass
from urllib.parse import urlsplit

from django.conf import settings


class UnsafeTarget(ValueError):
    """The URL may not receive webhooks; the message says why."""


@dataclass(frozen=True)
class Target:
    """A checked URL: where to connect (`address`) and what to ask for."""

    scheme: str
    host: str
    port: int
    path: str
    address: str


def _unsafe(address: ipaddress.IPv4Address | ipaddress.IPv6Address) -> bool:
    if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped:
        address = address.ipv4_mapped
    return (
        not address.is_global
        or address.is_multicast
        or address.is_reserved
        or address.is_unspecified
        or address.is_loopback
        or address.is_link_local
        or address.is_private
    )


def _resolve(host: str, port: int) -> list[str]:
    """The addresses `host` resolves to (numbers in any spelling the C library reads, such as
    0x7f000001 or 2130706433, come back as the address they mean)."""
    try:
        found = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    except (socket.gaierror, UnicodeError) as error:
        raise UnsafeTarget(f"The host {host} cannot be resolved ({error}).") from None
    return list(dict.fromkeys(info[4][0] for info in found))


def check(url: str) -> Target:
    """The `Target` of `url`, or UnsafeTarget saying why it may not receive webhooks."""
    try:
        parts = urlsplit(url)
        port = parts.port
    except ValueError as error:
        raise UnsafeTarget(f"Not a URL: {error}.") from None
    allowed = ("https", "http") if settings.NOTIFICATION_WEBHOOK_ALLOW_HTTP else ("https",)
    if parts.scheme not in allowed:
        raise UnsafeTarget(
            "Only https:// URLs may receive webhooks"
            + ("." if parts.scheme == "http" else f", not {parts.scheme or 'this'}.")
        )
    if not parts.hostname:
        raise UnsafeTarget("The URL has no host.")
    if parts.username is not None or parts.password is not None:
        raise UnsafeTarget("The URL may not hold credentials; the signature proves the sender.")
    port = port or (443 if parts.scheme == "https" else 80)
    addresses = _resolve(parts.hostname, port)
    if not addresses:
        raise UnsafeTarget(f"The host {parts.hostname} resolves to no address.")
    if not settings.NOTIFICATION_WEBHOOK_ALLOW_PRIVATE:
        for address in addresses:
            if _unsafe(ipaddress.ip_address(address.split("%")[0])):
                raise UnsafeTarget(
                    f"The host {parts.hostname} resolves to {address}: a loopback, private, "
                    "link-local, multicast, reserved or unspecified address."
                )
    path = (parts.path or "/") + (f"?{parts.query}" if parts.query else "")
    return Target(parts.scheme, parts.hostname, port, path, addresses[0])
