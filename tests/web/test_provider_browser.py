"""In Chromium: another app (docs/oauth-provider.md's relying party, Authlib) sends the user to
RBAS, who signs in on RBAS's page, consents, and lands back with their level shown."""

import os
import re
import subprocess
import sys
import time

import pytest
import requests
from oauth2_provider.models import Application
from playwright.sync_api import expect

from provider import services
from tests.conftest import PASSWORD
from tests.doc_blocks import marked_block
from tests.oidc_provider import free_port
from tests.web.browser import needs_chromium
from users.roles import Level

pytestmark = needs_chromium


def documented_relying_party() -> str:
    """The Python block between the doc's relying-party markers."""
    return marked_block("docs/oauth-provider.md", "relying-party", language="python")


@pytest.fixture
def relying_party(live_server, settings, users, tmp_path):
    """The documented app, registered by the owner and running on its own port."""
    settings.OAUTH2_PROVIDER = {
        **settings.OAUTH2_PROVIDER,
        "OIDC_ISS_ENDPOINT": f"{live_server.url}/o",
    }
    port = free_port()
    app, secret = services.application_create(
        actor=users[Level.OWNER],
        name="Team wiki",
        client_type=Application.CLIENT_CONFIDENTIAL,
        authorization_grant_type=Application.GRANT_AUTHORIZATION_CODE,
        redirect_uris=[f"http://127.0.0.1:{port}/callback"],
    )
    script = tmp_path / "relying_party.py"
    script.write_text(documented_relying_party())
    env = {
        **os.environ,
        "RBAS_URL": live_server.url,
        "CLIENT_ID": app.client_id,
        "CLIENT_SECRET": secret,
        "PORT": str(port),
    }
    log = (tmp_path / "relying_party.log").open("w")
    process = subprocess.Popen([sys.executable, str(script)], env=env, stdout=log, stderr=log)
    url = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 20
    while True:
        try:
            requests.get(f"{url}/missing", timeout=1)
            break
        except requests.ConnectionError:
            assert process.poll() is None, (tmp_path / "relying_party.log").read_text()
            assert time.monotonic() < deadline, "the relying party did not start"
            time.sleep(0.1)
    yield url
    process.terminate()
    process.wait(timeout=10)
    log.close()


def sign_in_on_rbas(page, user) -> None:
    page.wait_for_url(re.compile(r"/login\?next=%2Fo%2Fauthorize%2F|/login\?next=/o/authorize/"))
    page.get_by_label("Username").first.fill(user.username)
    page.get_by_label("Password").first.fill(PASSWORD)
    page.locator("#login-form button[type=submit]").click()
    page.wait_for_url(re.compile(r"/o/authorize/\?"))
    page.console_errors.clear()  # the sign-in page's 401 (nobody signed in yet) is expected


def test_another_app_signs_a_user_in_and_shows_their_level(open_page, relying_party, users):
    user = users[Level.WRITE]
    page = open_page()
    page.goto(relying_party)
    sign_in_on_rbas(page, user)
    expect(page.get_by_role("heading", name="Sign in to Team wiki")).to_be_visible()
    expect(page.locator("#authorize-scopes")).to_contain_text("See your RBAS level")
    assert page.console_errors == []  # the consent page (the demo app has no favicon)
    page.get_by_role("button", name="Allow").click()
    page.wait_for_url(re.compile(rf"^{re.escape(relying_party)}/callback"))
    expect(page.locator("h1")).to_have_text(f"Hello, {user.username}")
    expect(page.locator("#level")).to_have_text("Your RBAS level: Read/Write")
    expect(page.locator("#policies")).to_have_text("Policies: authenticated, staff")


def test_a_user_who_denies_is_sent_back_without_a_sign_in(open_page, relying_party, users):
    page = open_page()
    page.goto(relying_party)
    sign_in_on_rbas(page, users[Level.READ_ONLY])
    page.get_by_role("button", name="Deny").click()
    page.wait_for_url(re.compile(rf"^{re.escape(relying_party)}/callback\?error=access_denied"))
    expect(page.locator("#refused")).to_have_text("You did not allow the sign-in.")


def test_a_signed_in_user_whose_access_cookie_expired_is_not_asked_for_a_password(
    open_page, relying_party, users, live_server
):
    user = users[Level.READ_ONLY]
    page = open_page()
    page.goto(relying_party)
    sign_in_on_rbas(page, user)
    # 15 minutes later: the access cookie is gone, the session (refresh cookie) lives on.
    access = [c for c in page.context.cookies() if c["name"] != "rbas_access"]
    page.context.clear_cookies()
    page.context.add_cookies(access)
    page.goto(relying_party)
    expect(page.get_by_role("heading", name="Sign in to Team wiki")).to_be_visible()
    page.get_by_role("button", name="Allow").click()
    expect(page.locator("#level")).to_have_text("Your RBAS level: Read Only")


def test_prompt_login_asks_for_the_password_even_with_a_live_session(open_page, live_server, users):
    from tests.provider.flows import authorize_query, pkce_pair, web_app

    user = users[Level.WRITE]
    app, _secret = web_app(users[Level.OWNER])
    page = open_page()
    page.goto("/login")
    page.get_by_label("Username").first.fill(user.username)
    page.get_by_label("Password").first.fill(PASSWORD)
    page.locator("#login-form button[type=submit]").click()
    page.wait_for_url(re.compile(r"/$"))
    page.goto(f"/o/authorize/?{authorize_query(app, pkce_pair()[1], prompt='login')}")
    page.wait_for_url(re.compile(r"/login\?next=.*&reauth=1$"))
    page.wait_for_timeout(500)  # time for a silent renewal, which must not happen
    expect(page.get_by_label("Password").first).to_be_visible()
    assert "/login" in page.url
