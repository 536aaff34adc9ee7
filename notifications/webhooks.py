"""Webhook requests: the JSON body, its signature, and one POST to a checked target."""

import hashlib
import hmac
import http.client
import json
import socket
import ssl
import time

from django.conf import settings

from notifications import targets
from notifications.models import Delivery

EVENT = "run.finished"
MAX_ERROR_LENGTH = 500


def body(delivery: Delivery) -> bytes:
    """The JSON sent: the run's identity, status and times and a link to it; never its output,
    result or parameters (a webhook's receiver may not be allowed to see them). `timestamp` is
    signed with the rest, so that a receiver can refuse an old message played again."""
    run = delivery.run
    payload = {
        "event": EVENT,
        "delivery": str(delivery.pk),
        "timestamp": int(time.time()),
        "reason": delivery.reason,
        "run": {
            "id": str(run.pk),
            "script": run.script.slug,
            "status": run.status,
            "user": run.user.username,
            "created_at": run.created_at.isoformat(),
            "started_at": run.started_at.isoformat() if run.started_at else None,
            "finished_at": run.finished_at.isoformat() if run.finished_at else None,
            "url": f"{settings.PUBLIC_URL}/runs/{run.pk}",
        },
    }
    return json.dumps(payload, separators=(",", ":")).encode()


def signature(secret: str, raw_body: bytes) -> str:
    """The `X-RBAS-Signature` value: `sha256=` and the hex HMAC-SHA256 of the raw body."""
    return "sha256=" + hmac.new(secret.encode(), raw_body, hashlib.sha256).hexdigest()


class Refused(Exception):
    """The attempt failed; `code` is the HTTP status when the receiver answered."""

    def __init__(self, message: str, code: int | None = None) -> None:
        super().__init__(message[:MAX_ERROR_LENGTH])
        self.code = code


def post(url: str, raw_body: bytes, headers: dict[str, str]) -> int:
    """POST `raw_body` to `url` after checking it (targets.check) and connecting to the
    address checked; returns the 2xx status, or raises Refused (a redirect is not followed)."""
    try:
        target = targets.check(url)
    except targets.UnsafeTarget as error:
        raise Refused(str(error)) from None
    timeout = settings.NOTIFICATION_TIMEOUT_SECONDS
    if target.scheme == "https":
        connection = http.client.HTTPSConnection(
            target.host, target.port, timeout=timeout, context=ssl.create_default_context()
        )
    else:
        connection = http.client.HTTPConnection(target.host, target.port, timeout=timeout)

    # Connect to the checked address; TLS still verifies the certificate against the host name.
    def pinned(address, *args, **kwargs):
        return socket.create_connection((target.address, address[1]), *args, **kwargs)

    connection._create_connection = pinned
    try:
        connection.request(
            "POST",
            target.path,
            body=raw_body,
            headers={"Content-Type": "application/json", **headers},
        )
        response = connection.getresponse()
        response.read(65536)
    except (OSError, http.client.HTTPException) as error:
        raise Refused(f"{type(error).__name__}: {error}") from None
    finally:
        connection.close()
    if 200 <= response.status < 300:
        return response.status
    if 300 <= response.status < 400:
        raise Refused(
            f"The receiver answered {response.status}: redirects are not followed.", response.status
        )
    raise Refused(f"The receiver answered {response.status} {response.reason}.", response.status)
