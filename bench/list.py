"""Benchmark of the run list at a thousand and a million runs: `make bench-list`.

Starts the real server (`run_web.sh`, one web worker, no queue worker) once per table size, each
on a PostgreSQL database of its own (`<name>_1k`, `<name>_100k`, `<name>_1m`, where the name is
DATABASE_URL's database, or `rbas_bench_list` on the local server), fills its runs table with
`INSERT ... SELECT generate_series` (four users, three scripts, 2 % failed and 0.5 % cancelled
runs, pairs of runs sharing one `created_at`), and times `GET /api/runs/` through HTTP:
  - the first page (20 runs), as the admin (everyone's), with `?user=`, `?script=`, `?status=`,
    and as a user without the admin policy (only their own runs, `?script=` too);
  - a deep page: the page starting half-way down the table (its cursor made from the middle
    row, as a `next` link would say it).
The sizes are measured interleaved (one request to each server in turn, REQUESTS rounds), so
that the machine's noise falls on all of them alike; it prints the p50 per size and the ratio
of the largest size to the smallest (the goal: within 1.2). A SQLite file of 100k runs is
measured alongside, for information.

`BENCH_ROOT=<checkout>` measures another checkout's server against the same tables (before and
after a change); a server without the cursor (`?page=`, with a count) gets its deep page by
number instead.
"""

import base64
import os
import shutil
import signal
import sqlite3
import statistics
import sys
import tempfile
import time
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

import psycopg
import requests
import server as bench_server
from server import free_port, percentile, sign_in, start_server

if os.environ.get("BENCH_ROOT"):
    bench_server.ROOT = Path(os.environ["BENCH_ROOT"]).resolve()

SIZES = {"1k": 1_000, "100k": 100_000, "1m": 1_000_000}
SQLITE_SIZE = 100_000
if os.environ.get("BENCH_LIST_QUICK"):  # a smoke test of the benchmark itself
    SIZES, SQLITE_SIZE = {"1k": 1_000, "5k": 5_000, "20k": 20_000}, 5_000
REQUESTS = int(os.environ.get("BENCH_LIST_REQUESTS", "60"))
USERS = 4
PASSWORD = "a-bench-user-passphrase"  # noqa: S105
SCRIPTS = {
    f"bench_{name}.py": f'"""{name}"""\nPOLICY = "authenticated"\ndef main():\n    return 1\n'
    for name in ("alpha", "beta", "gamma")
}

# One row per g: user, script and status cycle; created_at advances 1 ms every two rows (ties).
INSERT = """
INSERT INTO scripts_api_run (
    id, script_id, script_version, user_id, params, status, result, stdout, stderr, exit_code,
    error, artifacts, created_at, started_at, finished_at, stage, worker_id, progress_message,
    output_version
)
SELECT {uuid}, (%(scripts)s::int[])[1 + mod(g, 3)], 'v1',
    (%(users)s::int[])[1 + mod(g, {users})], '{{}}',
    CASE WHEN mod(g, 200) = 7 THEN 'cancelled' WHEN mod(g, 50) = 3 THEN 'failed'
         ELSE 'succeeded' END,
    NULL, '', '', 0, '', '[]', {at}, {at}, {at}, '', '', '', 0
FROM generate_series(%(first)s::int, %(last)s::int) AS g
"""


def database_urls() -> dict[str, str]:
    """The URL of each size's scratch database (created empty)."""
    base = os.environ.get("DATABASE_URL", "postgres://postgres@127.0.0.1:5432/rbas_bench_list")
    parts = urlsplit(base)
    if parts.scheme not in ("postgres", "postgresql"):
        raise SystemExit("bench/list.py measures PostgreSQL: DATABASE_URL must name one")
    name = parts.path.lstrip("/") or "rbas_bench_list"
    admin = urlunsplit(parts._replace(path="/postgres"))
    urls = {}
    with psycopg.connect(admin, autocommit=True) as connection:
        for size in SIZES:
            database = f"{name}_{size}"
            connection.execute(f'DROP DATABASE IF EXISTS "{database}" WITH (FORCE)')
            connection.execute(f'CREATE DATABASE "{database}"')
            urls[size] = urlunsplit(parts._replace(path=f"/{database}"))
    return urls


