"""An axe-core scan (tests/oidc/node_modules, pinned in tests/oidc/package.json) of every page
and page state, on a desktop and a 390 px phone: no serious or critical violation. Skipped, and
said so, where Chromium or axe-core is missing (`npm ci --prefix tests/oidc`)."""

import uuid
from datetime import timedelta
from pathlib import Path

import pytest
from django.utils import timezone

from tests.web.browser import SIZES, needs_chromium, sign_in
from users.models import Invitation
from users.roles import Level

AXE = Path(__file__).resolve().parents[1] / "oidc" / "node_modules" / "axe-core" / "axe.min.js"
BLOCKING = {"serious", "critical"}

pytestmark = [
    needs_chromium,
    pytest.mark.skipif(
        not AXE.exists(), reason="axe-core is not installed: npm ci --prefix tests/oidc"
    ),
]


@pytest.fixture(params=SIZES)
def scan(request, open_page, catalog):
    """A page at one of the two sizes, and `check(path, ready)`: open `path` (None: stay), wait
    for the selector `ready` (None: the page is ready once loaded), and collect axe's serious or
    critical violations; the test fails at its end with all of them, readably."""
    size = request.param
    # The pages' strict CSP (script-src 'self') would refuse the injected axe script: the
    # context bypasses CSP for this scan only. The policy itself is tested in test_browser.py.
    page = open_page(viewport=SIZES[size], bypass_csp=True)
    found = []

    def check(path: str | None, ready: str | None = None) -> None:
        if path is not None:
            page.goto(path)
        if ready:
            page.wait_for_selector(ready)
        page.add_script_tag(path=str(AXE))
        result = page.evaluate("axe.run(document, { resultTypes: ['violations'] })")
        where = f"{path or page.url} at {size}"
        for violation in result["violations"]:
            if violation["impact"] not in BLOCKING:
                continue
            nodes = "".join(
                f"\n    {' '.join(node['target'])}: {node['failureSummary']}"
                for node in violation["nodes"]
            )
            found.append(
                f"{where}: {violation['id']} ({violation['impact']}): {violation['help']}{nodes}"
            )

    check.page = page
    yield check
    if found:
        pytest.fail("axe found serious or critical violations:\n" + "\n".join(found), False)


def test_the_public_pages_are_accessible(scan):
    scan("/login")
    scan("/forgot-password")
    scan("/reset-password#no-such-token")
    scan("/verify-email#no-such-token", "#verify-result .notice")
    scan("/invitation#no-such-token", "#link-problem:not([hidden])")
    scan("/no/such/page")


def test_a_users_pages_and_states_are_accessible(scan, users, bearer_client):
    from scripts_api.execution import run_execute

    reader = users[Level.READ_ONLY]
    done = bearer_client(reader).post("/api/scripts/hello/runs/", {}, format="json").json()["id"]
    run_execute(run_id=done)
    sign_in(scan.page, reader)
    scan(None, "#catalog:not([aria-busy])")
    scan("/scripts/hello", "#run-form:not([hidden])")
    scan(f"/runs/{done}", ".badge.succeeded")
    scan("/runs", "#runs tr")
    scan("/account", "#email-status:not(:empty)")
    scan(f"/runs/{uuid.uuid4()}", "[data-state=not-found]")
    scan("/scripts/close-month", "[data-state=forbidden]")
    scan("/users", "[data-state=forbidden]")
    scan.page.route("**/api/scripts/?*", lambda route: route.fulfill(status=503, json={}))
    scan("/", "[data-state=error]")


def test_the_users_page_and_the_limited_panel_are_accessible(scan, users, make_user):
    owner = users[Level.OWNER]
    Invitation.objects.create(
        email="newcomer@example.com",
        level=Level.WRITE,
        invited_by=owner,
        expires_at=timezone.now() + timedelta(days=7),
    )
    sign_in(scan.page, owner, then="/users")
    scan(None, "#invitations tr")
    limited = make_user(Level.READ_ONLY, must_verify_email=True)
    scan.page.context.clear_cookies()
    sign_in(scan.page, limited)
    scan(None, "#verify-email-panel:not([hidden])")


