"""The run page shows a running script's output and progress as they come, and again after a
reload (Chromium, a live server and a real queue worker)."""

import re
import textwrap

from playwright.sync_api import expect

from scripts_api.services import scripts_sync
from tests.web.browser import needs_chromium, sign_in
from users.roles import Level

pytestmark = needs_chromium

STEPS = '''
    """Work in steps"""
    import time
    import rbas

    POLICY = "authenticated"

    def main():
        print("loading the customers")
        rbas.progress(0.4, "step 2 of 5")
        time.sleep(4)
        print("all done")
        return "ok"
'''


def test_the_run_page_shows_output_and_progress_before_the_run_ends(
    page, catalog, users, start_worker
):
    (catalog / "steps.py").write_text(textwrap.dedent(STEPS))
    scripts_sync()
    start_worker()
    sign_in(page, users[Level.READ_ONLY], then="/scripts/steps")
    page.get_by_role("button", name="Run").click()
    page.wait_for_url(re.compile(r"/runs/[0-9a-f-]+$"))

    def shows_the_first_line_and_the_bar():
        expect(page.locator("#stdout")).to_have_text("loading the customers\n", timeout=3000)
        bar = page.get_by_role("progressbar", name="Progress: 40%")
        expect(bar).to_be_visible()
        expect(bar).to_have_attribute("value", "0.4")
        expect(bar).to_have_accessible_description("step 2 of 5")
        expect(page.locator(".badge")).to_have_text("running")  # the run has not ended

    shows_the_first_line_and_the_bar()
    page.reload()
    shows_the_first_line_and_the_bar()
    expect(page.locator(".badge")).to_have_text("succeeded", timeout=10_000)
    expect(page.locator("#stdout")).to_have_text("loading the customers\nall done\n")
    expect(page.get_by_role("progressbar")).to_be_visible()
    assert page.console_errors == []
