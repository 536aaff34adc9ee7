"""Fixtures for scripts and runs: a catalog of example and test scripts, and real workers."""

import os
import shutil
import signal
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import pytest
from django.db import connection

from scripts_api.services import scripts_sync

ROOT = Path(__file__).resolve().parent.parent.parent

TEST_SCRIPTS = {
    "sleepy.py": '''
        """Sleep a while

        For tests of long runs: cancel, timeouts and dying workers.
        """
        import time

        POLICY = "authenticated"
        TIMEOUT_SECONDS = 30

        def main(seconds: float = 20):
            time.sleep(seconds)
            return seconds
    ''',
    "writer.py": '''
        """Write files

        For tests of artifacts.
        """
        import os

        POLICY = "staff"

        def main(names: list[str], size: int = 10):
            for name in names:
                with open(os.path.join(os.environ["RBAS_OUTPUT_DIR"], name), "w") as handle:
                    handle.write("x" * size)
            return len(names)
    ''',
}


@pytest.fixture
def catalog(db, tmp_path, settings):
    """The shipped example scripts plus test scripts, synced."""
    folder = tmp_path / "scripts"
    shutil.copytree(ROOT / "scripts", folder)
    for name, source in TEST_SCRIPTS.items():
        (folder / name).write_text(textwrap.dedent(source))
    settings.SCRIPTS_DIR = folder
    report = scripts_sync()
    assert not report.rejected, report.rejected
    return folder


def database_url() -> str:
    """The test database as a DATABASE_URL, for processes started by a test."""
    db = connection.settings_dict
    if db["ENGINE"].endswith("sqlite3"):
        return f"sqlite:///{db['NAME']}"
    auth = db["USER"] + (f":{db['PASSWORD']}" if db["PASSWORD"] else "")
    return f"postgres://{auth}@{db['HOST'] or '127.0.0.1'}:{db['PORT'] or 5432}/{db['NAME']}"


@pytest.fixture
def start_worker(transactional_db, tmp_path):
    """Start real `manage.py db_worker` processes on the test database; stopped afterwards."""
    started = []

    def start(*args: str, **env: str) -> subprocess.Popen:
        log = (tmp_path / f"worker-{len(started)}.log").open("wb")
        process = subprocess.Popen(
            [sys.executable, "manage.py", "db_worker", "--no-startup-delay", *args],
            cwd=ROOT,
            env={
                "PATH": os.environ["PATH"],
                "DJANGO_READ_DOT_ENV_FILE": "false",
                "SECRET_KEY": "worker-test-secret",
                "DATABASE_URL": database_url(),
                **env,
            },
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
        process.log_path = Path(log.name)
        started.append(process)
        return process

    yield start
    for process in started:
        if process.poll() is None:
            os.killpg(process.pid, signal.SIGTERM)
            try:
                process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                os.killpg(process.pid, signal.SIGKILL)
                process.wait()


def wait_for(condition, timeout: float = 20, interval: float = 0.05):
    """Poll `condition` until it returns something truthy; fail after `timeout` seconds."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = condition()
        if value:
            return value
        time.sleep(interval)
    pytest.fail(f"condition not met within {timeout}s")
