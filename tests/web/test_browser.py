"""The web app in a real browser (Debian's Chromium driven by Playwright) against a live server
and a real queue worker. Skipped, and said so, where Chromium is not installed."""

import re

import pytest
from playwright.sync_api import expect

from tests.conftest import PASSWORD
from tests.web.browser import catalog_titles, needs_chromium, sign_in
from users.models import User
from users.roles import Level

pytestmark = needs_chromium


def test_a_reader_signs_in_and_sees_only_the_scripts_allowed(page, users):
    page.goto("/")
    page.wait_for_url(re.compile(r"/login\?next=%2F$"))
    sign_in(page, users[Level.READ_ONLY])
    assert catalog_titles(page) == {"Say hello", "Sleep a while"}
    assert page.console_errors == []


def test_a_typed_form_runs_a_script_and_shows_its_result(page, users, start_worker):
    start_worker()
    sign_in(page, users[Level.WRITE], then="/scripts/price-quote")
    page.get_by_label("Customer").fill("ACME")
    page.get_by_label("Plan").select_option("enterprise")
    page.get_by_label("Number of seats").fill("2")
    page.get_by_label("Start date").fill("2025-03-01")
    page.get_by_label("Add-ons").fill("sso\npriority-support")
    assert page.get_by_label("Annual billing").is_checked()  # the default, prefilled
    page.get_by_role("button", name="Run").click()
    page.wait_for_url(re.compile(r"/runs/[0-9a-f-]+$"))
    page.wait_for_selector(".badge.succeeded")
    result = page.inner_text("#result")
    assert '"total": 1180' in result and '"plan": "enterprise"' in result
    assert page.console_errors == []


def test_a_validation_error_appears_next_to_its_field(page, users):
    sign_in(page, users[Level.WRITE], then="/scripts/price-quote")
    page.get_by_label("Plan").select_option("team")
    page.get_by_label("Number of seats").fill("1")
    page.get_by_label("Start date").fill("2025-03-01")
    page.get_by_role("button", name="Run").click()  # customer left empty
    error = page.locator("#error-customer")
    error.wait_for()
    assert error.inner_text() == "This parameter is required."
    assert (
        page.locator("#param-customer")
        .get_attribute("aria-describedby")
        .startswith("error-customer")
    )
    assert page.locator("#error-seats").inner_text() == ""


def test_a_report_produces_a_file_to_download(page, users, start_worker):
    start_worker()
    sign_in(page, users[Level.INVESTOR], then="/scripts/sales-report")
    page.get_by_label("Month").fill("2025-03-01")
    page.get_by_label("Sales region").select_option("west")
    page.get_by_role("button", name="Run").click()
    page.wait_for_selector(".badge.succeeded")
    assert page.locator("#result table th").first.inner_text() == "rep"
    with page.expect_download() as download_info:
        page.get_by_role("link", name="deals-west-2025-03.csv").click()
    path = download_info.value.path()
    assert path.read_text().splitlines()[0] == "deal,region,rep,day,amount"


def test_a_long_run_shows_progress_and_can_be_cancelled(page, users, start_worker):
    start_worker()
    sign_in(page, users[Level.READ_ONLY], then="/scripts/sleepy")
    page.get_by_role("button", name="Run").click()
    page.wait_for_selector(".badge.running")
    expect(page.locator("#run-elapsed")).to_have_text(re.compile(r"^running for \d"))
    page.get_by_role("button", name="Cancel").click()
    page.wait_for_selector(".badge.cancelled")
    assert page.get_by_role("button", name="Run again").is_visible()


def test_the_navigation_stays_hidden_until_the_user_is_known(page, users):
    sign_in(page, users[Level.READ_ONLY], then="/runs")
    held = []
    page.route("**/api/auth/me/", lambda route: held.append(route))
    page.goto("/")
    for _ in range(100):  # Playwright delivers the route while it waits
        if held:
            break
        page.wait_for_timeout(50)
    # Sign out is not offered before its handler exists (the page has not heard from the API).
    expect(page.locator("#nav")).to_be_hidden()
    expect(page.get_by_role("button", name="Sign out")).to_be_hidden()
    held[0].continue_()
    expect(page.get_by_role("button", name="Sign out")).to_be_visible()


