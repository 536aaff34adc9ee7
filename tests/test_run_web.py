"""End to end: `run_web.sh` starts real gunicorn on a free port and a client signs in over HTTP."""

import os
import signal
import socket
import subprocess
import sys
import time
import uuid
from pathlib import Path

import environ
import psycopg
import pytest
import requests

ROOT = Path(__file__).resolve().parent.parent
OWNER = {"username": "e2e-owner", "password": "an-e2e-owner-passphrase"}


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def base_env(**extra: str) -> dict[str, str]:
    """A minimal environment: the suite's own settings must not leak into the server."""
    env = {k: os.environ[k] for k in ("PATH", "HOME", "LANG") if k in os.environ}
    env["PATH"] = f"{Path(sys.executable).parent}:{env.get('PATH', '')}"
    env |= {
        "PYTHON": sys.executable,
        "DJANGO_READ_DOT_ENV_FILE": "false",
        "SECRET_KEY": "e2e-secret-key-" + uuid.uuid4().hex,
        "HOST": "127.0.0.1",
        "WEB_CONCURRENCY": "1",
    }
    return env | extra


@pytest.fixture
def database_url(tmp_path):
    """A database of the suite's kind for the server alone: a scratch PostgreSQL database in
    the PostgreSQL run, a fresh SQLite file otherwise."""
    url = os.environ.get("DATABASE_URL", "")
    if not url.startswith(("postgres://", "postgresql://")):
        yield f"sqlite:///{tmp_path / 'e2e.sqlite3'}"
        return
    config = environ.Env.db_url_config(url)
    name = f"rbas_e2e_{uuid.uuid4().hex[:12]}"
    admin = psycopg.connect(
        host=config["HOST"],
        port=config["PORT"] or 5432,
        user=config["USER"],
        password=config["PASSWORD"],
        dbname="postgres",
        autocommit=True,
    )
    with admin.cursor() as cursor:
        cursor.execute(f'CREATE DATABASE "{name}"')
    try:
        yield url.rsplit("/", 1)[0] + f"/{name}"
    finally:
        with admin.cursor() as cursor:
            cursor.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        admin.close()


def start(command: list[str], env: dict[str, str], log: Path) -> subprocess.Popen:
    with log.open("wb") as out:
        return subprocess.Popen(
            command, cwd=ROOT, env=env, stdout=out, stderr=subprocess.STDOUT,
            start_new_session=True,
        )  # fmt: skip


def wait_until_up(process: subprocess.Popen, url: str, log: Path, timeout: float = 90) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process.poll() is not None:
            pytest.fail(f"server exited with {process.returncode}:\n{log.read_text()}")
        try:
            if requests.get(url + "/healthz", timeout=5).status_code == 200:
                return
        except requests.RequestException:  # not listening yet, or still booting its workers
            time.sleep(0.2)
    pytest.fail(f"server did not answer within {timeout}s:\n{log.read_text()}")


def stop(process: subprocess.Popen) -> None:
    try:
        os.killpg(process.pid, signal.SIGTERM)
    except ProcessLookupError:
        return
    try:
        process.wait(timeout=20)
    except subprocess.TimeoutExpired:
        os.killpg(process.pid, signal.SIGKILL)
        process.wait()


