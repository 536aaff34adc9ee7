"""End to end through a real `manage.py db_worker`: a script fails, and its subscribers hear
of it at a real SMTP server and a real webhook receiver."""

from notifications.models import Delivery
from scripts_api.services import scripts_sync
from tests.conftest import wait_for
from users.roles import Level

FAILING = '''"""Break

Always fails.
"""
POLICY = "authenticated"

def main():
    raise RuntimeError("the ledger does not balance")
'''


def test_a_failing_run_on_a_real_worker_is_emailed_and_posted(
    catalog, users, bearer_client, start_worker, mail_server, receivers, settings
):
    (catalog / "break.py").write_text(FAILING)
    scripts_sync()
    receiver = receivers()
    settings.NOTIFICATION_WEBHOOK_ALLOW_HTTP = settings.NOTIFICATION_WEBHOOK_ALLOW_PRIVATE = True
    user = users[Level.READ_ONLY]
    client = bearer_client(user)
    for fields in ({"channel": "email"}, {"channel": "webhook", "url": receiver.url}):
        response = client.post(
            "/api/notifications/subscriptions/",
            {"script": "break", "on": "failure", **fields},
            format="json",
        )
        assert response.status_code == 201, response.json()
        secret = response.json()["secret"] or ""
    start_worker(
        SECRET_KEY=settings.SECRET_KEY,  # decrypts the webhook's secret
        EMAIL_URL=mail_server.url,
        NOTIFICATION_WEBHOOK_ALLOW_HTTP="true",
        NOTIFICATION_WEBHOOK_ALLOW_PRIVATE="true",
    )
    run = client.post("/api/scripts/break/runs/?wait=20", {}, format="json").json()
    assert run["status"] == "failed", run
    message = mail_server.wait_for(user.email, timeout=20)
    assert "Break: run failed" in message.subject
    request = receiver.wait_for(timeout=20)
    assert request.signed_with(secret)
    assert request.json["run"]["id"] == run["id"]
    assert "ledger" not in request.body.decode()  # no output or error text in the body
    wait_for(lambda: set(Delivery.objects.values_list("status", flat=True)) == {"delivered"})
    assert Delivery.objects.count() == 2
