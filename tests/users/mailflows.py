"""Helpers shared by the tests of the account emails (invitations, verification, reset)."""

import re
import socket
from datetime import datetime, timedelta

from django_tasks_db.models import DBTaskResult
from rest_framework.test import APIClient

from tests.smtp import Received
from users import links

PUBLIC_URL = "https://rbas.example.com"
PRODUCT = "simple RBAS"
STRONG = "a-long-and-unusual-passphrase"
URL = re.compile(r"""(?:https?:)?//[^\s"'<>)]+""")

# Tokens that are no link at all, or a link mangled on its way: each must be a 400, never a 500.
GARBAGE_TOKENS = [
    "",
    " ",
    ".",
    "..",
    "garbage",
    "MQ",  # an id and no token
    "MQ.",  # an id and an empty token
    ".abc-def",  # a token and no id
    "MQ.abc",  # no timestamp-hash dash
    "MQ.-",
    "MQ.zzzzzzzzzzzzzzzzzzzzzz-abc",  # a timestamp too large for base36_to_int
    "MQ.\u0661\u0662-abc",  # Arabic-Indic digits as the timestamp
    "2aE.abc-def",  # base64 of U+0661 (Arabic-Indic one) as the id
    "77yR.abc-def",  # base64 of a fullwidth digit as the id
    "LTE.abc-def",  # base64 of "-1"
    "MA.abc-def",  # base64 of "0"
    "IDE.abc-def",  # base64 of " 1"
    "Kzk.abc-def",  # base64 of "+9"
    "OTk5OTk5OTk5OTk5OTk5OTk5OTk5OTk5.abc-def",  # 24 nines: no such id, no overflow
    "%%%.abc-def",
    "\x00.\x00",
    "\ud800.abc",  # a lone surrogate (the JSON parser refuses it)
    "x" * 201,  # longer than any token
    "M" * 5000,
]
WRONG_TYPES = [None, 12, ["MQ.abc-def"], {"token": "MQ.abc-def"}, True]


def free_port() -> int:
    """A TCP port nothing listens on now."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def point_at(settings, server) -> None:
    """Send this process's email through `server` (a MailServer or an aiosmtpd Controller),
    as the `smtp` fixture does."""
    settings.EMAIL_BACKEND = "django.core.mail.backends.smtp.EmailBackend"
    settings.EMAIL_HOST = "127.0.0.1"
    settings.EMAIL_PORT = server.port
    settings.EMAIL_USE_TLS = settings.EMAIL_USE_SSL = False
    settings.EMAIL_HOST_USER = settings.EMAIL_HOST_PASSWORD = ""


def queued(task_name: str | None = None):
    """The queue's task rows, oldest first, optionally for one task of users.tasks."""
    rows = DBTaskResult.objects.order_by("enqueued_at")
    if task_name:
        rows = rows.filter(task_path=f"users.tasks.{task_name}")
    return list(rows)


def assert_account_email(
    received: Received, *, page: str, lifetime: str | None, public_url: str = PUBLIC_URL
) -> str:
    """Check what every account email promises; return its link's token.

    The subject names the product; there is a plain text and an HTML part; the one link is
    under PUBLIC_URL (whatever Host the request carried); nothing tracks the reader (no image,
    no address but PUBLIC_URL in the HTML); the expiry is stated in both parts."""
    assert PRODUCT in received.subject
    text, html = received.text, received.html
    assert received.link.startswith(f"{public_url}{page}#"), received.link
    token = received.token
    assert f"{public_url}{page}#{token}" in html
    assert "<img" not in html.lower() and "<script" not in html.lower()
    assert "src=" not in html.lower() and "url(" not in html.lower()
    assert "<link" not in html.lower() and "@import" not in html.lower()
    foreign = [url for url in URL.findall(html) if not url.startswith(public_url)]
    assert not foreign, foreign
    foreign = [url for url in URL.findall(text) if not url.startswith(public_url)]
    assert not foreign, foreign
    if lifetime is not None:
        stated = f"expires in {lifetime}"
        assert stated in text and stated in html, (stated, text)
    return token


def advance_link_clock(monkeypatch, kind: str, delta: timedelta) -> None:
    """Make the token generator of `kind` believe `delta` has passed (Django's generators read
    the time through `_now`)."""
    generator = links.GENERATORS[kind]
    later = datetime.now() + delta
    monkeypatch.setattr(generator, "_now", lambda: later)


def with_id(token: str, other_id: int) -> str:
    """`token` relabelled with another object's id (the signed part unchanged)."""
    from django.utils.encoding import force_bytes
    from django.utils.http import urlsafe_base64_encode

    return f"{urlsafe_base64_encode(force_bytes(other_id))}.{token.partition('.')[2]}"


def tampered(token: str) -> str:
    """`token` with the last character of its hash changed."""
    return token[:-1] + ("0" if token[-1] != "0" else "1")


def client_at(address: str) -> APIClient:
    """An anonymous client whose requests come from `address`."""
    return APIClient(enforce_csrf_checks=True, REMOTE_ADDR=address)
