"""RBAS beside RQ and Celery on the same jobs: `make bench-peers`.

Starts, side by side on this machine:
  - RBAS on SQLite: `run_web.sh` (gunicorn, two embedded queue workers) on a fresh file;
  - RBAS on PostgreSQL: `run_web.sh` with EMBEDDED_WORKERS=0 and two `manage.py db_worker`, on
    a scratch database (rbas_bench_peers) of the server DATABASE_URL names, or 127.0.0.1:5432;
  - RQ: two real `rq worker` processes (each forks a work horse per job) on Redis;
  - Celery: a real worker, prefork pool, concurrency 2, Redis as broker and result backend.
Redis is PEERS_REDIS_URL (default redis://127.0.0.1:6379/0); without it the bench is skipped.

The jobs are bench/runs.py's: 10 ms of busy work and a no-op. RBAS is driven over HTTP, each
run submitted with `?wait=30`; RQ and Celery jobs are enqueued directly and their result
awaited (RQ: a blocking read of the result stream; Celery: the Redis backend's pub/sub). For
each system, in rounds whose order rotates (A B C D, B C D A, ...), it measures:
  - 40 sequential 10 ms jobs: p50 latency (submit to result) and the total;
  - 40 sequential no-op jobs: p50 latency, and the CPU time (user + system) those 40 cost
    across the system's processes, divided by 40: every process of its trees (web server,
    queue workers, sandbox servers and children, work horses), read with psutil as
    utime + stime + cutime + cstime of each live process, so that children that ended are
    counted once in the parent that reaped them; RBAS's is also split by kind of process (web,
    queue worker, sandbox: a child counts where its reaper belongs). The client (this
    process) is not counted. The store's server (Redis, PostgreSQL) is read the same way but
    listed apart: it is machine-wide, other users' load included;
  - 200 no-op jobs at once: seconds from the first submit to the last result, and runs/s
    (RBAS: 8 HTTP clients submitting, as bench/runs.py does).
Each figure is the median of PEERS_REPETITIONS rounds (default 3). The four systems run at
the same time, so it first prints what each spends idle (RBAS's queue workers poll). Then one
table, the floor (an HTTP round trip to /healthz, a bare fork, 10 ms), RBAS's CPU by kind of
process, the ratios RBAS / peer, and the issue 17 goals, met or not.
"""

import contextlib
import datetime
import os
import shutil
import signal
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from pathlib import Path

import requests
from runs import BURST_RUNS, SCRIPTS, SEQUENTIAL_RUNS, burst
from server import ROOT, free_port, percentile, sign_in, start_server

try:
    import psutil
    import redis
    import rq
except ImportError as missing:
    message = f"{missing.name} is missing: `make bench-peers` installs requirements-bench.txt"
    raise SystemExit(message) from None

BENCH = Path(__file__).resolve().parent
BIN = Path(sys.executable).parent
REDIS_URL = os.environ.get("PEERS_REDIS_URL", "redis://127.0.0.1:6379/0")
POSTGRES_DATABASE = "rbas_bench_peers"
REPETITIONS = int(os.environ.get("PEERS_REPETITIONS", "3"))
CONCURRENCY = 2
TIMES = "\u00d7"
SECRET_KEY = "bench-only-secret-key-0123456789abcdef"  # noqa: S105 (a throwaway server)


def postgres_url() -> str:
    """DATABASE_URL when it names a PostgreSQL server, else the local one."""
    url = os.environ.get("DATABASE_URL", "")
    if url.startswith(("postgres://", "postgresql://")):
        return url
    return "postgres://postgres@127.0.0.1:5432/postgres"


ROLES = ("web", "queue worker", "sandbox")


def role(process: psutil.Process) -> str:
    """What a process of a system does, from its command line: the sandbox server and the
    children it forks, a queue worker (db_worker, rq worker and its work horses, Celery's
    worker and pool), or the web (gunicorn)."""
    command = " ".join(process.cmdline())
    if "sandbox_server" in command:
        return "sandbox"
    if "db_worker" in command or "rq worker" in command or " worker" in command:
        return "queue worker"
    return "web"