def test_signing_out_returns_to_the_sign_in_page(page, users):
    sign_in(page, users[Level.READ_ONLY])
    page.get_by_role("button", name="Sign out").click()
    page.wait_for_url(re.compile(r"/login"))
    page.goto("/")
    page.wait_for_url(re.compile(r"/login\?next="))


def test_an_admin_changes_a_level_and_that_users_catalog_changes(browser, page, users, live_server):
    reader = users[Level.READ_ONLY]
    reader_context = browser.new_context(base_url=live_server.url)
    reader_page = reader_context.new_page()
    reader_page.console_errors = []
    sign_in(reader_page, reader)
    assert "Price quote" not in catalog_titles(reader_page)

    sign_in(page, users[Level.ADMIN], then="/users")
    page.get_by_label("Search users").fill(reader.username)
    page.get_by_role("button", name="Search").click()
    expect(page.locator("#users tr")).to_have_count(1)
    level = page.get_by_label(f"Level of {reader.username}")
    # A refusal of the API is shown as a plain message, and the choice is put back.
    confirm = page.get_by_role("dialog").get_by_role("button", name="Change level")
    level.select_option("Owner")
    confirm.click()
    expect(page.locator("#users-message")).to_contain_text("Not saved: Only an owner can grant")
    expect(level).to_have_value("4")
    level.select_option("Read/Write")
    confirm.click()
    expect(page.locator("#users-message")).to_have_text(f"Saved {reader.username}.")

    reader_page.reload()
    assert "Price quote" in catalog_titles(reader_page)
    reader_context.close()


def test_the_users_page_says_plainly_when_it_is_not_allowed(page, users):
    sign_in(page, users[Level.WRITE], then="/users")
    expect(page.locator("[data-state=forbidden]")).to_contain_text("for admins and owners")
    assert not page.get_by_role("link", name="Users").is_visible()


def test_run_history_lists_and_filters_runs(page, users, bearer_client):
    from scripts_api.execution import run_execute

    writer = users[Level.WRITE]
    client = bearer_client(writer)
    done = client.post("/api/scripts/hello/runs/", {}, format="json").json()["id"]
    run_execute(run_id=done)
    client.post("/api/scripts/sleepy/runs/", {}, format="json")
    sign_in(page, writer, then="/runs")
    rows = page.locator("#runs tr")
    expect(rows).to_have_count(2)
    page.get_by_label("Status").select_option("succeeded")
    page.get_by_role("button", name="Filter").click()
    expect(rows).to_have_count(1)
    rows.first.get_by_role("link").click()
    page.wait_for_url(re.compile(rf"/runs/{done}$"))
    page.wait_for_selector(".badge.succeeded")


def hrefs(rows) -> list[str]:
    """The run links of the rows shown, in order."""
    return rows.locator("a").evaluate_all("links => links.map(a => a.getAttribute('href'))")


def test_run_history_pages_older_and_newer_by_cursor(page, users):
    from datetime import UTC, datetime, timedelta

    from scripts_api.models import Run, RunStatus, Script

    writer = users[Level.WRITE]
    hello = Script.objects.get(slug="hello")
    start = datetime(2026, 1, 1, tzinfo=UTC)
    # 45 runs: pages of 20, 20 and 5; ten of them share one created_at (ties go by id).
    Run.objects.bulk_create(
        Run(script=hello, user=writer, status=RunStatus.SUCCEEDED,
            created_at=start + timedelta(minutes=max(i, 10)))
        for i in range(45)
    )  # fmt: skip
    sign_in(page, writer, then="/runs")
    rows = page.locator("#runs tr")
    newer, older = page.locator("#previous-page"), page.locator("#next-page")
    expect(rows).to_have_count(20)
    expect(newer).to_be_hidden()
    first_page = hrefs(rows)
    seen = set(first_page)
    older.click()
    expect(rows.first.locator("a")).not_to_have_attribute("href", first_page[0])
    expect(rows).to_have_count(20)
    expect(newer).to_be_visible()
    seen |= set(hrefs(rows))
    older.click()
    expect(rows).to_have_count(5)
    expect(older).to_be_hidden()
    seen |= set(hrefs(rows))
    assert len(seen) == 45  # every run once, none twice
    newer.click()
    expect(rows).to_have_count(20)
    newer.click()
    expect(rows.first.locator("a")).to_have_attribute("href", first_page[0])
    expect(newer).to_be_hidden()
    assert hrefs(rows) == first_page
    assert page.console_errors == []


