"""Fixtures for fault-injection tests: a PostgreSQL server of the session's own (stopped,
started and broken at will), a fresh migrated database per test, and real gunicorn and
`db_worker` processes on it. The suite's own database (SQLite or PostgreSQL) is never used.

    def test_it_recovers(postgres_server, start_web):
        web = start_web()
        api = web.client()
        api.login(OWNER, PASSWORD)  # every database has this owner
        postgres_server.stop()
        assert api.get("/api/auth/me/").status_code == 503
        postgres_server.start()
"""

import contextlib
import os
import shutil
import statistics
import sys
import tempfile
import textwrap
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from tests.conftest import TEST_SCRIPTS
from tests.faults.postgres import (
    PostgresServer,
    create_database,
    drop_database,
    free_port,
    new_database_name,
    postgres_bindir,
    run_as_server_owner,
)
from tests.faults.stack import (
    OWNER,
    PASSWORD,
    ROOT,
    Database,
    WebServer,
    start_process,
    stop_process,
    wait_until_healthy,
)

TEMPLATE = "faults_template"
# Seconds each step of the harness took in this session, reported after the tests.
TIMINGS: dict[str, list[float]] = {}


def _took(step: str, started: float) -> None:
    TIMINGS.setdefault(step, []).append(time.monotonic() - started)


def pytest_terminal_summary(terminalreporter) -> None:
    """Say how long the harness took, when it ran."""
    if TIMINGS:
        steps = ", ".join(
            f"{step} {statistics.mean(seconds):.2f}s" + (" (mean)" if len(seconds) > 1 else "")
            for step, seconds in TIMINGS.items()
        )
        terminalreporter.write_line(f"faults harness: {steps}")


@pytest.fixture(scope="session")
def postgres_server(tmp_path_factory) -> Iterator[PostgresServer]:
    """The session's PostgreSQL server, started once; stopped (and removed) at session end.

    As root, its files live in a directory of its own under the system's temporary directory,
    owned by the postgres user, which cannot enter pytest's root-only one; its log is copied
    into pytest's at the end. Without a PostgreSQL server's programs the fault tests skip,
    saying what to install."""
    try:
        postgres_bindir()
        run_as_server_owner()
    except RuntimeError as missing:
        pytest.skip(str(missing))
    logs = tmp_path_factory.mktemp("faults-postgres")
    private = os.geteuid() == 0
    directory = Path(tempfile.mkdtemp(prefix="rbas-faults-pg-")) if private else logs
    server = None
    started = time.monotonic()
    try:
        server = PostgresServer(directory)
        server.init()
        server.start()
        _took("initdb and start", started)
        yield server
    finally:
        if server is not None and server.data.exists():
            with contextlib.suppress(RuntimeError):
                if server.running:
                    server.stop("fast")
        if private:
            if (directory / "postgres.log").exists():
                shutil.copy(directory / "postgres.log", logs / "postgres.log")
            shutil.rmtree(directory, ignore_errors=True)


@pytest.fixture(scope="session")
def template_database(postgres_server, tmp_path_factory) -> Database:
    """A database migrated once per session (`manage.py migrate`) with the scripts catalog
    synced (the repository's scripts plus the suite's `sleepy` and `writer`) and one owner,
    `OWNER` with `PASSWORD`."""
    started = time.monotonic()
    scripts = tmp_path_factory.mktemp("faults-scripts") / "scripts"
    shutil.copytree(ROOT / "scripts", scripts)
    for name, source in TEST_SCRIPTS.items():
        (scripts / name).write_text(textwrap.dedent(source))
    create_database(postgres_server, TEMPLATE)
    template = Database(postgres_server, TEMPLATE, scripts)
    template.manage("migrate", "--noinput")
    template.manage("createcachetable")  # the default cache (throttle counts), as run_web.sh
    template.manage("sync_scripts")
    template.create_owner(OWNER, PASSWORD)
    _took("template (migrate, sync_scripts)", started)
    return template


@pytest.fixture
def fault_database(postgres_server, template_database) -> Iterator[Database]:
    """A fresh database for this test, cloned from the template; dropped afterwards."""
    if not postgres_server.running:  # a test that ends while the server is down
        postgres_server.start()
    database = Database(postgres_server, new_database_name(), template_database.scripts_dir)
    started = time.monotonic()
    create_database(postgres_server, database.name, template=template_database.name)
    _took("database per test", started)
    yield database
    if not postgres_server.running:
        postgres_server.start()
    drop_database(postgres_server, database.name)


@pytest.fixture
def start_web(fault_database, tmp_path) -> Iterator[Callable[..., WebServer]]:
    """Start gunicorn as production does (`python -m gunicorn simple_rbas.wsgi --config
    gunicorn.conf.py`) on the test's database and wait for /healthz. Keyword arguments are
    environment variables; by default one worker of four threads, no embedded queue workers.
    Every server started is stopped (its whole process group) after the test."""
    started: list[WebServer] = []

    def start(**env: str) -> WebServer:
        port = env.get("PORT") or str(free_port())
        env = {
            "HOST": "127.0.0.1",
            "PORT": port,
            "EMBEDDED_WORKERS": "0",
            "WEB_CONCURRENCY": "1",
            "WEB_THREADS": "4",
            "GRACEFUL_TIMEOUT": "5",
            **env,
        }
        process = start_process(
            [sys.executable, "-m", "gunicorn", "simple_rbas.wsgi", "--config", "gunicorn.conf.py"],
            fault_database.env(**env),
            tmp_path / f"web-{len(started)}.log",
        )
        server = WebServer(process, f"http://127.0.0.1:{port}", process.log_path)
        started.append(server)
        booted = time.monotonic()
        wait_until_healthy(server)
        _took("gunicorn up", booted)
        return server

    yield start
    for server in started:
        server.stop()


@pytest.fixture
def start_worker(fault_database, tmp_path):
    """Start `manage.py db_worker --no-startup-delay <args>` on the test's database (keyword
    arguments are environment variables); every worker is stopped after the test.

    Overrides the suite's fixture of that name, which runs workers on the suite's database."""
    started = []

    def start(*args: str, **env: str):
        process = start_process(
            [sys.executable, "manage.py", "db_worker", "--no-startup-delay", *args],
            fault_database.env(**env),
            tmp_path / f"worker-{len(started)}.log",
        )
        started.append(process)
        return process

    yield start
    for process in started:
        stop_process(process)
