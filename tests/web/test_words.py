"""The web app speaks to people, not developers: labels and help instead of parameter names,
titles instead of slugs, policies in words, and names instead of user ids."""

import re

from playwright.sync_api import expect

from tests.web.browser import needs_chromium, sign_in
from users.roles import Level

pytestmark = needs_chromium


def run_hello(client, **params) -> str:
    """Run the hello script to its end (in this process) and return the run's id."""
    from scripts_api.execution import run_execute

    run_id = client.post("/api/scripts/hello/runs/", {"params": params}, format="json").json()["id"]
    run_execute(run_id=run_id)
    return run_id


def test_a_parameter_shows_its_label_and_help_and_the_policy_in_words(page, users):
    sign_in(page, users[Level.WRITE], then="/scripts/price-quote")
    seats = page.get_by_label("Number of seats")
    expect(seats).to_have_attribute("id", "param-seats")
    expect(seats).to_have_accessible_description(re.compile(r"One per person who will sign in\."))
    expect(page.locator("#hint-seats")).to_have_text("One per person who will sign in.")
    # A list's help ends with how to type it; an undocumented help stays empty.
    expect(page.locator("#hint-addons")).to_have_text(
        "Any of sso, audit-log and priority-support. One value per line."
    )
    expect(page.locator("#hint-plan")).to_have_text("")
    expect(page.locator("#script-policy")).to_have_text("Who may run it: Staff only")
    assert "discount_code" not in page.locator("#fields").inner_text()
    assert page.console_errors == []


def test_the_catalog_says_who_may_run_each_script(page, users):
    sign_in(page, users[Level.OWNER])
    cards = page.locator(".card")
    expect(cards.filter(has_text="Say hello")).to_contain_text("Who may run it: Everyone signed in")
    expect(cards.filter(has_text="Close the month")).to_contain_text("Who may run it: Owners only")
    expect(cards.filter(has_text="Monthly sales report")).to_contain_text(
        "Who may run it: Owner, Investor"
    )


def test_a_run_names_its_script_and_lists_its_parameters_in_words(page, users, bearer_client):
    reader = users[Level.READ_ONLY]
    run_id = run_hello(bearer_client(reader), name="Ada", excited=True)
    sign_in(page, reader, then=f"/runs/{run_id}")
    page.wait_for_selector(".badge.succeeded")
    expect(page.locator("#run-script")).to_have_text("Say hello")
    expect(page.get_by_text("Printed output")).to_be_visible()
    expect(page.get_by_text("Error output")).to_be_visible()
    page.get_by_text("Parameters").click()
    terms = page.locator("#params dt")
    expect(terms).to_have_text(["Name", "Excited"])
    expect(page.locator("#params dd")).to_have_text(["Ada", "Yes"])
    assert "{" not in page.locator("#params").inner_text()  # not JSON
    text = page.locator("#run").inner_text()
    assert "stdout" not in text and "stderr" not in text
    assert page.console_errors == []


def test_run_history_names_scripts_and_people_not_slugs_and_ids(
    page, open_page, users, bearer_client
):
    writer, admin, investor = users[Level.WRITE], users[Level.ADMIN], users[Level.INVESTOR]
    bearer_client(investor).post(
        "/api/scripts/sales-report/runs/", {"params": {"month": "2025-03-01"}}, format="json"
    )
    run_hello(bearer_client(writer))
    run_hello(bearer_client(admin))
    sign_in(page, admin, then="/runs")
    rows = page.locator("#runs tr")
    expect(rows).to_have_count(3)
    users_column = page.locator("#runs td.user")
    expect(users_column).to_have_text(["you", writer.username, investor.username])
    expect(rows.first).to_contain_text("Say hello")
    # A script the admin may not run is named by its slug made readable.
    expect(rows.last).to_contain_text("Sales report")
    assert str(writer.pk) not in users_column.all_inner_texts()

    own = open_page()
    sign_in(own, writer, then="/runs")
    expect(own.locator("#runs td.user")).to_have_text(["you"])
    assert page.console_errors == [] and own.console_errors == []