def make_users(url: str, token: str) -> list[int]:
    """USERS users without the admin policy (their ids), the owner first."""
    headers = {"Authorization": f"Bearer {token}"}
    me = requests.get(f"{url}/api/auth/me/", headers=headers, timeout=10).json()
    ids = [me["id"]]
    for i in range(1, USERS):
        body = {"username": f"bench-user-{i}", "email": f"bench-user-{i}@example.com",
                "password": PASSWORD, "level": 3}  # fmt: skip
        response = requests.post(f"{url}/api/users/", json=body, headers=headers, timeout=10)
        response.raise_for_status()
        ids.append(response.json()["id"])
    return ids


def fill_postgres(database_url: str, users: list[int], rows: int) -> float:
    """Insert `rows` runs; seconds taken."""
    started = time.perf_counter()
    sql = INSERT.format(
        uuid="gen_random_uuid()",
        users=USERS,
        at="timestamptz '2025-01-01 00:00:00+00' + (g / 2) * interval '1 millisecond'",
    )
    with psycopg.connect(database_url, autocommit=True) as connection:
        scripts = [
            row[0]
            for row in connection.execute(
                "SELECT id FROM scripts_api_script WHERE slug LIKE 'bench-%' ORDER BY slug"
            )
        ]
        connection.execute(sql, {"scripts": scripts, "users": users, "first": 1, "last": rows})
        connection.execute("VACUUM ANALYZE scripts_api_run")
    return time.perf_counter() - started


def fill_sqlite(path: Path, users: list[int], rows: int) -> float:
    """Insert `rows` runs into the SQLite file; seconds taken."""
    started = time.perf_counter()
    connection = sqlite3.connect(path)
    scripts = [
        row[0]
        for row in connection.execute(
            "SELECT id FROM scripts_api_script WHERE slug LIKE 'bench-%' ORDER BY slug"
        )
    ]
    user_case = " ".join(f"WHEN {i} THEN {u}" for i, u in enumerate(users))
    script_case = " ".join(f"WHEN {i} THEN {s}" for i, s in enumerate(scripts))
    at = "strftime('%Y-%m-%d %H:%M:%f', '2025-01-01', ((g / 2) / 1000.0) || ' seconds') || '000'"
    connection.execute(
        f"""
        WITH RECURSIVE series(g) AS (SELECT 1 UNION ALL SELECT g + 1 FROM series WHERE g < ?)
        INSERT INTO scripts_api_run (
            id, script_id, script_version, user_id, params, status, result, stdout, stderr,
            exit_code, error, artifacts, created_at, started_at, finished_at, stage, worker_id,
            progress_message, output_version
        )
        SELECT lower(hex(randomblob(16))), CASE g % 3 {script_case} END, 'v1',
            CASE g % {USERS} {user_case} END, '{{}}',
            CASE WHEN g % 200 = 7 THEN 'cancelled' WHEN g % 50 = 3 THEN 'failed'
                 ELSE 'succeeded' END,
            NULL, '', '', 0, '', '[]', {at}, {at}, {at}, '', '', '', 0
        FROM series
        """,  # noqa: S608 (numbers from the database, not input)
        (rows,),
    )
    connection.commit()
    connection.execute("ANALYZE")
    connection.close()
    return time.perf_counter() - started


