"""What the benchmarks share: a free port, percentiles, and the real server started the way
`make run` starts it (`run_web.sh`: migrations, gunicorn, embedded workers) on a fresh database."""

import os
import socket
import subprocess
import sys
import time
from pathlib import Path

import requests

ROOT = Path(__file__).resolve().parent.parent
OWNER = {"username": "bench-owner", "password": "a-bench-owner-passphrase"}


def free_port() -> int:
    """A TCP port nobody listens on now."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def percentile(values: list[float], fraction: float) -> float:
    """The value below which `fraction` of `values` lie (nearest rank)."""
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(fraction * (len(ordered) - 1)))]


def start_server(
    workdir: Path, port: int, scripts: dict[str, str], *, root: Path = ROOT, **env: str
) -> subprocess.Popen:
    """Start `run_web.sh` on a fresh SQLite file in `workdir` (or on DATABASE_URL when the
    environment names one), with `scripts` as its catalog and an owner account; returns once
    it is ready. `root` is the checkout to serve (another one to compare two versions)."""
    folder = workdir / "scripts"
    folder.mkdir()
    for name, source in scripts.items():
        (folder / name).write_text(source)
    environment = {
        "PATH": f"{Path(sys.executable).parent}:{os.environ['PATH']}",
        "PYTHON": sys.executable,
        "DJANGO_READ_DOT_ENV_FILE": "false",
        "SECRET_KEY": "bench-only-secret-key-0123456789abcdef",
        "DATABASE_URL": os.environ.get("DATABASE_URL", f"sqlite:///{workdir / 'bench.sqlite3'}"),
        "SCRIPTS_DIR": str(folder),
        "HOST": "127.0.0.1",
        "PORT": str(port),
        "DJANGO_SUPERUSER_USERNAME": OWNER["username"],
        "DJANGO_SUPERUSER_EMAIL": "bench@example.com",
        "DJANGO_SUPERUSER_PASSWORD": OWNER["password"],
        "LOG_LEVEL": "WARNING",
        **env,
    }
    log = (workdir / "server.log").open("wb")
    server = subprocess.Popen(  # noqa: S603
        [str(root / "run_web.sh")], env=environment, stdout=log, stderr=subprocess.STDOUT,
        start_new_session=True,
    )  # fmt: skip
    url = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:
        try:
            if requests.get(url + "/readyz", timeout=5).status_code == 200:
                time.sleep(2)  # let the embedded workers start their sandboxes
                return server
        except requests.RequestException:
            pass
        time.sleep(0.2)
    raise SystemExit(f"the server did not start:\n{(workdir / 'server.log').read_text()}")


def sign_in(url: str) -> str:
    """The owner's access token."""
    response = requests.post(f"{url}/api/auth/login/", json=OWNER, timeout=10)
    response.raise_for_status()
    return response.json()["access_token"]
