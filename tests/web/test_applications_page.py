"""The applications page: an admin registers a sign-in app and a service, sees the secret once,
and deletes them; the levels an admin cannot grant are not offered."""

from oauth2_provider.models import Application
from playwright.sync_api import expect

from tests.web.browser import needs_chromium, sign_in
from users.models import User
from users.roles import Level

pytestmark = needs_chromium


def test_an_admin_registers_lists_and_deletes_applications(page, users):
    sign_in(page, users[Level.ADMIN], then="/applications")
    expect(page.locator("#nav-applications")).to_be_visible()
    expect(page.locator("#applications-empty")).to_be_visible()

    page.get_by_label("Name").fill("Team wiki")
    page.get_by_label("Redirect URIs, one per line").fill("https://wiki.example.com/callback")
    page.get_by_role("button", name="Register application").click()
    expect(page.locator("#applications-message")).to_have_text("Registered Team wiki.")
    wiki = Application.objects.get(name="Team wiki")
    expect(page.locator("#created-client-id")).to_have_text(wiki.client_id)
    secret = page.locator("#created-client-secret").inner_text()
    assert len(secret) > 40 and secret != wiki.client_secret  # stored hashed
    row = page.locator(f"#applications tr[data-client-id='{wiki.client_id}']")
    expect(row).to_contain_text("https://wiki.example.com/callback")

    page.get_by_label("Kind").select_option("client-credentials")
    expect(page.get_by_label("Redirect URIs, one per line")).to_be_hidden()
    levels = page.get_by_label("Service account's level").locator("option").all_inner_texts()
    assert levels == ["Investor", "Read/Write", "Read Only"]
    page.get_by_label("Name").fill("Nightly report")
    page.get_by_label("Service account's level").select_option(label="Read/Write")
    page.get_by_role("button", name="Register application").click()
    expect(page.locator("#applications-message")).to_have_text("Registered Nightly report.")
    service = Application.objects.get(name="Nightly report")
    account = service.service_account.user
    assert account.level == Level.WRITE
    expect(page.locator(f"#applications tr[data-client-id='{service.client_id}']")).to_contain_text(
        f"{account.username} (Read/Write)"
    )

    page.get_by_role("button", name="Delete Nightly report").click()
    page.locator("#confirm-dialog").get_by_role("button", name="Delete application").click()
    expect(page.locator("#applications-message")).to_have_text("Deleted Nightly report.")
    assert not Application.objects.filter(name="Nightly report").exists()
    assert not User.objects.get(pk=account.pk).is_active
    assert page.console_errors == []


def test_a_bad_redirect_uri_is_shown_next_to_its_field(page, users):
    sign_in(page, users[Level.OWNER], then="/applications")
    page.get_by_label("Name").fill("Broken")
    page.get_by_label("Redirect URIs, one per line").fill("javascript:alert(1)")
    page.get_by_role("button", name="Register application").click()
    expect(page.locator("#error-application-redirect_uris")).not_to_be_empty()
    assert not Application.objects.exists()


def test_a_read_write_user_is_told_the_page_is_not_for_them(page, users):
    sign_in(page, users[Level.WRITE], then="/applications")
    expect(page.locator("[data-state=forbidden]")).to_contain_text(
        "Registering applications is for admins and owners."
    )
    expect(page.locator("#nav-applications")).to_be_hidden()
