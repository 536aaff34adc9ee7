"""The queue task that makes one attempt of a delivery (`manage.py db_worker` runs it)."""

from django_tasks import task

# Beside the account emails, ahead of script runs: a notice should not wait behind a report.
NOTIFICATION_PRIORITY = 10


@task(priority=NOTIFICATION_PRIORITY)
def deliver(delivery_id: str) -> str:
    """Try delivery `delivery_id` once; queues the next attempt itself when this one fails."""
    from notifications.delivery import delivery_attempt

    return delivery_attempt(delivery_id=delivery_id)
