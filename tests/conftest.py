"""Shared fixtures: a user per role, clients signed in by Bearer header or by cookie, a catalog
of scripts, and real queue workers."""

import os
import shutil
import signal
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import pytest
from django.core.cache import cache
from django.db import connection
from rest_framework.test import APIClient

from scripts_api.services import scripts_sync
from tests.smtp import MailServer
from tests.wheels import write_wheel
from users import sessions
from users.models import User
from users.roles import LEVEL_KEYS, Level

PASSWORD = "correct-horse-battery-staple"


@pytest.fixture(autouse=True)
def _fast_password_hasher(settings):
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]


@pytest.fixture(autouse=True)
def _fresh_throttle_counts():
    cache.clear()
    yield
    cache.clear()


@pytest.fixture(autouse=True)
def _long_polls_released():
    """No connection of the long-polls' listener or watcher outlives a test: the test database
    is dropped at the end (scripts_api/waiting.py)."""
    yield
    from scripts_api.waiting import wait_room

    wait_room.release()


@pytest.fixture
def api_client() -> APIClient:
    """An anonymous client that enforces CSRF checks, as browsers are held to them."""
    return APIClient(enforce_csrf_checks=True)


@pytest.fixture
def mail_server():
    """A real SMTP server (aiosmtpd) on a free port; see tests/smtp.py."""
    server = MailServer().start()
    yield server
    server.stop()


@pytest.fixture
def smtp(settings, mail_server) -> MailServer:
    """This process sends email through `mail_server`, as EMAIL_URL=smtp://... configures."""
    settings.EMAIL_BACKEND = "django.core.mail.backends.smtp.EmailBackend"
    settings.EMAIL_HOST = "127.0.0.1"
    settings.EMAIL_PORT = mail_server.port
    settings.EMAIL_USE_TLS = settings.EMAIL_USE_SSL = False
    settings.EMAIL_HOST_USER = settings.EMAIL_HOST_PASSWORD = ""
    return mail_server


@pytest.fixture
def run_queued_tasks(db):
    """Run every task that is ready in the queue, as a worker does: claim it, then execute it
    with django-tasks-db's worker (in this process and the test's transaction, which the
    worker's own loop would close). Returns how many ran."""
    from django_tasks_db.management.commands.db_worker import Worker
    from django_tasks_db.models import DBTaskResult

    worker = Worker(
        queue_names=["*"],
        interval=0,
        batch=True,
        backend_name="default",
        startup_delay=False,
        max_tasks=None,
        worker_id="test-worker",
        excluded_queue_names=[],
    )

    def run() -> int:
        ran = 0
        while (task_result := DBTaskResult.objects.ready().get_locked()) is not None:
            task_result.claim(worker.worker_id)
            worker.run_task(task_result)
            ran += 1
        return ran

    return run


@pytest.fixture
def make_user(db):
    """Create a user at a level; the password is `PASSWORD`."""

    def make(level: Level = Level.READ_ONLY, username: str | None = None, **fields) -> User:
        username = username or f"{LEVEL_KEYS[Level(level)]}-{User.objects.count() + 1}"
        fields.setdefault("email", f"{username}@example.com")
        return User.objects.create_user(username, password=PASSWORD, level=level, **fields)

    return make


@pytest.fixture
def users(make_user) -> dict[Level, User]:
    """One user at each of the five levels."""
    return {level: make_user(level) for level in Level}


@pytest.fixture
def bearer_client():
    """A client signed in as `user` through the Authorization header."""

    def make(user: User) -> APIClient:
        issued = sessions.session_login(request=None, username=user.username, password=PASSWORD)
        client = APIClient(enforce_csrf_checks=True)
        client.credentials(HTTP_AUTHORIZATION=f"Bearer {issued.access.raw}")
        client.issued = issued
        return client

    return make


@pytest.fixture
def cookie_client():
    """A client signed in as `user` through the login endpoint, holding the cookies only."""

    def make(user: User) -> APIClient:
        client = APIClient(enforce_csrf_checks=True)
        response = client.post(
            "/api/auth/login/", {"username": user.username, "password": PASSWORD}, format="json"
        )
        assert response.status_code == 200, response.content
        client.csrf = response.cookies["csrftoken"].value
        return client

    return make


ROOT = Path(__file__).resolve().parent.parent

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

    def start(*args: str, crash_at: str | None = None, **env: str) -> subprocess.Popen:
        """Start a worker; `crash_at` names a moment where it SIGKILLs itself (see
        tests/scripts_api/crashing_worker.py)."""
        log = (tmp_path / f"worker-{len(started)}.log").open("wb")
        program = ["manage.py"]
        if crash_at:
            program = ["tests/scripts_api/crashing_worker.py", crash_at]
        process = subprocess.Popen(
            [sys.executable, *program, "db_worker", "--no-startup-delay", *args],
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


# Scripts' dependencies: a local wheel and uv pointed at it only (tests/wheels.py).
@pytest.fixture(scope="session")
def wheels(tmp_path_factory):
    """A folder holding the wheel of `rbas-probe` 1.0 (a package nothing else has)."""
    folder = tmp_path_factory.mktemp("wheels")
    write_wheel(folder, "rbas-probe", "1.0", {"rbas_probe/__init__.py": "VALUE = 42\n"})
    return folder


@pytest.fixture
def uv_index(wheels, tmp_path, settings, monkeypatch) -> dict[str, str]:
    """uv sees the wheels folder only, in this process and in workers given the returned env."""
    env = {
        "UV_NO_INDEX": "1",
        "UV_FIND_LINKS": str(wheels),
        "SCRIPT_ENVIRONMENTS_DIR": str(tmp_path / "environments"),
        "SCRIPT_UV_CACHE_DIR": str(tmp_path / "uv-cache"),
    }
    for name in ("UV_NO_INDEX", "UV_FIND_LINKS"):
        monkeypatch.setenv(name, env[name])
    settings.SCRIPT_ENVIRONMENTS_DIR = tmp_path / "environments"
    settings.SCRIPT_UV_CACHE_DIR = tmp_path / "uv-cache"
    return env
