"""Real processes for fault-injection tests: gunicorn and queue workers started on a database
of the private PostgreSQL server (tests/faults/postgres.py), and an HTTP client for them.

Nothing here touches the test suite's own database: every process gets a minimal environment
naming its own DATABASE_URL.
"""

import contextlib
import os
import re
import signal
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path

import requests

from tests.faults.postgres import PostgresServer

ROOT = Path(__file__).resolve().parents[2]
SECRET_KEY = "faults-test-secret-key-0123456789abcdef"
# Every database of the harness has this owner (`manage.py ensure_owner` in the template); users
# that tests sign up may use the same password.
OWNER = "faults-owner"
PASSWORD = "a-faults-test-passphrase"


def django_env(database_url: str, scripts_dir: Path, **extra: str) -> dict[str, str]:
    """A minimal environment for a Django process: none of the suite's own settings leak in."""
    env = {k: os.environ[k] for k in ("PATH", "HOME", "LANG") if k in os.environ}
    env["PATH"] = f"{Path(sys.executable).parent}:{env.get('PATH', '')}"
    env |= {
        "DJANGO_READ_DOT_ENV_FILE": "false",
        "SECRET_KEY": SECRET_KEY,
        "DATABASE_URL": database_url,
        "SCRIPTS_DIR": str(scripts_dir),
    }
    return env | extra


def manage(*args: str, env: dict[str, str], check: bool = True) -> subprocess.CompletedProcess:
    """Run `manage.py <args>` in a process of its own; fail with its output when it fails."""
    result = subprocess.run(
        [sys.executable, "manage.py", *args],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=180,
    )
    if check and result.returncode != 0:
        raise RuntimeError(f"manage.py {' '.join(args)} failed:\n{result.stdout}{result.stderr}")
    return result


class Database:
    """A database of its own on the private server, with helpers to run SQL and commands."""

    def __init__(self, server: PostgresServer, name: str, scripts_dir: Path):
        self.server = server
        self.name = name
        self.scripts_dir = scripts_dir

    @property
    def url(self) -> str:
        """Its DATABASE_URL."""
        return self.server.url(self.name)

    def env(self, **extra: str) -> dict[str, str]:
        """The environment of a Django process on this database (plus `extra`)."""
        return django_env(self.url, self.scripts_dir, **extra)

    def manage(self, *args: str, check: bool = True, **env: str) -> subprocess.CompletedProcess:
        """Run `manage.py <args>` on this database."""
        return manage(*args, env=self.env(**env), check=check)

    def create_owner(self, username: str, password: str, email: str = "") -> None:
        """Create an owner the way deployments do (`manage.py ensure_owner`)."""
        self.manage(
            "ensure_owner",
            DJANGO_SUPERUSER_USERNAME=username,
            DJANGO_SUPERUSER_EMAIL=email or f"{username}@faults.example",
            DJANGO_SUPERUSER_PASSWORD=password,
        )

    def confirm_email(self, username: str) -> None:
        """Mark a signup's address verified, as following its emailed link does (the flow
        itself is tested in tests/users/test_email_verification.py): its limits end."""
        updated = self.sql(
            "UPDATE users_user SET email_verified = true, must_verify_email = false "
            "WHERE username = %s RETURNING id",
            (username,),
        )
        assert len(updated) == 1, f"no user {username}"

    def sql(self, query: str, params: tuple | dict | None = None) -> list[tuple]:
        """Run one statement on a new connection; return its rows ([] when it returns none)."""
        with self.server.connect(self.name) as connection:
            cursor = connection.execute(query, params)
            return cursor.fetchall() if cursor.description else []

    def terminate_connections(self) -> int:
        """pg_terminate_backend every other session on this database; how many were ended."""
        return self._signal_backends("pg_terminate_backend", "")

    def cancel_queries(self) -> int:
        """pg_cancel_backend every query running on this database; how many were cancelled."""
        return self._signal_backends("pg_cancel_backend", "AND state = 'active'")

    def _signal_backends(self, function: str, condition: str) -> int:
        rows = self.sql(
            f"SELECT {function}(pid) FROM pg_stat_activity "  # noqa: S608 - fixed names only
            f"WHERE datname = current_database() AND pid <> pg_backend_pid() {condition}"
        )
        return sum(1 for (done,) in rows if done)