def tree_cpu_by_role(pids: list[int]) -> dict[str, float]:
    """CPU seconds (user + system) of these processes and all their descendants, including
    the descendants that ended and were reaped (their parent's cutime and cstime), by role:
    what a child cost is counted where its parent (the one that reaped it) belongs."""
    total = dict.fromkeys(ROLES, 0.0)
    for pid in pids:
        try:
            root = psutil.Process(pid)
            processes = [root, *root.children(recursive=True)]
        except psutil.NoSuchProcess:
            continue
        for process in processes:
            try:
                times = process.cpu_times()
                kind = role(process)
            except psutil.NoSuchProcess:
                continue
            total[kind] += times.user + times.system + times.children_user + times.children_system
    return total


def tree_cpu(pids: list[int]) -> float:
    """CPU seconds of these processes' trees (see tree_cpu_by_role)."""
    return sum(tree_cpu_by_role(pids).values())


def listener(port: int) -> int | None:
    """The process listening on a local TCP port (the store's server), if it can be seen."""
    try:
        for connection in psutil.net_connections(kind="tcp"):
            if connection.status == psutil.CONN_LISTEN and connection.laddr.port == port:
                return connection.pid
    except psutil.AccessDenied:
        pass
    return None


def stop(processes: list[subprocess.Popen]) -> None:
    """SIGTERM each process group (each was started in its own session), then wait."""
    for process in processes:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(process.pid, signal.SIGTERM)
    for process in processes:
        try:
            process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            os.killpg(process.pid, signal.SIGKILL)
            process.wait()


def forget(queue: str) -> None:
    """Delete the Redis keys named after a bench queue (the queue, RQ's registries, kombu's
    bindings); jobs and results expire on their own (RQ: 500 s, Celery: result_expires)."""
    connection = redis.Redis.from_url(REDIS_URL)
    keys = list(connection.scan_iter(f"*{queue}*"))
    if keys:
        connection.delete(*keys)


class Rbas:
    """RBAS over HTTP: each run submitted with ?wait=30."""

    def __init__(self, name: str, workdir: Path, database_url: str | None, store_port: int | None):
        self.name, self.store_port = name, store_port
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        env = {"MAX_ACTIVE_RUNS_PER_USER": str(BURST_RUNS)}
        if database_url:  # PostgreSQL: the web alone, and two db_worker beside it
            env |= {"DATABASE_URL": database_url, "EMBEDDED_WORKERS": "0"}
        else:
            env |= {"EMBEDDED_WORKERS": str(CONCURRENCY)}
        workdir.mkdir()
        self.processes = [start_server(workdir, self.port, SCRIPTS, **env)]
        if database_url:
            worker_env = {
                "PATH": f"{BIN}:{os.environ['PATH']}",
                "DJANGO_READ_DOT_ENV_FILE": "false",
                "SECRET_KEY": SECRET_KEY,
                "DATABASE_URL": database_url,
                "LOG_LEVEL": "WARNING",
                "MAX_ACTIVE_RUNS_PER_USER": str(BURST_RUNS),
            }
            for index in range(CONCURRENCY):
                with (workdir / f"worker{index}.log").open("wb") as log:
                    self.processes.append(
                        subprocess.Popen(
                            [sys.executable, "manage.py", "db_worker", "--no-reload"],
                            cwd=ROOT,
                            env=worker_env,
                            stdout=log,
                            stderr=subprocess.STDOUT,
                            start_new_session=True,
                        )
                    )
        self.session = requests.Session()
        self.sign_in()

    def sign_in(self) -> None:
        self.token = sign_in(self.url)
        self.session.headers["Authorization"] = f"Bearer {self.token}"
        self.session.cookies.clear()

    def roots(self) -> list[int]:
        return [process.pid for process in self.processes]

    def one(self, kind: str) -> float:
        slug = "bench-work" if kind == "work" else "bench-trivial"
        started = time.perf_counter()
        response = self.session.post(
            f"{self.url}/api/scripts/{slug}/runs/?wait=30", json={}, timeout=40
        )
        elapsed = time.perf_counter() - started
        if response.status_code != 200 or response.json()["status"] != "succeeded":
            raise SystemExit(
                f"{self.name}: run failed: {response.status_code} {response.text[:300]}"
            )
        return elapsed

    def burst(self) -> float:
        seconds, _ = burst(self.token, self.url, verbose=False)
        return seconds

    def stop(self) -> None:
        stop(self.processes)


