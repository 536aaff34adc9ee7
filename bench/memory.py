"""Benchmark of memory with large outputs: `make bench-memory`.

Starts the real server (`run_web.sh`: gunicorn with two web workers and EMBEDDED_WORKERS=0, as
in the stack) and one real `manage.py db_worker` on a fresh SQLite file, or on a fresh scratch
database of the PostgreSQL server that DATABASE_URL names, and measures:
  1. the queue worker's peak RSS (VmHWM) while it stores a run's 50 MiB artifact, and its RSS
     afterwards;
  2. the web workers' peak RSS while one of them serves that artifact's download (the file is
     checked against the SHA-256 the script computed);
  3. the size of `GET /api/runs/?page_size=100` over 20 runs that printed 1 MB each, and the web
     workers' peak RSS while answering it.
Peaks are reset before each step (`/proc/<pid>/clear_refs`) so that each figure is that step's.
"""

import hashlib
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time
import uuid
from contextlib import contextmanager
from pathlib import Path

import environ
import psycopg
import requests
from server import ROOT, free_port, sign_in, start_server

ARTIFACT_BYTES = 50 * 1024 * 1024
PRINTED_BYTES = 1_000_000
PRINTING_RUNS = 20
SCRIPTS = {
    "bench_artifact.py": (
        '"""Write a 50 MiB artifact"""\n'
        "import hashlib, os\n"
        'POLICY = "authenticated"\n'
        "TIMEOUT_SECONDS = 120\n"
        "def main(size: int = 0):\n"
        "    digest = hashlib.sha256()\n"
        '    with open(os.path.join(os.environ["RBAS_OUTPUT_DIR"], "big.bin"), "wb") as out:\n'
        "        for _ in range(size // (1 << 20)):\n"
        "            block = os.urandom(1 << 20)\n"
        "            digest.update(block)\n"
        "            out.write(block)\n"
        "    return digest.hexdigest()\n"
    ),
    "bench_print.py": (
        '"""Print a lot"""\n'
        'POLICY = "authenticated"\n'
        "def main(size: int = 0):\n"
        '    print("x" * (size - 1))\n'
        "    return size\n"
    ),
}


@contextmanager
def fresh_database(workdir: Path):
    """A fresh SQLite file, or a scratch database on DATABASE_URL's PostgreSQL server."""
    url = os.environ.get("DATABASE_URL", "")
    if not url.startswith(("postgres://", "postgresql://")):
        yield f"sqlite:///{workdir / 'bench.sqlite3'}"
        return
    config = environ.Env.db_url_config(url)
    name = f"rbas_bench_{uuid.uuid4().hex[:12]}"
    admin = psycopg.connect(
        host=config["HOST"], port=config["PORT"] or 5432, user=config["USER"],
        password=config["PASSWORD"], dbname="postgres", autocommit=True,
    )  # fmt: skip
    with admin.cursor() as cursor:
        cursor.execute(f'CREATE DATABASE "{name}"')
    try:
        yield url.rsplit("/", 1)[0] + f"/{name}"
    finally:
        with admin.cursor() as cursor:
            cursor.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        admin.close()


def memory(pid: int) -> dict[str, int]:
    """VmRSS and VmHWM (peak RSS) of a process, in kB."""
    fields = {}
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        key, _, value = line.partition(":")
        if key in ("VmRSS", "VmHWM"):
            fields[key] = int(value.split()[0])
    return fields


def reset_peak(pids: list[int]) -> None:
    """Start each process's VmHWM afresh (Linux: write 5 to clear_refs)."""
    for pid in pids:
        Path(f"/proc/{pid}/clear_refs").write_text("5")


def children(pid: int) -> list[int]:
    found = []
    for task in Path(f"/proc/{pid}/task").iterdir():
        found += [int(child) for child in (task / "children").read_text().split()]
    return found


def mb(kilobytes: int) -> str:
    return f"{kilobytes / 1024:.0f} MB"


