"""The schedules page: an admin adds a schedule, sees its next run, pauses, resumes, changes
and deletes it; the script page shows the next run; others are told the page is not theirs."""

from playwright.sync_api import expect

from schedules.models import Schedule
from tests.web.browser import needs_chromium, sign_in
from users.roles import Level

pytestmark = needs_chromium


def test_an_admin_manages_a_schedule(page, users):
    writer = users[Level.WRITE]
    sign_in(page, users[Level.ADMIN], then="/schedules")
    expect(page.locator("#nav-schedules")).to_be_visible()
    expect(page.locator("#schedules-empty")).to_be_visible()
    page.get_by_label("Script").select_option("hello")
    page.get_by_label("Cron expression (minute hour day month weekday)").fill("61 * * * *")
    page.get_by_role("button", name="Save schedule").click()
    expect(page.locator("#error-schedule-cron")).to_contain_text("Bad minute")

    page.get_by_label("Cron expression (minute hour day month weekday)").fill("0 7 * * MON")
    page.get_by_label("Time zone").fill("Europe/Paris")
    page.get_by_label("Runs as (username)").fill(writer.username)
    page.get_by_label("Parameters (JSON)").fill('{"name": "team"}')
    page.get_by_role("button", name="Save schedule").click()
    expect(page.locator("#schedules-message")).to_contain_text("Saved the schedule of hello")
    schedule = Schedule.objects.get()
    assert (schedule.run_as, schedule.params) == (writer, {"name": "team"})
    row = page.locator(f"#schedules tr[data-id='{schedule.pk}']")
    expect(row).to_contain_text("0 7 * * MON (Europe/Paris)")
    expect(row).to_contain_text("T07:00:00+0")

    row.get_by_role("button", name="Pause").click()
    expect(row).to_contain_text("Paused")
    assert Schedule.objects.get().paused
    row.get_by_role("button", name="Resume").click()
    expect(row).to_contain_text("T07:00:00+0")

    row.get_by_role("button", name="Change").click()
    page.get_by_label("Cron expression (minute hour day month weekday)").fill("30 6 * * *")
    page.get_by_role("button", name="Save schedule").click()
    expect(row).to_contain_text("30 6 * * * (Europe/Paris)")

    page.goto(page.url.replace("/schedules", "/scripts/hello"))
    expect(page.locator("#script-schedules")).to_contain_text("Next scheduled run:")

    page.goto(page.url.replace("/scripts/hello", "/schedules"))
    page.locator(f"#schedules tr[data-id='{schedule.pk}']").get_by_role(
        "button", name="Delete"
    ).click()
    page.locator("#confirm-dialog").get_by_role("button", name="Delete schedule").click()
    expect(page.locator("#schedules-empty")).to_be_visible()
    assert not Schedule.objects.exists()
    # Only the refused bad cron expression's 400 (Chromium logs every failed request).
    assert [e for e in page.console_errors if "status of 400" not in e] == []
    assert len(page.console_errors) == 1


def test_a_read_write_user_is_told_the_page_is_not_for_them(page, users):
    sign_in(page, users[Level.WRITE], then="/schedules")
    expect(page.locator("[data-state=forbidden]")).to_contain_text(
        "Managing schedules is for admins and owners."
    )
    expect(page.locator("#nav-schedules")).to_be_hidden()