def test_the_secrets_page_is_accessible(scan, users):
    from vault.services import secret_create

    owner = users[Level.OWNER]
    secret_create(actor=owner, name="CRM_TOKEN", value="tok_live_123", description="CRM")
    sign_in(scan.page, owner, then="/secrets")
    scan(None, "#secrets tr")


def test_the_schedules_page_is_accessible(scan, users, catalog):
    from schedules.services import schedule_create
    from scripts_api.models import Script

    owner = users[Level.OWNER]
    hello = Script.objects.get(slug="hello")
    schedule_create(
        actor=owner, script=hello, cron="0 7 * * MON", timezone_name="UTC", params={}, run_as=owner
    )
    sign_in(scan.page, owner, then="/schedules")
    scan(None, "#schedules tr")


def test_the_api_tokens_page_is_accessible(scan, users):
    from users.personal_tokens import token_create

    owner = users[Level.OWNER]
    token_create(user=owner, levels=(owner.level,), name="nightly report")
    sign_in(scan.page, owner, then="/account/tokens")
    scan(None, "#tokens tr")
    scan.page.get_by_label("Name (e.g. nightly report)").fill("laptop")
    scan.page.get_by_role("button", name="Create token").click()
    scan(None, "#token-created:not([hidden])")


def test_the_notifications_page_is_accessible(scan, users, settings):
    from notifications.services import subscription_create

    settings.NOTIFICATION_WEBHOOK_ALLOW_HTTP = settings.NOTIFICATION_WEBHOOK_ALLOW_PRIVATE = True
    owner = users[Level.OWNER]
    subscription_create(
        user=owner,
        levels=(owner.level,),
        script="hello",
        on="failure",
        channel="email",
        scope="own",
        url="",
    )
    sign_in(scan.page, owner, then="/account/notifications")
    scan(None, "#subscriptions tr")
    scan.page.get_by_label("How", exact=True).select_option("webhook")
    scan.page.get_by_label("Webhook URL (https://...)").fill("http://127.0.0.1:9/hook")
    scan.page.get_by_role("button", name="Notify me").click()
    scan(None, "#secret-shown:not([hidden])")


def test_the_applications_page_and_the_consent_page_are_accessible(scan, users):
    from provider import services
    from tests.provider.flows import authorize_query, pkce_pair

    owner = users[Level.OWNER]
    app, _secret = services.application_create(
        actor=owner,
        name="Team wiki",
        client_type="confidential",
        authorization_grant_type="authorization-code",
        redirect_uris=["http://127.0.0.1:9999/callback"],
    )
    sign_in(scan.page, owner, then="/applications")
    scan(None, "#applications tr")
    scan(f"/o/authorize/?{authorize_query(app, pkce_pair()[1])}", "#authorize-form")


def test_a_scripts_versions_problems_and_diff_are_accessible(scan, users, catalog):
    from scripts_api.models import Script
    from scripts_api.services import scripts_sync

    first = Script.objects.get(slug="hello").version
    hello = catalog / "hello.py"
    hello.write_text(hello.read_text().replace("Hello,", "Hi,"))
    scripts_sync()
    hello.write_text(hello.read_text().replace("def main(", "def main(:"))
    (catalog / "fresh.py").write_text('"""Fresh"""\ndef main():\n    pass\n')
    scripts_sync()
    sign_in(scan.page, users[Level.ADMIN])
    scan(None, "#rejected-section:not([hidden])")
    scan(f"/scripts/hello?version={first}", "#source-section:not([hidden])")
    scan.page.get_by_role("button", name="Show the differences").click()
    scan(None, "#diff .diff-add")


def test_the_audit_log_page_is_accessible(scan, users):
    from audit import services as audit

    owner = users[Level.OWNER]
    audit.record("user.level_changed", actor=owner, target=users[Level.WRITE], to=2)
    sign_in(scan.page, owner, then="/audit")
    scan(None, "#audit-events tr")
