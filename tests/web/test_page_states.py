"""What a page shows when it cannot show its data: not found, not allowed, a server error, no
network; and the users page as cards on a phone. At both sizes (desktop and a 390 px phone)."""

import uuid
from datetime import timedelta

import pytest
from django.utils import timezone
from playwright.sync_api import expect

from tests.web.browser import SIZES, catalog_titles, fits_the_width, needs_chromium, sign_in
from users.models import Invitation
from users.roles import Level

pytestmark = needs_chromium


@pytest.fixture(params=SIZES)
def sized_page(request, open_page, catalog):
    """A page at one of the two sizes."""
    return open_page(viewport=SIZES[request.param])


def expect_state(page, state: str, title: str):
    section = page.locator(f"[data-state={state}]")
    expect(section.get_by_role("heading", name=title)).to_be_visible()
    expect(section.get_by_role("link", name="Back to the scripts")).to_be_visible()
    assert fits_the_width(page)
    return section


def test_what_does_not_exist_is_not_found_with_a_way_back(sized_page, users):
    page = sized_page
    sign_in(page, users[Level.READ_ONLY], then=f"/runs/{uuid.uuid4()}")
    expect_state(page, "not-found", "Not found")
    expect(page.locator("#run-status")).to_have_count(0)  # no "loading" badge left behind
    assert page.title().startswith("Not found")

    page.goto("/scripts/no-such-script")
    expect_state(page, "not-found", "Not found")

    response = page.goto("/no/such/page")
    assert response.status == 404
    expect(page.get_by_role("heading", name="Not found")).to_be_visible()
    page.get_by_role("link", name="Back to the scripts").click()
    assert "Say hello" in catalog_titles(page)


def test_what_the_user_may_not_see_is_not_allowed(sized_page, users):
    page = sized_page
    sign_in(page, users[Level.READ_ONLY], then="/scripts/close-month")
    expect(expect_state(page, "forbidden", "Not allowed")).to_contain_text("owner")
    page.goto("/users")
    expect(expect_state(page, "forbidden", "Not allowed")).to_contain_text("for admins and owners")
    expect(page.locator("#users-admin")).to_have_count(0)


def test_a_server_error_and_being_offline_offer_to_try_again(sized_page, users):
    page = sized_page
    scripts = "**/api/scripts/?*"
    page.route(scripts, lambda route: route.fulfill(status=503, json={"detail": "Down."}))
    sign_in(page, users[Level.READ_ONLY])
    expect_state(page, "error", "Something went wrong")
    page.unroute(scripts)
    page.get_by_role("button", name="Try again").click()
    assert "Say hello" in catalog_titles(page)

    page.route(scripts, lambda route: route.abort("internetdisconnected"))
    page.reload()
    expect_state(page, "offline", "You seem to be offline")
    page.unroute(scripts)
    page.get_by_role("button", name="Try again").click()
    assert "Say hello" in catalog_titles(page)


def test_the_users_page_keeps_every_control_on_screen(sized_page, users):
    page = sized_page
    owner = users[Level.OWNER]
    now = timezone.now()
    Invitation.objects.create(
        email="a-rather-long-address-for-a-phone@example.com",
        level=Level.WRITE,
        invited_by=owner,
        expires_at=now + timedelta(days=7),
    )
    sign_in(page, owner, then="/users")
    reader = users[Level.READ_ONLY].username
    level = page.get_by_label(f"Level of {reader}")
    active = page.get_by_label(f"{reader} is active")
    revoke = page.get_by_role("button", name="Revoke the invitation to a-rather-long")
    width = page.viewport_size["width"]
    for control in (level, active, revoke):
        control.scroll_into_view_if_needed()
        expect(control).to_be_visible()
        box = control.bounding_box()
        assert box["x"] >= 0 and box["x"] + box["width"] <= width
    assert fits_the_width(page)
    header = page.locator("#users-table thead")
    if width < 600:  # cards: the column names are the cells' labels, the header is for readers
        assert header.bounding_box()["height"] <= 1
    else:
        assert header.bounding_box()["height"] > 20
