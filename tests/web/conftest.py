"""Fixtures of the browser tests: one Chromium for the session, a fresh context per page."""

import os

import pytest

from tests.web.browser import ARGS, CHROMIUM


@pytest.fixture(scope="session")
def browser():
    from playwright.sync_api import sync_playwright

    # Playwright's sync API keeps an event loop open in this thread, which Django takes for an
    # async context; the tests' own database calls are plain synchronous ones.
    os.environ["DJANGO_ALLOW_ASYNC_UNSAFE"] = "true"
    with sync_playwright() as playwright:
        chromium = playwright.chromium.launch(executable_path=CHROMIUM, args=ARGS)
        yield chromium
        chromium.close()


@pytest.fixture
def open_page(browser, live_server):
    """Open a page in a new browser context (cookies of its own: another person, or another
    device) on the live server; `page.console_errors` collects what the console reports."""
    contexts = []

    def open_(**options):
        context = browser.new_context(base_url=live_server.url, **options)
        contexts.append(context)
        page = context.new_page()
        page.set_default_timeout(15_000)
        page.console_errors = []
        page.on("console", lambda m: m.type == "error" and page.console_errors.append(m.text))
        page.on("pageerror", lambda error: page.console_errors.append(str(error)))
        return page

    yield open_
    for context in contexts:
        context.close()


@pytest.fixture
def page(open_page, catalog):
    return open_page(accept_downloads=True)