class Rq:
    """Two `rq worker` processes (rq.Worker: a forked work horse per job)."""

    name = f"RQ + Redis ({CONCURRENCY} `rq worker`, a fork per job)"

    def __init__(self, workdir: Path):
        self.connection = redis.Redis.from_url(REDIS_URL)
        self.queue = rq.Queue(
            f"rbas-bench-peers-{uuid.uuid4().hex[:8]}", connection=self.connection
        )
        self.store_port = self.connection.connection_pool.connection_kwargs.get("port", 6379)
        env = {**os.environ, "PYTHONPATH": str(BENCH)}
        self.processes = []
        for index in range(CONCURRENCY):
            with (workdir / f"rq{index}.log").open("wb") as log:
                self.processes.append(
                    subprocess.Popen(  # noqa: S603
                        [
                            str(BIN / "rq"),
                            "worker",
                            "--url",
                            REDIS_URL,
                            "--path",
                            str(BENCH),
                            "--name",
                            f"{self.queue.name}-{index}",
                            "--quiet",
                            self.queue.name,
                        ],
                        cwd=BENCH,
                        env=env,
                        stdout=log,
                        stderr=subprocess.STDOUT,
                        start_new_session=True,
                    )
                )
        import peer_jobs

        self.jobs = {"work": peer_jobs.work, "noop": peer_jobs.noop}
        deadline = time.monotonic() + 60
        while len(rq.Worker.all(queue=self.queue)) < CONCURRENCY:
            if time.monotonic() > deadline:
                raise SystemExit(
                    f"the rq workers did not start: {(workdir / 'rq0.log').read_text()}"
                )
            time.sleep(0.1)

    def roots(self) -> list[int]:
        return [process.pid for process in self.processes]

    def wait(self, job) -> None:
        result = job.latest_result(timeout=60)
        if result is None or result.type != result.Type.SUCCESSFUL:
            raise SystemExit(f"RQ job {job.id} failed: {result and result.exc_string}")

    def one(self, kind: str) -> float:
        started = time.perf_counter()
        self.wait(self.queue.enqueue(self.jobs[kind]))
        return time.perf_counter() - started

    def burst(self) -> float:
        started = time.perf_counter()
        jobs = [self.queue.enqueue(self.jobs["noop"], i) for i in range(BURST_RUNS)]
        for job in jobs:
            self.wait(job)
        return time.perf_counter() - started

    def stop(self) -> None:
        stop(self.processes)
        self.queue.delete(delete_jobs=True)
        forget(self.queue.name)


