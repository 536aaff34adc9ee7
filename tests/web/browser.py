"""What the browser tests share: where Chromium is, how to sign in, what the catalog shows."""

import os
import re

import pytest

from tests.conftest import PASSWORD
from users.models import User

CHROMIUM = "/usr/bin/chromium"
ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
    "--disable-quic",
]
needs_chromium = pytest.mark.skipif(
    not os.path.exists(CHROMIUM),
    reason="browser tests skipped: Chromium is not installed (apt-get install chromium)",
)


def sign_in(page, user: User, then: str = "/", password: str = PASSWORD) -> None:
    """Sign in with the password form, starting from `then`'s sign-in page; wait for `then`."""
    page.goto(f"/login?next={then}")
    page.get_by_label("Username").first.fill(user.username)
    page.get_by_label("Password").first.fill(password)
    page.locator("#login-form button[type=submit]").click()
    page.wait_for_url(re.compile(rf"^[^?]*{re.escape(then)}$"))  # the path, not ?next=
    page.console_errors.clear()  # the 401 that sent us to the sign-in page is expected


def catalog_titles(page) -> set[str]:
    page.wait_for_selector("#catalog:not([aria-busy])")
    return set(page.locator(".card h2").all_inner_texts())


# The two screens every page is checked at: a desktop and a 390 px wide phone.
SIZES = {"desktop": {"width": 1280, "height": 800}, "phone": {"width": 390, "height": 844}}


def fits_the_width(page) -> bool:
    """Whether the page needs no sideways scrolling."""
    return page.evaluate("document.documentElement.scrollWidth <= window.innerWidth")