def start(workdir: Path, database_url: str, port: int):
    """gunicorn through `run_web.sh` (two web workers, no embedded queue workers, as in the
    stack), then one `manage.py db_worker` beside it."""
    server = start_server(
        workdir, port, SCRIPTS, DATABASE_URL=database_url, WEB_CONCURRENCY="2",
        EMBEDDED_WORKERS="0", MAX_ACTIVE_RUNS_PER_USER=str(PRINTING_RUNS + 1),
    )  # fmt: skip
    env = {
        "PATH": os.environ["PATH"],
        "DJANGO_READ_DOT_ENV_FILE": "false",
        "SECRET_KEY": "bench-only-secret-key-0123456789abcdef",
        "DATABASE_URL": database_url,
        "LOG_LEVEL": "WARNING",
    }
    with (workdir / "worker.log").open("wb") as log:
        worker = subprocess.Popen(
            [sys.executable, "manage.py", "db_worker", "--no-reload"], cwd=ROOT, env=env,
            stdout=log, stderr=subprocess.STDOUT, start_new_session=True,
        )  # fmt: skip
    time.sleep(3)  # let the worker start its sandbox server
    return server, worker


def finish(session: requests.Session, url: str, slug: str, size: int) -> dict:
    """Run `slug` with `size` and wait until it succeeded."""
    run = session.post(
        f"{url}/api/scripts/{slug}/runs/", json={"params": {"size": size}}, timeout=30
    )
    run.raise_for_status()
    run_id = run.json()["id"]
    deadline = time.monotonic() + 300
    while time.monotonic() < deadline:
        body = session.get(f"{url}/api/runs/{run_id}/?wait=30", timeout=40).json()
        if body["status"] not in ("queued", "running"):
            if body["status"] != "succeeded":
                raise SystemExit(f"{slug} ended {body['status']}: {body['error']}")
            return body
    raise SystemExit(f"{slug} did not finish")


def main() -> None:
    workdir = Path(tempfile.mkdtemp(prefix="rbas-bench-memory-"))
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    with fresh_database(workdir) as database_url:
        engine = database_url.split(":", 1)[0]
        server, worker = start(workdir, database_url, port)
        try:
            web = children(server.pid)
            session = requests.Session()
            session.headers["Authorization"] = f"Bearer {sign_in(url)}"
            print(f"{engine}; pids: worker {worker.pid}, web workers {web}")
            print(f"idle: worker {mb(memory(worker.pid)['VmRSS'])}, web workers "
                  f"{', '.join(mb(memory(pid)['VmRSS']) for pid in web)} RSS")  # fmt: skip

            reset_peak([worker.pid])
            started = time.perf_counter()
            run = finish(session, url, "bench-artifact", ARTIFACT_BYTES)
            after = memory(worker.pid)
            print(f"storing a {ARTIFACT_BYTES >> 20} MiB artifact: worker peak "
                  f"{mb(after['VmHWM'])}, {mb(after['VmRSS'])} afterwards "
                  f"(run took {time.perf_counter() - started:.1f} s)")  # fmt: skip

            reset_peak(web)
            started = time.perf_counter()
            digest, received = hashlib.sha256(), 0
            with session.get(run["artifacts"][0]["url"], stream=True, timeout=120) as download:
                download.raise_for_status()
                for block in download.iter_content(1 << 16):
                    digest.update(block)
                    received += len(block)
            if digest.hexdigest() != run["result"] or received != ARTIFACT_BYTES:
                raise SystemExit("the downloaded artifact differs from what the script wrote")
            peaks = [memory(pid)["VmHWM"] for pid in web]
            print(f"downloading it: web worker peak {mb(max(peaks))} "
                  f"(in {time.perf_counter() - started:.1f} s, byte-identical)")  # fmt: skip

            for _ in range(PRINTING_RUNS):
                finish(session, url, "bench-print", PRINTED_BYTES)
            reset_peak(web)
            listing = session.get(f"{url}/api/runs/?page_size=100", timeout=120)
            listing.raise_for_status()
            peaks = [memory(pid)["VmHWM"] for pid in web]
            print(f"GET /api/runs/?page_size=100 over {len(listing.json()['results'])} runs "
                  f"({PRINTING_RUNS} printed {PRINTED_BYTES} bytes each): "
                  f"{len(listing.content)} bytes; web worker peak {mb(max(peaks))}")  # fmt: skip
        finally:
            for process in (worker, server):
                os.killpg(process.pid, signal.SIGTERM)
            for process in (worker, server):
                process.wait(timeout=60)
            shutil.rmtree(workdir, ignore_errors=True)


if __name__ == "__main__":
    main()
