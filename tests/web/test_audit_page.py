"""The audit log page: an owner sees the events, filters them and pages through them; others
are told it is not for them."""

from playwright.sync_api import expect

from audit import services as audit
from tests.web.browser import needs_chromium, sign_in
from users.roles import Level

pytestmark = needs_chromium


def test_an_owner_reads_filters_and_pages_through_the_log(page, users):
    owner, reader = users[Level.OWNER], users[Level.READ_ONLY]
    for number in range(55):
        audit.record("run.started", actor=reader, target=("run", number, f"run {number}"))
    audit.record("user.level_changed", actor=owner, target=reader, **{"from": 4, "to": 3})
    sign_in(page, owner, then="/audit")
    expect(page.locator("#nav-audit")).to_be_visible()
    rows = page.locator("#audit-events tr")
    expect(rows).to_have_count(50)
    expect(rows.first).to_contain_text("auth.login")  # this sign-in, newest first
    expect(page.locator("#audit-events tr[data-event='user.level_changed']")).to_contain_text(
        "from: 4, to: 3"
    )
    page.get_by_role("button", name="Older").click()
    expect(rows).to_have_count(7)  # 55 runs + the level change + the sign-in, 50 a page
    expect(page.get_by_role("button", name="Older")).to_be_hidden()
    page.get_by_role("button", name="Newer").click()
    expect(rows).to_have_count(50)

    page.get_by_label("Event (or a prefix such as auth.)").fill("user.")
    page.get_by_role("button", name="Filter").click()
    expect(rows).to_have_count(1)
    expect(rows.first).to_contain_text(reader.username)
    assert "event=user." in page.locator("#audit-export").get_attribute("href")
    assert page.console_errors == []


def test_an_admin_is_told_the_page_is_not_for_them(page, users):
    sign_in(page, users[Level.ADMIN], then="/audit")
    expect(page.locator("[data-state=forbidden]")).to_contain_text("The audit log is for owners.")
    expect(page.locator("#nav-audit")).to_be_hidden()
