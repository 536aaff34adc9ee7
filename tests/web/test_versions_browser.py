"""A script's versions and problems in a real browser (Chromium): the admin's warning of a
rejected edit, the differences between two versions, and a run's link to the source it ran."""

import re

from playwright.sync_api import expect

from scripts_api.models import Script
from scripts_api.services import scripts_sync
from tests.web.browser import needs_chromium, sign_in
from users.roles import Level

pytestmark = needs_chromium


def edit_hello(catalog, old: str, new: str) -> None:
    path = catalog / "hello.py"
    path.write_text(path.read_text().replace(old, new))
    scripts_sync()


def test_an_admin_sees_the_rejected_edit_and_the_differences_between_versions(
    page, open_page, users, catalog
):
    first = Script.objects.get(slug="hello").version
    edit_hello(catalog, 'f"Hello, {name}', 'f"Good morning, {name}')
    second = Script.objects.get(slug="hello").version
    edit_hello(catalog, "def main(", "def main(:")  # a typo: rejected, the second version stays

    sign_in(page, users[Level.ADMIN], then="/scripts/hello")
    warning = page.locator("#script-problems")
    expect(warning).to_be_visible()
    expect(warning).to_contain_text("The newest edit of this script was rejected.")
    expect(warning).to_contain_text("Python cannot parse the file")
    expect(page.locator("#versions li")).to_have_count(2)
    expect(page.locator("#versions li").first).to_contain_text(second)
    expect(page.locator("#versions li").first).to_contain_text("current")

    assert page.get_by_label("Compare").input_value() == first
    assert page.get_by_label("with").input_value() == second
    page.get_by_role("button", name="Show the differences").click()
    expect(page.locator("#diff .diff-del")).to_have_text(
        ["-    greeting = f\"Hello, {name}{'!' if excited else '.'}\""]
    )
    expect(page.locator("#diff .diff-add")).to_have_text(
        ["+    greeting = f\"Good morning, {name}{'!' if excited else '.'}\""]
    )

    (catalog / "fresh.py").write_text('"""Fresh"""\ndef main():\n    pass\n')
    scripts_sync()
    page.goto("/")
    card = page.locator(".card", has_text="Say hello")
    expect(card.locator(".notice")).to_contain_text("Its newest edit was rejected")
    rejected = page.locator("#rejected-files li")
    expect(rejected).to_have_count(2)
    expect(rejected.nth(0)).to_contain_text("fresh.py: POLICY is missing")
    expect(rejected.nth(0)).to_contain_text("(not published)")
    expect(rejected.nth(1)).to_contain_text("hello.py: Python cannot parse the file")
    expect(rejected.nth(1)).to_contain_text("the last good version is still published")
    assert page.console_errors == []

    reader = open_page()
    sign_in(reader, users[Level.READ_ONLY], then="/scripts/hello")
    expect(reader.locator("#versions li")).to_have_count(2)
    expect(reader.locator("#script-problems")).to_be_hidden()
    reader.goto("/")
    expect(reader.locator(".card", has_text="Say hello").locator(".notice")).to_have_count(0)
    expect(reader.locator("#rejected-section")).to_be_hidden()
    assert reader.console_errors == []


def test_a_run_links_to_the_source_it_ran(page, users, catalog, start_worker):
    start_worker()
    ran = Script.objects.get(slug="hello").version
    sign_in(page, users[Level.WRITE], then="/scripts/hello")
    page.get_by_role("button", name="Run").click()
    page.wait_for_url(re.compile(r"/runs/[0-9a-f-]+$"))
    page.wait_for_selector(".badge.succeeded")
    edit_hello(catalog, 'f"Hello, {name}', 'f"Good morning, {name}')  # published afterwards

    page.get_by_role("link", name=ran).click()
    page.wait_for_url(re.compile(rf"/scripts/hello\?version={ran}#source-section$"))
    expect(page.locator("#source-title")).to_have_text(f"Source of version {ran}")
    expect(page.locator("#source")).to_contain_text('greeting = f"Hello, {name}')
    assert page.console_errors == []
