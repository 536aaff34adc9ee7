"""Accounts by email in a real browser: the live server queues the emails, a real worker
process sends them through a real SMTP server (tests/smtp.py), and the browser opens the link
that arrived. Skipped, and said so, where Chromium is not installed."""

import re

import pytest
from django.utils.encoding import force_bytes
from django.utils.http import urlsafe_base64_encode
from playwright.sync_api import expect

from tests.conftest import PASSWORD, wait_for
from tests.web.browser import catalog_titles, needs_chromium, sign_in
from users import links
from users.models import Invitation, User
from users.roles import Level

pytestmark = needs_chromium

NEW_PASSWORD = "a-brand-new-passphrase-42"
RESET_QUEUED = "If an account uses this address, a link to choose a new password is on its way."
LINK_PAGES = ["/forgot-password", "/reset-password", "/verify-email", "/invitation"]


@pytest.fixture
def mailing(smtp, start_worker, live_server, settings):
    """Email goes out for real: requests queue it, a worker process sends it to the SMTP server
    with links to the live server. The worker signs the links with the live server's key."""
    settings.PUBLIC_URL = live_server.url
    start_worker(EMAIL_URL=smtp.url, PUBLIC_URL=live_server.url, SECRET_KEY=settings.SECRET_KEY)
    return smtp


def arrived(mailing, address: str, count: int = 1):
    """The latest of `count` messages for `address` (workers poll, so give them time)."""
    return mailing.wait_for(address, count=count, timeout=30)


def test_an_invitation_is_sent_accepted_and_used_to_sign_in(
    page, open_page, users, mailing, live_server
):
    admin = users[Level.ADMIN]
    sign_in(page, admin, then="/users")
    invite = page.locator("#invite-form")
    invite.get_by_label("Email").fill("newcomer@example.com")
    invite.get_by_label("Level").select_option("Read/Write")
    invite.get_by_role("button", name="Invite").click()
    expect(page.locator("#invitations-message")).to_have_text(
        "Invited newcomer@example.com as Read/Write: the email is on its way."
    )
    row = page.locator("#invitations tr", has_text="newcomer@example.com")
    expect(row).to_contain_text("pending")

    message = arrived(mailing, "newcomer@example.com")
    assert message.link.startswith(f"{live_server.url}/invitation#")
    invitee = open_page()  # someone else, on another device
    invitee.goto(message.link)
    expect(invitee.locator("#invitation-summary")).to_contain_text(
        f"{admin.username} invites you to join as Read/Write with newcomer@example.com."
    )
    assert invitee.url == f"{live_server.url}/invitation"  # the token left the address bar
    invitee.get_by_label("Username").fill("newcomer")
    invitee.get_by_label("Password", exact=True).fill(NEW_PASSWORD)
    invitee.get_by_label("Repeat the password").fill(NEW_PASSWORD)
    invitee.get_by_label("First name").fill("Nina")
    invitee.get_by_role("button", name="Create my account").click()

    invitee.wait_for_url(re.compile(r"/login\?username=newcomer$"))
    expect(invitee.get_by_label("Username").first).to_have_value("newcomer")
    invitee.get_by_label("Password").first.fill(NEW_PASSWORD)
    invitee.locator("#login-form button[type=submit]").click()
    invitee.wait_for_url(re.compile(r"^[^?]*/$"))
    assert catalog_titles(invitee) == {"Say hello", "Sleep a while", "Price quote", "Write files"}
    assert invitee.console_errors == []

    wait_for(lambda: Invitation.objects.get(email="newcomer@example.com").delivered_at)
    page.reload()
    expect(row).to_contain_text("accepted")
    expect(row).to_contain_text("Delivered")
    expect(row.get_by_role("button")).to_have_count(0)  # nothing left to resend or revoke
    assert page.console_errors == []
    assert User.objects.get(username="newcomer").first_name == "Nina"


