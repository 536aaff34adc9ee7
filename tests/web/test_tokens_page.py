"""The API tokens page: create a token shown once (copy button, warning), see where it was used,
revoke it with a confirmation; admins see everyone's."""

import re

import requests
from playwright.sync_api import expect

from tests.web.browser import needs_chromium, sign_in
from users.models import PersonalAccessToken
from users.personal_tokens import PREFIX, token_create, token_digest
from users.roles import Level

pytestmark = needs_chromium


def test_a_user_creates_copies_uses_and_revokes_a_token(open_page, catalog, users, live_server):
    page = open_page(permissions=["clipboard-read", "clipboard-write"])
    sign_in(page, users[Level.WRITE], then="/account")
    page.get_by_role("link", name="manage your API tokens").click()
    expect(page.locator("#tokens-empty")).to_be_visible()
    page.get_by_label("Name (e.g. nightly report)").fill("nightly")
    page.get_by_label("Expires after (days)").fill("30")
    page.get_by_label("Rights").select_option(label="Only Read Only")
    page.get_by_role("button", name="Create token").click()

    panel = page.locator("#token-created")
    expect(panel).to_be_visible()
    expect(panel).to_contain_text("It is shown only this once")
    expect(page.locator("#token-value")).to_have_text(re.compile(f"^{PREFIX}[A-Za-z0-9_-]{{43}}$"))
    raw = page.locator("#token-value").text_content()
    stored = PersonalAccessToken.objects.get()
    assert stored.digest == token_digest(raw) and stored.level == Level.READ_ONLY
    page.get_by_role("button", name="Copy token").click()
    expect(page.locator("#token-copy-status")).to_have_text("Copied to the clipboard.")
    assert page.evaluate("navigator.clipboard.readText()") == raw
    row = page.locator(f"#tokens tr[data-id='{stored.pk}']")
    expect(row).to_contain_text("Read Only")
    expect(row).to_contain_text("Never")

    used = requests.get(
        f"{live_server.url}/api/auth/me/", headers={"Authorization": f"Bearer {raw}"}, timeout=10
    )
    assert used.status_code == 200
    page.reload()
    expect(page.locator("#token-created")).to_be_hidden()
    assert raw not in page.content()
    expect(row).to_contain_text("127.0.0.1")

    page.get_by_role("button", name="Revoke nightly").click()
    dialog = page.locator("#confirm-dialog")
    expect(dialog).to_contain_text("Revoke the token nightly?")
    dialog.get_by_role("button", name="Revoke token").click()
    expect(page.locator("#tokens-message")).to_have_text("Revoked nightly.")
    expect(row).to_contain_text("Revoked")
    again = requests.get(
        f"{live_server.url}/api/auth/me/", headers={"Authorization": f"Bearer {raw}"}, timeout=10
    )
    assert again.status_code == 401
    assert page.console_errors == []


def test_a_read_only_user_can_narrow_to_nothing_and_sees_only_their_own(page, users):
    token_create(user=users[Level.OWNER], levels=(Level.OWNER,), name="owner's")
    sign_in(page, users[Level.READ_ONLY], then="/account/tokens")
    expect(page.locator("#token-level option")).to_have_text(["Yours (Read Only)"])
    expect(page.locator("#tokens-empty")).to_be_visible()
    expect(page.locator("#tokens-scope")).to_be_hidden()


def test_an_admin_sees_all_tokens_and_cannot_revoke_an_owners(page, users):
    token_create(user=users[Level.OWNER], levels=(Level.OWNER,), name="owner's")
    token_create(user=users[Level.WRITE], levels=(Level.WRITE,), name="writer's")
    sign_in(page, users[Level.ADMIN], then="/account/tokens")
    expect(page.locator("#token-level option")).to_have_text(
        ["Yours (Admin)", "Only Read/Write", "Only Read Only"]
    )
    page.get_by_label("Show all users' tokens").check()
    expect(page.locator("#tokens-title")).to_have_text("All users' tokens")
    owner_row = page.locator("#tokens tr", has_text="owner's")
    expect(owner_row).to_contain_text(users[Level.OWNER].username)
    page.get_by_role("button", name="Revoke owner's").click()
    page.locator("#confirm-dialog").get_by_role("button", name="Revoke token").click()
    expect(page.locator("#tokens-message")).to_contain_text(
        "Not revoked: Admins cannot change owners or other admins."
    )
    page.get_by_role("button", name="Revoke writer's").click()
    page.locator("#confirm-dialog").get_by_role("button", name="Revoke token").click()
    expect(page.locator("#tokens-message")).to_have_text("Revoked writer's.")
    assert PersonalAccessToken.objects.get(name="writer's").revoked_by == users[Level.ADMIN]
    assert PersonalAccessToken.objects.get(name="owner's").revoked_at is None