class Target:
    """One server over one table size, and its sessions (the admin's and a user's)."""

    def __init__(self, label: str, rows: int, workdir: Path, database_url: str | None):
        self.label, self.rows, self.workdir = label, rows, workdir
        workdir.mkdir()
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        env = {"EMBEDDED_WORKERS": "0", "WEB_CONCURRENCY": "1"}
        if database_url:
            env["DATABASE_URL"] = database_url
        self.database_url = database_url
        self.process = start_server(workdir, self.port, SCRIPTS, **env)
        self.admin = requests.Session()
        self.admin.headers["Authorization"] = f"Bearer {sign_in(self.url)}"
        self.users = make_users(self.url, self.admin.headers["Authorization"].split()[1])
        self.user = requests.Session()
        login = {"username": "bench-user-1", "password": PASSWORD}
        token = requests.post(f"{self.url}/api/auth/login/", json=login, timeout=10).json()
        self.user.headers["Authorization"] = f"Bearer {token['access_token']}"

    def fill(self) -> float:
        if self.database_url:
            return fill_postgres(self.database_url, self.users, self.rows)
        return fill_sqlite(self.workdir / "bench.sqlite3", self.users, self.rows)

    def queries(self) -> dict[str, tuple[requests.Session, str]]:
        """The measured requests, by name."""
        first = self.admin.get(f"{self.url}/api/runs/", timeout=60).json()
        deep = self._deep_page(first)
        return {
            "admin, all": (self.admin, "/api/runs/"),
            "admin, ?user=": (self.admin, f"/api/runs/?user={self.users[2]}"),
            "admin, ?script=": (self.admin, "/api/runs/?script=bench-beta"),
            "admin, ?status=failed": (self.admin, "/api/runs/?status=failed"),
            "user, own": (self.user, "/api/runs/"),
            "user, own ?script=": (self.user, "/api/runs/?script=bench-gamma"),
            "admin, deep page": (self.admin, deep),
        }

    def _deep_page(self, first: dict) -> str:
        """The page half-way down the table: by cursor, or by number on a server with counts."""
        middle = self.rows // 2
        if "count" in first:
            return f"/api/runs/?page={middle // 20}"
        # The middle row, as the cursor of a `next` link names it: `n|<µs since 1970>|<id>`.
        micros = 1_735_689_600_000_000 + (middle // 2) * 1000  # 2025-01-01 + g/2 ms
        cursor = base64.urlsafe_b64encode(f"n|{micros}|{'f' * 32}".encode()).decode()
        return f"/api/runs/?cursor={cursor}"

    def stop(self) -> None:
        os.killpg(self.process.pid, signal.SIGTERM)
        self.process.wait(timeout=30)


def measure(targets: list[Target]) -> dict[str, dict[str, list[float]]]:
    """Seconds per request, by query and target label, the targets taken in turn."""
    plans = {t.label: t.queries() for t in targets}
    names = plans[targets[0].label]
    times = {name: {t.label: [] for t in targets} for name in names}
    for name in times:
        for target in targets:  # warm-up: connection, plan, cache
            session, path = plans[target.label][name]
            for _ in range(3):
                session.get(target.url + path, timeout=60).raise_for_status()
        for _ in range(REQUESTS):
            for target in targets:
                session, path = plans[target.label][name]
                started = time.perf_counter()
                response = session.get(target.url + path, timeout=60)
                times[name][target.label].append(time.perf_counter() - started)
                if response.status_code != 200 or len(response.json()["results"]) != 20:
                    answer = f"{response.status_code} {response.text[:300]}"
                    raise SystemExit(f"{target.label} {path}: {answer}")
    return times


def main() -> None:
    workdir = Path(tempfile.mkdtemp(prefix="rbas-bench-list-"))
    print(f"machine: {os.cpu_count()} cores; {REQUESTS} requests per query and size, interleaved")
    targets = []
    try:
        urls = database_urls()
        for label, rows in SIZES.items():
            targets.append(Target(f"pg {label}", rows, workdir / label, urls[label]))
        sqlite = f"sqlite {SQLITE_SIZE // 1000}k"
        targets.append(Target(sqlite, SQLITE_SIZE, workdir / "sqlite", None))
        for target in targets:
            seconds = target.fill()
            print(f"{target.label}: {target.rows} runs inserted in {seconds:.1f} s")
        times = measure(targets)
        labels = [t.label for t in targets]
        smallest, largest = labels[0], labels[len(SIZES) - 1]
        print(f"\nGET /api/runs/ p50 in ms (p95 in brackets); ratio = {largest} / {smallest}")
        print(f"{'query':<24}" + "".join(f"{label:>18}" for label in labels) + f"{'ratio':>8}")
        ratios = []
        for name, by_label in times.items():
            cells = "".join(
                f"{statistics.median(v) * 1000:>9.1f} ({percentile(v, 0.95) * 1000:>5.1f})"
                for v in by_label.values()
            )
            ratio = statistics.median(by_label[largest]) / statistics.median(by_label[smallest])
            ratios.append(ratio)
            print(f"{name:<24}{cells}{ratio:>8.2f}")
        print(f"worst ratio {max(ratios):.2f} (goal: at most 1.20)")
    finally:
        for target in targets:
            target.stop()
        shutil.rmtree(workdir, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(main())