def test_a_forgotten_password_is_reset_by_email_and_every_old_session_ends(
    page, open_page, users, mailing, live_server
):
    reader = users[Level.READ_ONLY]
    sign_in(page, reader)  # a session on one device...
    assert catalog_titles(page)

    other = open_page()  # ...and the forgotten password on another
    other.goto("/login")
    other.get_by_role("link", name="Forgot password?").click()
    other.wait_for_url(re.compile(r"/forgot-password$"))
    other.get_by_label("Email").fill(reader.email)
    other.get_by_role("button", name="Send me a link").click()
    expect(other.locator("#forgot-sent")).to_contain_text(RESET_QUEUED)

    message = arrived(mailing, reader.email)
    other.goto(message.link)
    assert other.url == f"{live_server.url}/reset-password"
    new, repeat = other.get_by_label("New password", exact=True), other.get_by_label("Repeat")
    new.fill(NEW_PASSWORD)
    repeat.fill(NEW_PASSWORD + "!")
    other.get_by_role("button", name="Change password").click()
    expect(other.locator("#error-reset-repeat_password")).to_have_text(
        "The two passwords are not the same."
    )
    new.fill("short")
    repeat.fill("short")
    other.get_by_role("button", name="Change password").click()
    expect(other.locator("#error-reset-new_password")).to_contain_text("too short")
    other.console_errors.clear()  # the browser reports the refused request itself
    new.fill(NEW_PASSWORD)
    repeat.fill(NEW_PASSWORD)
    other.get_by_role("button", name="Change password").click()
    done = other.locator("#reset-done")
    expect(done).to_contain_text("Password changed. Sign in")
    done.get_by_role("link", name="Sign in").click()
    other.wait_for_url(re.compile(r"/login$"))
    other.get_by_label("Username").first.fill(reader.username)
    other.get_by_label("Password").first.fill(NEW_PASSWORD)
    other.locator("#login-form button[type=submit]").click()
    assert catalog_titles(other) == {"Say hello", "Sleep a while"}
    assert other.console_errors == []

    page.reload()  # the first device's session ended with the reset
    page.wait_for_url(re.compile(r"/login\?next=%2F$"))
    page.get_by_label("Username").first.fill(reader.username)
    page.get_by_label("Password").first.fill(PASSWORD)
    page.locator("#login-form button[type=submit]").click()
    expect(page.locator("#error-login-form")).to_have_text("Invalid credentials.")


def test_a_signup_is_limited_until_the_emailed_link_confirms_its_address(page, mailing):
    page.goto("/login")
    page.get_by_text("No account yet? Create one").click()
    page.locator("#signup-username").fill("newcomer")
    page.locator("#signup-email").fill("newcomer@example.com")
    page.locator("#signup-password").fill("a-long-and-unusual-passphrase")
    page.get_by_role("button", name="Create account").click()
    page.wait_for_url(re.compile(r"^[^?]*/$"))
    panel = page.locator("#verify-email-panel")
    expect(panel).to_contain_text(
        "Confirm your email address: we sent a link to newcomer@example.com."
    )
    expect(page.locator("#catalog")).to_be_hidden()  # instead of the API's 403s
    page.goto("/account")  # the account page works, and says the same
    expect(page.locator("#email-status")).to_have_text(
        "newcomer@example.com is not confirmed yet: follow the link we sent to it."
    )
    panel.get_by_role("button", name="Send a new link").click()
    expect(page.locator("#verify-email-status")).to_have_text(
        "A new link is on its way to newcomer@example.com."
    )

    message = arrived(mailing, "newcomer@example.com", count=2)
    page.goto(message.link)
    expect(page.locator("#verify-result")).to_contain_text("Your email address is confirmed.")
    assert "#" not in page.url
    page.get_by_role("link", name="Continue to simple RBAS").click()
    assert catalog_titles(page) == {"Say hello", "Sleep a while"}
    expect(panel).to_be_hidden()
    assert page.console_errors == []


def test_a_changed_email_address_is_confirmed_from_the_account_page(page, users, mailing):
    reader = users[Level.READ_ONLY]
    User.objects.filter(pk=reader.pk).update(email_verified=True)
    sign_in(page, reader, then="/account")
    email = page.get_by_label("Email")
    expect(email).to_have_value(reader.email)  # the page has filled the form in
    expect(page.locator("#email-status")).to_have_text(f"{reader.email} is confirmed.")
    expect(page.get_by_role("button", name="Send a new link")).to_be_hidden()
    email.fill("moved@example.com")
    page.get_by_role("button", name="Save").click()
    expect(page.locator("#profile-saved")).to_have_text(
        "Saved. We sent a link to moved@example.com: follow it to confirm the new address."
    )
    expect(page.locator("#email-status")).to_contain_text("moved@example.com is not confirmed yet")
    assert "was changed" in arrived(mailing, reader.email).text.lower()  # the old address knows
    arrived(mailing, "moved@example.com")
    page.get_by_role("button", name="Send a new link").click()
    expect(page.locator("#email-resend-status")).to_have_text(
        "A new link is on its way to moved@example.com."
    )

    page.goto(arrived(mailing, "moved@example.com", count=2).link)
    expect(page.locator("#verify-result")).to_contain_text("Your email address is confirmed.")
    page.goto("/account")
    expect(page.locator("#email-status")).to_have_text("moved@example.com is confirmed.")
    expect(page.get_by_role("button", name="Send a new link")).to_be_hidden()
    assert page.console_errors == []