class Celery:
    """A Celery worker: prefork pool of CONCURRENCY processes, no isolation between jobs."""

    name = f"Celery + Redis (prefork, concurrency {CONCURRENCY}, no isolation)"

    def __init__(self, workdir: Path):
        queue = f"rbas-bench-peers-{uuid.uuid4().hex[:8]}"
        os.environ["PEERS_CELERY_QUEUE"] = queue  # read by peer_celery, here and in the worker
        os.environ["PEERS_REDIS_URL"] = REDIS_URL
        import peer_celery

        self.app, self.queue = peer_celery.app, queue
        self.tasks = {"work": peer_celery.celery_work, "noop": peer_celery.celery_noop}
        self.store_port = redis.Redis.from_url(REDIS_URL).connection_pool.connection_kwargs.get(
            "port", 6379
        )
        with (workdir / "celery.log").open("wb") as log:
            self.processes = [
                subprocess.Popen(  # noqa: S603
                    [
                        str(BIN / "celery"),
                        "--app",
                        "peer_celery",
                        "worker",
                        "--pool",
                        "prefork",
                        "--concurrency",
                        str(CONCURRENCY),
                        "--loglevel",
                        "WARNING",
                        "--hostname",
                        f"{queue}@%h",
                        "--without-gossip",
                        "--without-mingle",
                        "--without-heartbeat",
                    ],
                    cwd=BENCH,
                    env={**os.environ, "PYTHONPATH": str(BENCH)},
                    stdout=log,
                    stderr=subprocess.STDOUT,
                    start_new_session=True,
                )
            ]
        self.tasks["noop"].delay().get(timeout=60)  # returns once the worker is up

    def roots(self) -> list[int]:
        return [process.pid for process in self.processes]

    def one(self, kind: str) -> float:
        started = time.perf_counter()
        self.tasks[kind].delay().get(timeout=60)
        return time.perf_counter() - started

    def burst(self) -> float:
        started = time.perf_counter()
        results = [self.tasks["noop"].delay(i) for i in range(BURST_RUNS)]
        for result in results:
            result.get(timeout=60)
        return time.perf_counter() - started

    def stop(self) -> None:
        stop(self.processes)
        forget(self.queue)


def measure(system) -> dict[str, float]:
    """One round on one system (see the module's docstring)."""
    started = time.perf_counter()
    work = [system.one("work") for _ in range(SEQUENTIAL_RUNS)]
    work_total = time.perf_counter() - started
    store = listener(system.store_port) if system.store_port else None
    roles, store_cpu = tree_cpu_by_role(system.roots()), tree_cpu([store] if store else [])
    noop = [system.one("noop") for _ in range(SEQUENTIAL_RUNS)]
    roles = {
        kind: (seconds - roles[kind]) / SEQUENTIAL_RUNS
        for kind, seconds in tree_cpu_by_role(system.roots()).items()
    }
    store_cpu = (tree_cpu([store]) - store_cpu) / SEQUENTIAL_RUNS if store else None
    seconds = system.burst()
    return {
        "work_p50": statistics.median(work),
        "work_p95": percentile(work, 0.95),
        "noop_p50": statistics.median(noop),
        "work_total": work_total,
        "burst": seconds,
        "cpu": sum(roles.values()),
        "store_cpu": store_cpu,
        **{f"cpu_{kind}": seconds for kind, seconds in roles.items()},
    }


def fresh_postgres(url: str) -> str | None:
    """A fresh scratch database on the PostgreSQL server of `url`, or None (with a message)
    when that server cannot be reached."""
    import environ
    import psycopg

    config = environ.Env.db_url_config(url)
    try:
        with psycopg.connect(
            host=config["HOST"] or "127.0.0.1", port=config["PORT"] or 5432, user=config["USER"],
            password=config["PASSWORD"], dbname="postgres", autocommit=True, connect_timeout=5,
        ) as admin:  # fmt: skip
            admin.execute(f'DROP DATABASE IF EXISTS "{POSTGRES_DATABASE}" WITH (FORCE)')
            admin.execute(f'CREATE DATABASE "{POSTGRES_DATABASE}"')
    except psycopg.OperationalError as error:
        where = f"{config['HOST']}:{config['PORT'] or 5432}"
        print(f"RBAS on PostgreSQL skipped: {where} not reachable ({error})")
        return None
    return url.rsplit("/", 1)[0] + f"/{POSTGRES_DATABASE}"


def database_port(url: str) -> int:
    """The port of a database URL (5432 when it names none)."""
    import environ

    return int(environ.Env.db_url_config(url)["PORT"] or 5432)


def drop_postgres(url: str) -> None:
    import psycopg

    with psycopg.connect(url.rsplit("/", 1)[0] + "/postgres", autocommit=True) as admin:
        admin.execute(f'DROP DATABASE IF EXISTS "{POSTGRES_DATABASE}" WITH (FORCE)')


