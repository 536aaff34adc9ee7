"""The notifications page: a user subscribes by email and by webhook (the secret shown once),
sees the delivery log, and removes a subscription."""

from playwright.sync_api import expect

from notifications.models import Subscription
from tests.web.browser import needs_chromium, sign_in
from users.roles import Level

pytestmark = needs_chromium


def test_a_user_subscribes_sees_the_secret_once_and_unsubscribes(page, users, catalog, settings):
    settings.NOTIFICATION_WEBHOOK_ALLOW_HTTP = settings.NOTIFICATION_WEBHOOK_ALLOW_PRIVATE = True
    reader = users[Level.READ_ONLY]
    sign_in(page, reader, then="/account/notifications?script=hello")
    expect(page.locator("#subscriptions-empty")).to_be_visible()
    expect(page.get_by_label("Script", exact=True)).to_have_value("hello")
    expect(page.locator("#subscribe-scope-field")).to_be_hidden()  # not for read-only users
    page.get_by_role("button", name="Notify me").click()
    expect(page.locator("#notifications-message")).to_have_text(
        "You will be told when a run of hello fails or times out."
    )
    expect(page.locator("#secret-shown")).to_be_hidden()  # an email has no secret

    page.get_by_label("How", exact=True).select_option("webhook")
    page.get_by_label("When", exact=True).select_option("finish")
    page.get_by_label("Webhook URL (https://...)").fill("ftp://example.com/")
    page.get_by_role("button", name="Notify me").click()
    expect(page.locator("#error-subscribe-url")).to_contain_text("https://")
    page.get_by_label("Webhook URL (https://...)").fill("http://127.0.0.1:9/hook")
    page.get_by_role("button", name="Notify me").click()
    expect(page.locator("#secret-shown")).to_be_visible()
    webhook = Subscription.objects.get(channel="webhook")
    secret = page.locator("#secret-value").text_content()
    assert len(secret) == 64
    page.get_by_role("button", name="I have stored it").click()
    expect(page.locator("#secret-shown")).to_be_hidden()
    assert secret not in page.content()
    expect(page.locator("#subscriptions tr")).to_have_count(2)

    page.get_by_role("button", name="Remove the webhook notice for hello").click()
    expect(page.locator("#notifications-message")).to_have_text(
        "You will no longer be told about hello."
    )
    expect(page.locator("#subscriptions tr")).to_have_count(1)
    assert not Subscription.objects.filter(pk=webhook.pk).exists()
    # The browser logs the one refused URL's 400; nothing else went wrong.
    assert [error for error in page.console_errors if "400" not in error] == []
    assert len(page.console_errors) == 1


def test_an_admin_may_choose_everyones_runs(page, users, catalog):
    sign_in(page, users[Level.ADMIN], then="/account/notifications")
    page.get_by_label("Whose runs").select_option("all")
    page.get_by_role("button", name="Notify me").click()
    expect(page.locator("#subscriptions tr")).to_contain_text("Everyone's")
    assert Subscription.objects.get().scope == "all"
