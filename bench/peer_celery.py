"""The Celery app `bench/peers.py` starts a worker of (`celery -A peer_celery worker`): Redis as
broker and result backend (PEERS_REDIS_URL), one queue (PEERS_CELERY_QUEUE)."""

import os

from celery import Celery
from peer_jobs import noop, work

REDIS_URL = os.environ.get("PEERS_REDIS_URL", "redis://127.0.0.1:6379/0")

app = Celery("peer_celery", broker=REDIS_URL, backend=REDIS_URL)
app.conf.update(
    task_default_queue=os.environ.get("PEERS_CELERY_QUEUE", "rbas-bench-peers"),
    broker_connection_retry_on_startup=True,
    result_expires=600,
    worker_hijack_root_logger=False,
)

celery_work = app.task(name="peer_celery.work")(work)
celery_noop = app.task(name="peer_celery.noop")(noop)