def floor(url: str) -> tuple[float, float]:
    """Medians of an HTTP round trip (GET /healthz on the RBAS server, requests' keep-alive
    session) and of a bare fork (os.fork, the child exits at once, waitpid)."""
    session = requests.Session()
    http = []
    for _ in range(50):
        started = time.perf_counter()
        session.get(f"{url}/healthz", timeout=10).raise_for_status()
        http.append(time.perf_counter() - started)
    forks = []
    for _ in range(100):
        started = time.perf_counter()
        pid = os.fork()
        if pid == 0:
            os._exit(0)
        os.waitpid(pid, 0)
        forks.append(time.perf_counter() - started)
    return statistics.median(http), statistics.median(forks)


def idle(systems: list) -> None:
    """Print each system's CPU while it waits for work: the systems run side by side, so what
    an idle one spends is taken from the one being measured."""
    before = [tree_cpu(system.roots()) for system in systems]
    started = time.perf_counter()
    time.sleep(3)
    elapsed = time.perf_counter() - started
    spent = [
        f"{system.name.split(' (')[0]} {(tree_cpu(system.roots()) - cpu) / elapsed * 1000:.0f} ms/s"
        for system, cpu in zip(systems, before, strict=True)
    ]
    print(f"CPU while idle: {', '.join(spent)}")


def ms(seconds: float | None) -> str:
    return "-" if seconds is None else f"{seconds * 1000:.1f} ms"


def table(rows: dict[str, dict[str, float]], floors: tuple[float, float] | None) -> None:
    print(f"| system | 10 ms job p50 | no-op job p50 | 40 {TIMES} 10 ms total | 200 at once "
          "| CPU per no-op job | store server's CPU per no-op job |")  # fmt: skip
    print("|---|---|---|---|---|---|---|")
    for name, row in rows.items():
        rate = BURST_RUNS / row["burst"]
        print(f"| {name} | {ms(row['work_p50'])} | {ms(row['noop_p50'])} "
              f"| {row['work_total']:.2f} s | {row['burst']:.2f} s ({rate:.0f}/s) "
              f"| {ms(row['cpu'])} | {ms(row['store_cpu'])} |")  # fmt: skip
    if floors:
        http, fork = floors
        print(f"| floor: HTTP round trip {ms(http)} + fork {ms(fork)} + 10 ms work "
              f"| {ms(http + fork + 0.010)} | | | | | |")  # fmt: skip


def breakdown(rows: dict[str, dict[str, float]]) -> None:
    """Where RBAS's CPU per no-op job goes, by kind of process (a peer's is all its worker's)."""
    print()
    for name, row in rows.items():
        if not name.startswith("RBAS"):
            continue
        parts = ", ".join(f"{kind} {ms(row[f'cpu_{kind}'])}" for kind in ROLES)
        print(f"{name.split(' (')[0]}: CPU per no-op job by process: {parts}")


def ratios(rows: dict[str, dict[str, float]]) -> None:
    ours = [name for name in rows if name.startswith("RBAS")]
    peers = [name for name in rows if not name.startswith("RBAS")]
    if not ours or not peers:
        return
    print("\nRBAS / peer (above 1: RBAS slower or costlier)\n")
    print(
        f"| | 10 ms job p50 | no-op job p50 | 40 {TIMES} 10 ms total | 200 at once (time) "
        "| CPU per no-op job |"
    )
    print("|---|---|---|---|---|---|")
    for name in ours:
        for peer in peers:
            cells = [
                rows[name][key] / rows[peer][key]
                for key in ("work_p50", "noop_p50", "work_total", "burst", "cpu")
            ]
            label = f"{name.split(' (')[0]} / {peer.split(' (')[0]}"
            print(f"| {label} | " + " | ".join(f"{cell:.2f}{TIMES}" for cell in cells) + " |")