def start_process(command: list[str], env: dict[str, str], log_path: Path) -> subprocess.Popen:
    """Start `command` in a session of its own (so `stop_process` can end its whole group),
    its output going to `log_path`."""
    with log_path.open("wb") as log:
        process = subprocess.Popen(
            command, cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT,
            start_new_session=True,
        )  # fmt: skip
    process.log_path = log_path
    return process


def stop_process(process: subprocess.Popen, timeout: float = 10) -> None:
    """SIGTERM the process group, wait up to `timeout`, then SIGKILL whatever is left of it."""
    with contextlib.suppress(ProcessLookupError):
        os.killpg(process.pid, signal.SIGTERM)
    with contextlib.suppress(subprocess.TimeoutExpired):
        process.wait(timeout=timeout)
    with contextlib.suppress(ProcessLookupError):
        os.killpg(process.pid, signal.SIGKILL)
    process.wait()


@dataclass
class WebServer:
    """A running gunicorn (as `run_web.sh` execs it) and where to reach it."""

    process: subprocess.Popen
    url: str
    log_path: Path

    def log(self) -> str:
        """Everything it has printed so far."""
        return self.log_path.read_text()

    def client(self) -> "ApiClient":
        """A new HTTP client for it."""
        return ApiClient(self.url)

    def stop(self) -> None:
        """Stop it (SIGTERM, as a container stop, then SIGKILL if need be)."""
        stop_process(self.process)


def wait_until_healthy(server: WebServer, timeout: float = 60) -> None:
    """Poll /healthz until it answers 200; fail with the server's log if it exits or hangs."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if server.process.poll() is not None:
            raise RuntimeError(f"gunicorn exited ({server.process.returncode}):\n{server.log()}")
        try:
            if requests.get(server.url + "/healthz", timeout=2).status_code == 200:
                return
        except requests.RequestException:
            pass
        time.sleep(0.1)
    raise RuntimeError(f"gunicorn did not answer /healthz within {timeout}s:\n{server.log()}")


class ApiClient:
    """HTTP calls to a started web server; after `login`, calls carry the Bearer token."""

    def __init__(self, base_url: str, timeout: float = 10):
        self.base_url = base_url
        self.timeout = timeout
        self.session = requests.Session()
        # A connection per request: gunicorn then stops at once instead of waiting out kept-alive
        # connections, and no request of a test rides on a connection an earlier fault broke.
        self.session.headers["Connection"] = "close"
        self.token: str | None = None

    def request(self, method: str, path: str, **kwargs) -> requests.Response:
        """Send `method` to `path` (relative to the server)."""
        kwargs.setdefault("timeout", self.timeout)
        return self.session.request(method, self.base_url + path, **kwargs)

    def get(self, path: str, **kwargs) -> requests.Response:
        """GET `path`."""
        return self.request("GET", path, **kwargs)

    def post(self, path: str, json=None, **kwargs) -> requests.Response:
        """POST `json` to `path`."""
        return self.request("POST", path, json=json, **kwargs)

    def signup(self, username: str, password: str, email: str = "") -> dict:
        """Create an account through the API (201 expected); return the new user."""
        body = {"username": username, "password": password}
        body["email"] = email or f"{username}@faults.example"
        response = self.post("/api/auth/signup/", body)
        assert response.status_code == 201, response.text
        return response.json()["user"]

    def login(self, username: str, password: str) -> dict:
        """Sign in (200 expected) and send the access token as a Bearer header from now on;
        the cookies are dropped, so only the header authenticates."""
        response = self.post("/api/auth/login/", {"username": username, "password": password})
        assert response.status_code == 200, response.text
        self.token = response.json()["access_token"]
        self.session.cookies.clear()
        self.session.headers["Authorization"] = f"Bearer {self.token}"
        return response.json()

    def admin_login(self, username: str, password: str) -> None:
        """Sign in to Django's admin with its form (a staff session cookie, no token)."""
        form = self.get("/admin/login/")
        token = re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', form.text)
        assert token, form.text
        response = self.request(
            "POST",
            "/admin/login/?next=/admin/",
            data={"username": username, "password": password, "csrfmiddlewaretoken": token[1]},
            allow_redirects=False,
        )
        assert response.status_code == 302, response.text
