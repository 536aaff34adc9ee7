"""Separate front ends in Chromium (docs/front-ends.md): a small static page served by its own
server on another origin signs in to the live API, runs a script (a real worker executes it),
refreshes and signs out. Chromium resolves every test name to 127.0.0.1, so the front end is
http://app.rbas.test:<port> (a sibling of the API's http://api.rbas.test:<port>, same site) or
http://front.example.test:<port> (another site)."""

import functools
import threading
from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from urllib.parse import urlencode, urlsplit

import pytest
from playwright.sync_api import expect

from scripts_api.models import Run
from tests.conftest import PASSWORD
from tests.web.browser import ARGS, CHROMIUM, needs_chromium
from users.models import LoginSession
from users.roles import Level

pytestmark = needs_chromium

FRONT_END = Path(__file__).resolve().parent / "front_end"


class _QuietHandler(SimpleHTTPRequestHandler):
    def log_message(self, format, *args):
        pass


@pytest.fixture(scope="module")
def static_port():
    """A server of the front end's two files, on a port of its own."""
    handler = functools.partial(_QuietHandler, directory=str(FRONT_END))
    server = ThreadingHTTPServer(("127.0.0.1", 0), handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    yield server.server_address[1]
    server.shutdown()
    server.server_close()


@pytest.fixture(scope="module")
def chromium(browser):
    """A second Chromium, of the session's Playwright: name resolution is a launch option."""
    rules = "MAP *.rbas.test 127.0.0.1, MAP *.example.test 127.0.0.1"
    chromium = browser.browser_type.launch(
        executable_path=CHROMIUM, args=[*ARGS, f"--host-resolver-rules={rules}"]
    )
    yield chromium
    chromium.close()


@pytest.fixture
def api(live_server, settings, catalog):
    """The live server's address as http://api.rbas.test:<port>."""
    port = urlsplit(live_server.url).port
    settings.ALLOWED_HOSTS = ["localhost", "api.rbas.test"]
    return f"http://api.rbas.test:{port}"


@pytest.fixture
def open_front_end(chromium, static_port, api):
    """Open the front end on `host`, talking to the API in `mode` (cookie or bearer)."""
    contexts = []

    def open_(host: str, mode: str):
        context = chromium.new_context()
        contexts.append(context)
        page = context.new_page()
        page.set_default_timeout(15_000)
        query = urlencode({"api": api, "mode": mode})
        page.goto(f"http://{host}:{static_port}/index.html?{query}")
        page.origin = f"http://{host}:{static_port}"
        return page

    yield open_
    for context in contexts:
        context.close()


def trust(settings, origin: str) -> None:
    """FRONTEND_ORIGINS=origin, with what the settings module derives from it."""
    settings.FRONTEND_ORIGINS = [origin]
    settings.CORS_ALLOWED_ORIGINS = [origin]
    settings.CSRF_TRUSTED_ORIGINS = [origin]


def press(page, button: str, expected: str) -> None:
    page.click(f"#{button}")
    expect(page.locator("#state")).to_have_text(f"{button}: {expected}", timeout=30_000)


def sign_in(page, user) -> None:
    page.fill("#username", user.username)
    page.fill("#password", PASSWORD)
    press(page, "sign-in", f"signed in as {user.username}")


def test_a_front_end_on_a_sibling_subdomain_signs_in_runs_refreshes_and_signs_out(
    open_front_end, settings, users, start_worker
):
    start_worker()
    user = users[Level.READ_ONLY]
    settings.COOKIE_DOMAIN = settings.CSRF_COOKIE_DOMAIN = "rbas.test"
    page = open_front_end("app.rbas.test", "cookie")
    trust(settings, page.origin)

    sign_in(page, user)
    cookies = {c["name"]: c for c in page.context.cookies()}
    assert cookies["rbas_access"]["domain"] == ".rbas.test"
    assert cookies["rbas_access"]["httpOnly"] and cookies["rbas_refresh"]["httpOnly"]
    readable = page.evaluate("document.cookie")  # as the front end's own scripts see it
    assert "rbas_" not in readable  # HTTP-only
    assert "csrftoken=" in readable  # CSRF_COOKIE_DOMAIN: the classic Django way works too

    press(page, "run", "succeeded: Hello, front end.")
    assert Run.objects.get().user == user

    session = LoginSession.objects.get(user=user)
    press(page, "refresh", "refreshed")
    session_after = LoginSession.objects.get(pk=session.pk)
    assert session_after.refresh_jti != session.refresh_jti
    press(page, "me", f"200 {user.username}")

    press(page, "sign-out", "204")
    press(page, "me", "401")
    assert LoginSession.objects.get(pk=session.pk).revoked_reason == "logout"


def test_a_front_end_on_another_site_uses_bearer_tokens_and_the_body_refresh(
    open_front_end, settings, users, start_worker
):
    start_worker()
    user = users[Level.WRITE]
    page = open_front_end("front.example.test", "bearer")
    trust(settings, page.origin)

    sign_in(page, user)
    assert page.context.cookies() == []  # body delivery: no cookie at all
    press(page, "run", "succeeded: Hello, front end.")
    press(page, "refresh", "refreshed")
    press(page, "me", f"200 {user.username}")
    press(page, "sign-out", "204")
    press(page, "me", "401")
    press(page, "refresh", "refused 401")  # the session's refresh token ended with it


def test_without_frontend_origins_the_browser_keeps_a_front_end_out(
    open_front_end, settings, users
):
    page = open_front_end("front.example.test", "bearer")
    page.fill("#username", users[Level.WRITE].username)
    page.fill("#password", PASSWORD)
    press(page, "sign-in", "failed (TypeError)")  # the CORS preflight is refused
    assert not LoginSession.objects.exists()


def test_a_sibling_allowed_by_cors_but_not_trusted_for_csrf_cannot_write(
    open_front_end, settings, users
):
    """The issue's configuration before FRONTEND_ORIGINS: reads work, every write is 403."""
    settings.COOKIE_DOMAIN = settings.CSRF_COOKIE_DOMAIN = "rbas.test"
    page = open_front_end("app.rbas.test", "cookie")
    settings.CORS_ALLOWED_ORIGINS = [page.origin]
    sign_in(page, users[Level.READ_ONLY])
    press(page, "me", f"200 {users[Level.READ_ONLY].username}")
    press(page, "run", "refused 403")
    assert not Run.objects.exists()