def test_level_changes_and_deactivations_wait_for_a_confirmation(page, users):
    reader = users[Level.READ_ONLY]
    sign_in(page, users[Level.ADMIN], then="/users")
    page.get_by_label("Search users").fill(reader.username)
    page.get_by_role("button", name="Search").click()
    expect(page.locator("#users tr")).to_have_count(1)
    dialog = page.get_by_role("dialog")
    said = page.locator("#users-message")

    level = page.get_by_label(f"Level of {reader.username}")
    level.select_option("Read/Write")
    expect(dialog).to_contain_text(f"{reader.username} goes from Read Only to Read/Write")
    dialog.get_by_role("button", name="Cancel").click()
    expect(dialog).to_be_hidden()
    expect(level).to_have_value("4")
    expect(said).to_have_text(f"Not changed: {reader.username} stays Read Only.")
    reader.refresh_from_db()
    assert reader.level == Level.READ_ONLY
    level.select_option("Read/Write")
    dialog.get_by_role("button", name="Change level").click()
    expect(said).to_have_text(f"Saved {reader.username}.")
    reader.refresh_from_db()
    assert reader.level == Level.WRITE

    active = page.get_by_label(f"{reader.username} is active")
    active.click()
    expect(dialog).to_contain_text("Deactivate this user?")
    page.keyboard.press("Escape")  # cancels, as the Cancel button does
    expect(dialog).to_be_hidden()
    expect(active).to_be_checked()
    reader.refresh_from_db()
    assert reader.is_active
    active.click()
    dialog.get_by_role("button", name="Deactivate").click()
    expect(said).to_have_text(f"Saved {reader.username}.")
    expect(active).not_to_be_checked()
    reader.refresh_from_db()
    assert not reader.is_active
    assert page.console_errors == []


def test_an_admin_creates_a_user_who_chooses_a_password_from_the_email(
    page, open_page, users, mailing, live_server
):
    admin = users[Level.ADMIN]
    sign_in(page, admin, then="/users")
    create = page.locator("#create-form")
    create.get_by_label("Username").fill("casey")
    create.get_by_label("Email").fill("casey@example.com")
    create.get_by_label("Level").select_option("Read/Write")
    create.get_by_role("button", name="Create user").click()
    dialog = page.get_by_role("dialog")
    expect(dialog).to_contain_text("casey (casey@example.com) joins as Read/Write.")
    dialog.get_by_role("button", name="Cancel").click()
    expect(dialog).to_be_hidden()
    assert not User.objects.filter(username="casey").exists()
    create.get_by_role("button", name="Create user").click()
    dialog.get_by_role("button", name="Create user").click()
    expect(page.locator("#create-message")).to_have_text(
        "Created casey: a link to choose a password is on its way to casey@example.com."
    )
    expect(page.locator("#users tr", has_text="casey@example.com")).to_have_count(1)
    assert page.console_errors == []

    message = arrived(mailing, "casey@example.com")
    assert message.link.startswith(f"{live_server.url}/reset-password#")
    casey = open_page()
    casey.goto(message.link)
    casey.get_by_label("New password", exact=True).fill(NEW_PASSWORD)
    casey.get_by_label("Repeat the new password").fill(NEW_PASSWORD)
    casey.get_by_role("button", name="Change password").click()
    casey.locator("#reset-done").get_by_role("link", name="Sign in").click()
    casey.get_by_label("Username").first.fill("casey")
    casey.get_by_label("Password").first.fill(NEW_PASSWORD)
    casey.locator("#login-form button[type=submit]").click()
    assert catalog_titles(casey) == {"Say hello", "Sleep a while", "Price quote", "Write files"}
    assert casey.console_errors == []


