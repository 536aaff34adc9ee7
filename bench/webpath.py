"""The web side of a run, alone: `python bench/webpath.py` (DATABASE_URL: PostgreSQL, else a
fresh SQLite file).

In one process, with Django's test client (no HTTP, no sandbox): a stand-in worker thread,
woken by the queue's own wake-up (`scripts_api.wakeup.Waker`), marks each queued run
succeeded the moment it sees it and signals its end (`notify_finished`, where the code has
it), while the main thread submits 200 runs one after the other with `?wait=5`. It prints the
median and p95 latency of a submit-and-answer, the process's CPU time per run (web, watcher and
stand-in worker together) and the SQL statements of one submit with `?wait`. What it measures
is what the web adds to a run: the submit's statements, the wake-up of the waiting request,
the re-read and the serialisation.
"""

import os
import sys
import tempfile
import threading
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
WORK = Path(tempfile.mkdtemp(prefix="rbas-webpath-"))
os.environ.setdefault("DATABASE_URL", f"sqlite:///{WORK / 'webpath.sqlite3'}")
os.environ.update(
    {
        "DJANGO_SETTINGS_MODULE": "simple_rbas.settings",
        "DJANGO_READ_DOT_ENV_FILE": "false",
        "SECRET_KEY": "bench-only-secret-key-0123456789abcdef",
        "SCRIPTS_DIR": str(WORK / "scripts"),
        "LOG_LEVEL": "WARNING",
        "DEBUG": "false",
    }
)
(WORK / "scripts").mkdir()
(WORK / "scripts" / "noop.py").write_text(
    '"""Nothing"""\nPOLICY = "authenticated"\ndef main():\n    return 1\n'
)

import django  # noqa: E402

django.setup()

from django.core.management import call_command  # noqa: E402
from django.db import connection  # noqa: E402
from django.test.utils import CaptureQueriesContext  # noqa: E402
from django.utils import timezone  # noqa: E402
from rest_framework.test import APIClient  # noqa: E402

from scripts_api import wakeup  # noqa: E402
from scripts_api.models import Run, RunStatus  # noqa: E402
from scripts_api.services import scripts_sync  # noqa: E402
from users import sessions  # noqa: E402
from users.models import User  # noqa: E402

RUNS = 200
USER = {"username": "webpath", "password": "a-webpath-passphrase"}


def stand_in_worker(stop: threading.Event) -> None:
    waker = wakeup.Waker()
    try:
        while not stop.is_set():
            waker.wait(0.5)
            for pk in Run.objects.filter(status=RunStatus.QUEUED).values_list("pk", flat=True):
                Run.objects.filter(pk=pk).update(
                    status=RunStatus.SUCCEEDED, result=1, finished_at=timezone.now()
                )
                if hasattr(wakeup, "notify_finished"):
                    wakeup.notify_finished(pk)
    finally:
        waker.close()
        connection.close()


def main() -> None:
    call_command("migrate", verbosity=0)
    Run.objects.all().delete()
    scripts_sync()
    User.objects.filter(username=USER["username"]).delete()
    User.objects.create_user(**USER, level=3)
    issued = sessions.session_login(request=None, **USER)
    client = APIClient(HTTP_HOST="localhost")
    client.credentials(HTTP_AUTHORIZATION=f"Bearer {issued.access.raw}")
    stop = threading.Event()
    worker = threading.Thread(target=stand_in_worker, args=(stop,), daemon=True)
    worker.start()
    time.sleep(0.5)

    def one() -> float:
        started = time.perf_counter()
        response = client.post("/api/scripts/noop/runs/?wait=5", {}, format="json")
        if response.status_code != 200:
            raise SystemExit(f"unexpected answer: {response.status_code} {response.content!r}")
        return time.perf_counter() - started

    for _ in range(10):
        one()  # warm-up
    cpu = time.process_time()
    latencies = sorted(one() for _ in range(RUNS))
    cpu = time.process_time() - cpu
    with CaptureQueriesContext(connection) as queries:
        one()
    stop.set()
    worker.join()
    median, p95 = latencies[RUNS // 2] * 1000, latencies[int(RUNS * 0.95)] * 1000
    print(
        f"{connection.vendor}: {RUNS} sequential submit+wait: median {median:.2f} ms, "
        f"p95 {p95:.2f} ms, CPU {cpu / RUNS * 1000:.2f} ms/run, "
        f"{len(queries)} statements in the request"
    )


if __name__ == "__main__":
    main()
