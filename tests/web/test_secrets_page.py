"""The secrets page: an admin adds a secret, sees it listed without its value, and deletes it."""

import re

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


def test_a_run_page_shows_the_secret_masked_and_never_its_value(page, users, catalog):
    from scripts_api.execution import run_execute
    from scripts_api.services import scripts_sync
    from vault.services import secret_create

    (catalog / "show_token.py").write_text(
        '"""Show the token"""\nimport os\nPOLICY = "authenticated"\nSECRETS = ["CRM_TOKEN"]\n\n'
        'def main():\n    print("token:", os.environ["CRM_TOKEN"])\n'
        '    return {"token": os.environ["CRM_TOKEN"]}\n'
    )
    assert not scripts_sync().rejected
    owner = users[Level.OWNER]
    secret_create(actor=owner, name="CRM_TOKEN", value=VALUE, policy="authenticated")
    sign_in(page, users[Level.READ_ONLY], then="/scripts/show-token")
    page.get_by_role("button", name=re.compile("^Run")).click()
    page.wait_for_url(re.compile(r"/runs/[0-9a-f-]{36}$"))
    run_execute(run_id=page.url.rsplit("/", 1)[1])
    expect(page.locator("#stdout")).to_have_text("token: [secret CRM_TOKEN]\n", timeout=20_000)
    expect(page.locator("#content")).to_contain_text("[secret CRM_TOKEN]")
    assert VALUE not in page.content()