def test_the_account_page_changes_the_password_and_signs_out_everywhere(page, users, bearer_client):
    reader = users[Level.READ_ONLY]
    elsewhere = bearer_client(reader)
    sign_in(page, reader, then="/account")
    page.get_by_label("Current password").fill(PASSWORD)
    page.get_by_label("New password").fill("short")
    page.get_by_role("button", name="Change password").click()
    expect(page.locator("#error-password-new_password")).to_contain_text("too short")
    page.console_errors.clear()  # the browser reports the refused request itself
    page.get_by_label("New password").fill("a-brand-new-passphrase-42")
    page.get_by_role("button", name="Change password").click()
    expect(page.locator("#password-saved")).to_contain_text("Password changed")
    assert elsewhere.get("/api/auth/me/").status_code == 401  # the other session ended
    page.get_by_role("button", name="Sign out everywhere").click()
    page.wait_for_url(re.compile(r"/login"))
    assert page.console_errors == []


def test_a_script_the_user_may_not_run_says_so_plainly(page, users):
    sign_in(page, users[Level.READ_ONLY], then="/scripts/close-month")
    state = page.locator("[data-state=forbidden]")
    state.wait_for()
    assert "You may not run this script. This script is for owners only." in state.inner_text()


def test_pages_carry_a_strict_content_security_policy(page, users):
    response = page.goto("/login")
    policy = response.headers["content-security-policy"]
    assert "script-src 'self'" in policy and "unsafe-inline" not in policy
    assert "frame-ancestors 'none'" in policy


def test_an_expired_access_token_is_refreshed_silently(page, users, settings):
    from datetime import timedelta

    settings.ACCESS_TOKEN_LIFETIME = timedelta(seconds=2)
    sign_in(page, users[Level.READ_ONLY])
    assert catalog_titles(page)
    page.wait_for_timeout(3_000)  # the access token and its cookie have expired
    page.goto("/runs")
    page.wait_for_selector("#runs-empty:not([hidden])")
    assert "/login" not in page.url
    page.goto("/")
    assert catalog_titles(page) == {"Say hello", "Sleep a while"}


def test_signing_in_and_running_work_by_keyboard_alone(page, users):
    page.goto("/login")
    for _ in range(5):  # past the skip link and the header, to the first field
        page.keyboard.press("Tab")
        if page.evaluate("document.activeElement.id") == "login-username":
            break
    assert page.evaluate("document.activeElement.id") == "login-username"
    page.keyboard.type(users[Level.READ_ONLY].username)
    page.keyboard.press("Tab")
    page.keyboard.type(PASSWORD)
    page.keyboard.press("Enter")
    page.wait_for_url(re.compile(r"^[^?]*/$"))
    assert catalog_titles(page)


def test_pages_fit_a_phone_screen(browser, live_server, catalog, users):
    context = browser.new_context(
        base_url=live_server.url, viewport={"width": 360, "height": 740}, is_mobile=True
    )
    phone = context.new_page()
    phone.console_errors = []
    sign_in(phone, users[Level.OWNER], then="/scripts/price-quote")
    phone.wait_for_selector("#run-form:not([hidden])")
    for path in ("/scripts/price-quote", "/", "/runs", "/account", "/users"):
        phone.goto(path)
        phone.wait_for_load_state("networkidle")
        width = phone.evaluate("document.documentElement.scrollWidth")
        assert width <= 360, (path, width)
    context.close()