def test_run_web_serves_gunicorn_and_a_client_signs_in_over_http(database_url, tmp_path):
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    log = tmp_path / "server.log"
    env = base_env(
        PORT=str(port),
        DATABASE_URL=database_url,
        DJANGO_SUPERUSER_USERNAME=OWNER["username"],
        DJANGO_SUPERUSER_EMAIL="owner@e2e.example",
        DJANGO_SUPERUSER_PASSWORD=OWNER["password"],
    )
    server = start([str(ROOT / "run_web.sh")], env, log)
    try:
        wait_until_up(server, url, log)
        assert requests.get(url + "/readyz", timeout=5).status_code == 200

        browser = requests.Session()
        login = browser.post(url + "/api/auth/login/", json=OWNER, timeout=5)
        assert login.status_code == 200
        assert login.headers["Server"].startswith("gunicorn")
        assert login.json()["user"]["level"] == 0  # the bootstrapped owner
        assert "HttpOnly" in login.headers["Set-Cookie"]
        token = login.json()["access_token"]

        me = browser.get(url + "/api/auth/me/", timeout=5)
        assert me.status_code == 200 and "owner" in me.json()["policies"]
        assert browser.post(url + "/only-owner/", timeout=5).status_code == 403  # no CSRF header
        csrf = {"X-CSRFToken": browser.cookies["csrftoken"]}
        assert browser.post(url + "/only-owner/", headers=csrf, timeout=5).status_code == 200
        # An embedded worker runs a published script.
        run = browser.post(
            url + "/api/scripts/hello/runs/?wait=20",
            json={"params": {"name": "e2e"}},
            headers=csrf,
            timeout=25,
        )
        assert run.status_code == 200, run.text
        assert run.json()["result"] == {"greeting": "Hello, e2e."}
        assert browser.post(url + "/api/auth/logout/", headers=csrf, timeout=5).status_code == 204
        bearer = {"Authorization": f"Bearer {token}"}
        assert requests.get(url + "/api/auth/me/", headers=bearer, timeout=5).status_code == 401
        # TERM to the container's PID 1 (run_web.sh, which became gunicorn) stops gunicorn
        # and the embedded workers with it, within the graceful timeout.
        server.send_signal(signal.SIGTERM)
        server.wait(timeout=20)
        time.sleep(0.5)
        with pytest.raises(ProcessLookupError):
            os.killpg(server.pid, 0)
    finally:
        stop(server)
    output = log.read_text()
    assert "Owner bootstrap: created owner 'e2e-owner'." in output
    assert "Started 2 embedded queue workers." in output
    assert "Stopped 2 embedded queue workers." in output
    assert "added hello" in output
    assert token not in output  # tokens never reach the logs


def test_readiness_fails_and_liveness_holds_when_the_database_is_unreachable(tmp_path):
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    log = tmp_path / "server.log"
    env = base_env(DATABASE_URL="postgres://postgres@127.0.0.1:1/unreachable")
    command = [sys.executable, "-m", "gunicorn", "simple_rbas.wsgi", "-b", f"127.0.0.1:{port}"]
    server = start(command, env, log)
    try:
        wait_until_up(server, url, log)
        ready = requests.get(url + "/readyz", timeout=10)
        assert ready.status_code == 503
        assert ready.json() == {"status": "unavailable", "reason": "database unreachable"}
    finally:
        stop(server)


def test_two_gunicorn_processes_share_the_login_throttle(database_url, tmp_path):
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    log = tmp_path / "server.log"
    env = base_env(
        PORT=str(port),
        DATABASE_URL=database_url,
        WEB_CONCURRENCY="2",
        EMBEDDED_WORKERS="0",
        LOGIN_THROTTLE_PER_USERNAME="5/min",
    )
    server = start([str(ROOT / "run_web.sh")], env, log)
    try:
        wait_until_up(server, url, log)
        # A connection per attempt, so gunicorn spreads them over both processes.
        statuses = [
            requests.post(
                url + "/api/auth/login/",
                json={"username": "victim", "password": f"guess-{attempt}"},
                headers={"Connection": "close"},
                timeout=5,
            ).status_code
            for attempt in range(10)
        ]
    finally:
        stop(server)
    # Each process counting alone allowed up to 5 per process; the shared count allows 5.
    assert statuses == [401] * 5 + [429] * 5
    assert "Booting worker" in log.read_text()


def test_run_web_starts_even_when_a_script_file_is_rejected(database_url, tmp_path):
    scripts = tmp_path / "scripts"
    scripts.mkdir()
    (scripts / "hello.py").write_bytes((ROOT / "scripts" / "hello.py").read_bytes())
    (scripts / "broken.py").write_text('"""Broken"""\ndef main(:\n    pass\n')
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    log = tmp_path / "server.log"
    env = base_env(
        PORT=str(port), DATABASE_URL=database_url, EMBEDDED_WORKERS="0", SCRIPTS_DIR=str(scripts)
    )
    server = start([str(ROOT / "run_web.sh")], env, log)
    try:
        wait_until_up(server, url, log)
        assert requests.get(url + "/readyz", timeout=5).status_code == 200
    finally:
        stop(server)
    output = log.read_text()
    assert "added hello" in output
    assert "rejected broken.py: Python cannot parse the file" in output
