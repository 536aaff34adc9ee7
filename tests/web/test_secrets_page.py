"""The secrets page: an admin adds a secret, sees it listed without its value, and deletes it."""

from playwright.sync_api import expect

from tests.web.browser import needs_chromium, sign_in
from users.roles import Level
from vault.models import Secret

pytestmark = needs_chromium

VALUE = "browser-typed-value-5a1d"


def test_an_admin_adds_lists_and_deletes_a_secret_whose_value_never_shows(page, users):
    sign_in(page, users[Level.ADMIN], then="/secrets")
    expect(page.locator("#nav-secrets")).to_be_visible()
    expect(page.locator("#secrets-empty")).to_be_visible()
    page.get_by_label("Name (e.g. CRM_TOKEN)").fill("CRM_TOKEN")
    page.get_by_label("Value", exact=True).fill(VALUE)
    page.get_by_label("Description").fill("The CRM's API token")
    expect(page.get_by_label("Scripts reading it run for")).to_have_value("admin")
    page.get_by_role("button", name="Save secret").click()

    expect(page.locator("#secrets-message")).to_have_text(
        "Saved CRM_TOKEN. Its value is not shown again."
    )
    row = page.locator("#secrets tr[data-name=CRM_TOKEN]")
    expect(row).to_contain_text("The CRM's API token")
    expect(row).to_contain_text("Admins only")
    expect(row).to_contain_text("No published script")
    expect(page.get_by_label("Value", exact=True)).to_have_value("")
    assert VALUE not in page.content()
    assert Secret.objects.get().name == "CRM_TOKEN"

    page.get_by_role("button", name="Delete CRM_TOKEN").click()
    dialog = page.locator("#confirm-dialog")
    expect(dialog).to_contain_text("Delete the secret CRM_TOKEN?")
    dialog.get_by_role("button", name="Delete secret").click()
    expect(page.locator("#secrets-message")).to_have_text("Deleted CRM_TOKEN.")
    expect(page.locator("#secrets-empty")).to_be_visible()
    assert not Secret.objects.exists()
    assert page.console_errors == []


def test_a_read_write_user_is_told_the_page_is_not_for_them(page, users):
    sign_in(page, users[Level.WRITE], then="/secrets")
    expect(page.locator("[data-state=forbidden]")).to_contain_text(
        "Managing secrets is for admins and owners."
    )
    expect(page.locator("#nav-secrets")).to_be_hidden()