def test_a_newcomer_creates_an_account_and_lands_in_the_catalog(page, db):
    page.goto("/login")
    page.get_by_text("No account yet? Create one").click()
    page.locator("#signup-username").fill("newcomer")
    page.locator("#signup-email").fill("newcomer@example.com")
    page.locator("#signup-password").fill("password")
    page.get_by_role("button", name="Create account").click()
    expect(page.locator("#error-signup-password")).to_contain_text("too common")
    page.locator("#signup-password").fill("a-long-and-unusual-passphrase")
    page.get_by_role("button", name="Create account").click()
    page.wait_for_url(re.compile(r"^[^?]*/$"))
    # Until the address is confirmed (tests/web/test_email_browser.py follows the link).
    expect(page.locator("#verify-email-panel")).to_contain_text("newcomer@example.com")


def test_the_signup_form_is_absent_when_signup_is_closed(page, settings):
    settings.SIGNUP_MODE = "closed"
    page.goto("/login")
    expect(page.locator("#login-form")).to_be_visible()
    assert page.locator("#signup-form").count() == 0


def test_swagger_ui_renders_every_operation_offline(page):
    page.goto("/api/docs/")
    page.wait_for_selector(".swagger-ui .opblock")
    assert page.locator(".opblock").count() >= 30
    assert page.console_errors == []


@pytest.fixture
def idp(live_server, settings, tmp_path):
    """A real OpenID Connect provider whose client returns to the live server."""
    from tests.oidc_provider import OidcProvider

    callback = f"{live_server.url}/api/auth/oidc/test/callback/"
    provider = OidcProvider(tmp_path, redirect_uris=[callback]).start()
    settings.OIDC_PROVIDERS = provider.settings()
    yield provider
    provider.stop()


def sign_in_at_provider(page, login: str) -> None:
    """Fill in the provider's own sign-in and consent pages."""
    page.locator("input[name=login]").fill(login)
    page.locator("input[name=password]").fill("any password")
    page.get_by_role("button", name="Sign-in").click()
    page.get_by_role("button", name="Continue").click()


def test_single_sign_on_through_the_providers_pages(page, idp, settings):
    settings.DEFAULT_LEVEL = "write"
    idp.add("casey-sub", "casey@example.com", given_name="Casey")
    page.goto("/runs")
    page.wait_for_url(re.compile(r"/login\?next=%2Fruns$"))
    page.get_by_role("link", name="Sign in with Test IdP").click()
    page.wait_for_url(re.compile(rf"^{re.escape(idp.url)}/interaction/"))
    sign_in_at_provider(page, "casey-sub")
    page.wait_for_url(re.compile(r"^[^?]*/runs$"))
    expect(page.locator("#whoami")).to_contain_text("casey")
    page.console_errors.clear()  # the provider's page asks for web fonts it cannot reach
    page.goto("/")
    assert catalog_titles(page) == {"Say hello", "Sleep a while", "Price quote", "Write files"}
    assert page.console_errors == []
    assert User.objects.get(email="casey@example.com").level == Level.WRITE


def test_a_refused_single_sign_on_explains_itself_on_the_sign_in_page(page, idp, settings):
    settings.SIGNUP_MODE = "domain"
    settings.SIGNUP_ALLOWED_DOMAINS = ["example.com"]
    idp.add("outsider", "outsider@elsewhere.test")
    page.goto("/login")
    page.get_by_role("link", name="Sign in with Test IdP").click()
    sign_in_at_provider(page, "outsider")
    page.wait_for_url(re.compile(r"/login\?sso_error=domain$"))
    expect(page.locator("#sso-error")).to_have_text(
        "Accounts from your email domain cannot sign in here."
    )
    assert not User.objects.filter(email="outsider@elsewhere.test").exists()


@pytest.mark.parametrize("elsewhere", ["/%5Cevil.example/", "/%09/evil.example/"])
def test_a_next_leading_off_the_site_is_ignored_after_a_password_sign_in(
    page, users, live_server, elsewhere
):
    # The attacker's link: the sign-in page with a `next` that a browser reads as another host.
    page.goto(f"/login?next={elsewhere}")
    page.get_by_label("Username").first.fill(users[Level.READ_ONLY].username)
    page.get_by_label("Password").first.fill(PASSWORD)
    page.locator("#login-form button[type=submit]").click()
    page.wait_for_selector("#catalog:not([aria-busy])")
    assert page.url == live_server.url + "/"