def test_an_invitation_is_sent_again_or_revoked_after_a_confirmation(page, users):
    sign_in(page, users[Level.ADMIN], then="/users")
    invite = page.locator("#invite-form")
    invite.get_by_label("Email").fill("maybe@example.com")
    invite.get_by_role("button", name="Invite").click()
    row = page.locator("#invitations tr", has_text="maybe@example.com")
    expect(row).to_contain_text("Read Only")
    expect(row).to_contain_text("Waiting to be sent")  # no worker runs in this test
    said = page.locator("#invitations-message")

    page.get_by_role("button", name="Resend the invitation to maybe@example.com").click()
    expect(said).to_have_text(
        "Sent again to maybe@example.com; the link sent before no longer works."
    )
    assert Invitation.objects.get(email="maybe@example.com").send_count == 2

    dialog = page.get_by_role("dialog")
    revoke = page.get_by_role("button", name="Revoke the invitation to maybe@example.com")
    revoke.click()
    expect(dialog).to_contain_text("The link sent to maybe@example.com stops working.")
    dialog.get_by_role("button", name="Cancel").click()
    expect(said).to_have_text("The invitation to maybe@example.com is unchanged.")
    assert Invitation.objects.get(email="maybe@example.com").status == Invitation.Status.PENDING
    revoke.click()
    dialog.get_by_role("button", name="Revoke").click()
    expect(said).to_have_text("Revoked the invitation to maybe@example.com.")
    expect(row).to_contain_text("revoked")
    expect(row.get_by_role("button")).to_have_count(0)
    assert Invitation.objects.get(email="maybe@example.com").status == Invitation.Status.REVOKED

    invite.get_by_label("Email").fill(users[Level.WRITE].email)  # an account has it
    invite.get_by_role("button", name="Invite").click()
    expect(page.locator("#error-invite-email")).not_to_be_empty()
    page.console_errors.clear()  # the browser reports the refused request itself


@pytest.mark.parametrize("path", LINK_PAGES)
def test_the_pages_of_emailed_links_need_no_sign_in(page, live_server, path):
    page.goto(path)
    page.wait_for_load_state("networkidle")
    assert page.url == f"{live_server.url}{path}"
    if path != "/forgot-password":  # the others need the link's token
        expect(page.get_by_text("works only with the link we emailed you")).to_be_visible()
    assert page.console_errors == []


@pytest.mark.parametrize(
    ("path", "says"), [("/invitation", "#link-problem"), ("/verify-email", "#verify-result")]
)
def test_a_link_that_is_not_valid_is_refused_plainly(page, path, says, db):
    page.goto(f"{path}#MQ.not-a-token")
    expect(page.locator(says)).to_contain_text(
        "This link is not valid: it was already used, replaced or mistyped."
    )
    assert not page.url.endswith("#MQ.not-a-token")
    page.console_errors.clear()  # the browser reports the refused request itself


def expired_reset_token(user: User) -> str:
    """A genuine reset token for `user`, made two hours ago (links live an hour or less here)."""
    generator = links.password_reset_tokens
    issued = generator._num_seconds(generator._now()) - 2 * 3600
    token = generator._make_token_with_timestamp(user, issued, generator.secret)
    return f"{urlsafe_base64_encode(force_bytes(user.pk))}.{token}"


def test_an_expired_reset_link_leads_to_asking_for_a_new_one(page, users, settings, live_server):
    settings.PASSWORD_RESET_MINUTES = 60
    page.goto(f"/reset-password#{expired_reset_token(users[Level.READ_ONLY])}")
    page.get_by_label("New password", exact=True).fill(NEW_PASSWORD)
    page.get_by_label("Repeat the new password").fill(NEW_PASSWORD)
    page.get_by_role("button", name="Change password").click()
    problem = page.locator("#link-problem")
    expect(problem).to_contain_text("This link has expired.")
    expect(page.locator("#reset-form")).to_be_hidden()
    page.console_errors.clear()
    problem.get_by_role("link", name="Ask for a new link").click()
    page.wait_for_url(f"{live_server.url}/forgot-password")


def test_asking_too_often_for_a_reset_link_says_so(page, users):
    page.goto("/forgot-password")
    email, sent = page.get_by_label("Email"), page.locator("#forgot-sent")
    for address in ("nobody@example.com", *[users[Level.READ_ONLY].email] * 3):
        email.fill(address)  # the same answer for an address no account uses
        page.get_by_role("button", name="Send me a link").click()
        expect(sent).to_contain_text(RESET_QUEUED)
    page.get_by_role("button", name="Send me a link").click()  # a fourth link for one address
    expect(page.locator("#error-forgot-form")).to_contain_text("Too many links were asked for")
    expect(sent).to_be_empty()
    page.console_errors.clear()


def test_the_pages_of_emailed_links_fit_a_phone_screen(open_page, db):
    phone = open_page(viewport={"width": 360, "height": 740}, is_mobile=True)
    for path in LINK_PAGES:
        phone.goto(path)
        phone.wait_for_load_state("networkidle")
        width = phone.evaluate("document.documentElement.scrollWidth")
        assert width <= 360, (path, width)