def goals(rows: dict[str, dict[str, float]], sqlite: str, postgres: str | None) -> None:
    """Issue 17's goals; PostgreSQL's latencies within 1.3 times SQLite's goals."""
    print("\nGoals (issue 17):\n")
    checks = []
    for name, factor in ((sqlite, 1.0), (postgres, 1.3)):
        if name not in rows:
            continue
        row, where = rows[name], name.split(" (")[0]
        checks += [
            (f"{where}: no-op run p50 ≤ {12 * factor:.1f} ms", ms(row["noop_p50"]),
             row["noop_p50"] <= 0.012 * factor),
            (f"{where}: 10 ms run p50 ≤ {20 * factor:.0f} ms", ms(row["work_p50"]),
             row["work_p50"] <= 0.020 * factor),
            (f"{where}: 40 sequential 10 ms runs ≤ 0.8 s", f"{row['work_total']:.2f} s",
             row["work_total"] <= 0.8),
            (f"{where}: 200 runs at once ≥ 150 runs/s", f"{BURST_RUNS / row['burst']:.0f} runs/s",
             BURST_RUNS / row["burst"] >= 150),
            (f"{where}: CPU per no-op run ≤ 10 ms", ms(row["cpu"]), row["cpu"] <= 0.010),
        ]  # fmt: skip
    for goal, figure, met in checks:
        print(f"- {goal}: {figure}, {'met' if met else 'NOT met'}")


def main() -> None:
    try:
        redis.Redis.from_url(REDIS_URL, socket_connect_timeout=2).ping()
    except redis.RedisError as error:
        print(f"bench-peers skipped: no Redis at {REDIS_URL} ({error}); start one "
              "(apt-get install redis-server) or set PEERS_REDIS_URL")  # fmt: skip
        return
    now = datetime.datetime.now(datetime.UTC)
    print(f"{now:%Y-%m-%d %H:%M} UTC; machine: {os.cpu_count()} cores, "
          f"load average {' '.join(f'{load:.2f}' for load in os.getloadavg())}; "
          f"medians of {REPETITIONS} interleaved rounds")  # fmt: skip
    workdir = Path(tempfile.mkdtemp(prefix="rbas-bench-peers-"))
    systems, database = [], None
    try:
        sqlite_name = f"RBAS, SQLite (`run_web.sh`, {CONCURRENCY} embedded workers)"
        systems.append(Rbas(sqlite_name, workdir / "sqlite", None, None))
        database = fresh_postgres(postgres_url())
        postgres_name = None
        if database:
            postgres_name = f"RBAS, PostgreSQL ({CONCURRENCY} `db_worker`)"
            port = database_port(database)
            systems.append(Rbas(postgres_name, workdir / "postgres", database, port))
        systems.append(Rq(workdir))
        systems.append(Celery(workdir))
        time.sleep(2)  # let the queue workers start their sandboxes
        for system in systems:  # warm-up: connections, imports, caches
            for _ in range(10):
                system.one("noop")
            for _ in range(3):
                system.one("work")
        floors = floor(systems[0].url)
        idle(systems)
        rounds = {system.name: [] for system in systems}
        for repetition in range(REPETITIONS):
            order = systems[repetition % len(systems) :] + systems[: repetition % len(systems)]
            for system in order:
                if isinstance(system, Rbas):
                    system.sign_in()  # a fresh access token each round
                rounds[system.name].append(measure(system))
                last = rounds[system.name][-1]
                print(f"round {repetition + 1}, {system.name.split(' (')[0]}: "
                      f"10 ms p50 {ms(last['work_p50'])}, no-op p50 {ms(last['noop_p50'])}, "
                      f"CPU per no-op {ms(last['cpu'])}", file=sys.stderr)  # fmt: skip
        rows = {
            name: {
                key: (
                    None
                    if any(one[key] is None for one in ones)
                    else statistics.median(one[key] for one in ones)
                )
                for key in ones[0]
            }
            for name, ones in rounds.items()
        }
        print()
        table(rows, floors)
        breakdown(rows)
        ratios(rows)
        goals(rows, sqlite_name, postgres_name)
        print("\nThe store server's CPU is the whole Redis or PostgreSQL server's (other users' "
              "load included); SQLite's is inside the RBAS processes.")  # fmt: skip
    finally:
        for system in systems:
            system.stop()
        if database:
            drop_postgres(database)
        shutil.rmtree(workdir, ignore_errors=True)


if __name__ == "__main__":
    main()
