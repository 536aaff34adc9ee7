"""A real SMTP server for the tests (aiosmtpd, in a thread of the test process): what the
service sends arrives over a socket, as it would at a real mail server.

`MailServer.refuse_with` makes it answer every message with an SMTP error (e.g. "451 4.3.0
try again later" or "550 5.1.1 no such user"), `stall()` makes it hold every message without
an answer until `release()`, and `stop()` takes it off the network.
"""

import asyncio
import email
import email.policy
import re
import socket
import threading
import time
from email.message import EmailMessage

from aiosmtpd.controller import Controller

LINK = re.compile(r"https?://\S+#(\S+)")


class Received:
    """One message as it arrived: the envelope and the parsed MIME message."""

    def __init__(self, envelope) -> None:
        self.sender: str = envelope.mail_from
        self.recipients: list[str] = list(envelope.rcpt_tos)
        self.message: EmailMessage = email.message_from_bytes(
            envelope.original_content, policy=email.policy.default
        )

    @property
    def subject(self) -> str:
        return str(self.message["Subject"])

    def part(self, content_type: str) -> str:
        """The text of the `text/plain` or `text/html` part."""
        for part in self.message.walk():
            if part.get_content_type() == content_type:
                return part.get_content()
        raise AssertionError(f"no {content_type} part in {self.subject!r}")

    @property
    def text(self) -> str:
        return self.part("text/plain")

    @property
    def html(self) -> str:
        return self.part("text/html")

    @property
    def link(self) -> str:
        """The one link of the plain text part."""
        links = LINK.findall(self.text)
        assert len(links) == 1, f"expected one link in {self.subject!r}, found {links}"
        return re.search(r"https?://\S+", self.text).group()

    @property
    def token(self) -> str:
        """The token the link carries in its fragment."""
        return self.link.partition("#")[2]


def _free_port() -> int:
    # aiosmtpd's controller checks that its port answers, so it needs a number, not 0.
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


class _Handler:
    def __init__(self, server: "MailServer") -> None:
        self.server = server

    async def handle_DATA(self, smtp, session, envelope):
        if self.server.refuse_with:
            return self.server.refuse_with
        if not self.server.flowing.is_set():
            self.server.stalled += 1
            while not self.server.flowing.is_set():
                await asyncio.sleep(0.02)
            if smtp.transport is None or smtp.transport.is_closing():
                return "421 4.4.2 the sender is gone"  # never acknowledged: not delivered
        with self.server.arrived:
            self.server.messages.append(Received(envelope))
            self.server.arrived.notify_all()
        return "250 2.0.0 OK"


class MailServer:
    """An SMTP server on 127.0.0.1 and a free port, keeping what it receives."""

    def __init__(self) -> None:
        self.messages: list[Received] = []
        self.refuse_with = ""
        self.arrived = threading.Condition()
        self.flowing = threading.Event()
        self.flowing.set()
        self.stalled = 0  # messages that arrived while stalled
        self.port = _free_port()
        self.controller = Controller(_Handler(self), hostname="127.0.0.1", port=self.port)

    def start(self) -> "MailServer":
        self.controller.start()
        return self

    def stop(self) -> None:
        self.release()
        self.controller.stop()

    def stall(self) -> None:
        """Hold every message from now on, without answering, until `release()`."""
        self.flowing.clear()

    def release(self) -> None:
        self.flowing.set()

    @property
    def url(self) -> str:
        """The EMAIL_URL that sends here."""
        return f"smtp://127.0.0.1:{self.port}"

    def to(self, address: str) -> list[Received]:
        """The messages received for `address`, oldest first."""
        return [m for m in self.messages if address.lower() in (r.lower() for r in m.recipients)]

    def wait_for(self, address: str, count: int = 1, timeout: float = 10.0) -> Received:
        """Wait until `count` messages arrived for `address`; return the latest."""
        deadline = time.monotonic() + timeout
        with self.arrived:
            while len(self.to(address)) < count:
                left = deadline - time.monotonic()
                if left <= 0:
                    raise AssertionError(
                        f"{count} messages for {address} did not arrive in {timeout} s; got "
                        f"{[(m.recipients, m.subject) for m in self.messages]}"
                    )
                self.arrived.wait(left)
            return self.to(address)[-1]
