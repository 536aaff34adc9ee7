"""A real webhook receiver for the tests: an HTTP server in a thread of the test process that
records every request and answers with the statuses it is told, in turn."""

import hashlib
import hmac
import json
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer


class Received:
    """One request as it arrived."""

    def __init__(self, path: str, headers: dict[str, str], body: bytes) -> None:
        self.path, self.headers, self.body = path, headers, body

    @property
    def json(self) -> dict:
        return json.loads(self.body)

    def signed_with(self, secret: str) -> bool:
        """Whether X-RBAS-Signature is the HMAC-SHA256 of the raw body with `secret`."""
        expected = "sha256=" + hmac.new(secret.encode(), self.body, hashlib.sha256).hexdigest()
        return hmac.compare_digest(expected, self.headers.get("x-rbas-signature", ""))


class Receiver:
    """Answers each POST with the next of `statuses` (the last one repeats); `redirect_to`
    sets the Location of 3xx answers; `hold_first` keeps the first request waiting for an answer
    until `release` is set (a sender killed meanwhile never hears back)."""

    def __init__(self, statuses=(200,), redirect_to: str = "", hold_first: bool = False) -> None:
        self.statuses = list(statuses)
        self.redirect_to = redirect_to
        self.hold_first = hold_first
        self.release = threading.Event()
        self.requests: list[Received] = []
        self.arrived = threading.Condition()
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers.get("Content-Length", 0)))
                headers = {key.lower(): value for key, value in self.headers.items()}
                with receiver.arrived:
                    receiver.requests.append(Received(self.path, headers, body))
                    status = receiver.statuses[
                        min(len(receiver.requests), len(receiver.statuses)) - 1
                    ]
                    first = len(receiver.requests) == 1
                    receiver.arrived.notify_all()
                if first and receiver.hold_first:
                    receiver.release.wait(60)
                self.send_response(status)
                if 300 <= status < 400:
                    self.send_header("Location", receiver.redirect_to)
                self.send_header("Content-Length", "0")
                self.end_headers()

            def log_message(self, *args) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.server.server_address[1]}/hook?team=ops"

    def wait_for(self, count: int = 1, timeout: float = 20.0) -> Received:
        """Wait until `count` requests arrived; return the latest."""
        deadline = time.monotonic() + timeout
        with self.arrived:
            while len(self.requests) < count:
                left = deadline - time.monotonic()
                if left <= 0:
                    raise AssertionError(f"{count} webhooks did not arrive in {timeout} s")
                self.arrived.wait(left)
            return self.requests[-1]

    def stop(self) -> None:
        self.release.set()
        self.server.shutdown()
        self.server.server_close()
