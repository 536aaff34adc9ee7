"""CPU per authenticated `GET /api/auth/me/` against a plain DRF + simplejwt view: `make bench-me`.

Starts the real server (`run_web.sh`, gunicorn, no embedded workers: they have no part in this
request, and their idle polling would blur the figure) and a reference project written into a
temporary folder: one DRF `APIView` behind djangorestframework-simplejwt's `JWTAuthentication`
that returns the user's id and username, with Django's default middleware (`startproject`), a
JSON-only renderer, and the same SQLite settings as RBAS (WAL, persistent connections), served by
gunicorn the same way (2 gthread workers). Each repetition drives N authenticated requests over
one keep-alive connection at each server in turn (RBAS, reference, RBAS, ...) and reads the CPU
time (utime + stime, /proc/<pid>/stat) of the gunicorn master and workers before and after.
It prints, per server, the median over the repetitions of the CPU milliseconds per request and
of the p50 latency. Then, steadier on a shared machine, Django's part alone: a child process per
server loads its settings and database and calls its `WSGIHandler` in a loop with the same
request (process CPU time, no HTTP, no gunicorn), interleaved the same way.

`--baseline DIR` also serves another checkout of RBAS (e.g. `git worktree add /tmp/old main`)
in the same rotation, to compare two versions; `--requests` and `--repeat` change N and the
number of repetitions. Always SQLite, on fresh files.
"""

import argparse
import os
import shutil
import signal
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import requests
from server import OWNER, ROOT, free_port, percentile, sign_in, start_server

REFERENCE_SETTINGS = """
from pathlib import Path

BASE_DIR = Path(__file__).resolve().parent.parent
SECRET_KEY = "bench-only-reference-secret-key-0123456789abcdef"
DEBUG = False
ALLOWED_HOSTS = ["127.0.0.1", "localhost"]
INSTALLED_APPS = [
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "rest_framework",
]
# `django-admin startproject`'s stack.
MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
]
ROOT_URLCONF = "reference.urls"
WSGI_APPLICATION = "reference.wsgi.application"
DATABASES = {
    "default": {
        "ENGINE": "django.db.backends.sqlite3",
        "NAME": BASE_DIR / "reference.sqlite3",
        "OPTIONS": {"init_command": "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL;"},
        "CONN_MAX_AGE": 60,
        "CONN_HEALTH_CHECKS": True,
    }
}
USE_TZ = True
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"
REST_FRAMEWORK = {
    "DEFAULT_AUTHENTICATION_CLASSES": ["rest_framework_simplejwt.authentication.JWTAuthentication"],
    "DEFAULT_PERMISSION_CLASSES": ["rest_framework.permissions.IsAuthenticated"],
    "DEFAULT_RENDERER_CLASSES": ["rest_framework.renderers.JSONRenderer"],
}
"""

REFERENCE_URLS = """
from django.urls import path
from rest_framework.response import Response
from rest_framework.views import APIView
from rest_framework_simplejwt.views import TokenObtainPairView


class MeView(APIView):
    def get(self, request):
        return Response({"id": request.user.id, "username": request.user.username})


urlpatterns = [
    path("me/", MeView.as_view()),
    path("token/", TokenObtainPairView.as_view()),
]
"""

REFERENCE_WSGI = """
import os

from django.core.wsgi import get_wsgi_application

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "reference.settings")
application = get_wsgi_application()
"""


def start_reference(workdir: Path, port: int) -> subprocess.Popen:
    """Write the reference project into `workdir`, migrate it, create the owner and serve it
    with gunicorn (2 gthread workers); returns once it answers."""
    package = workdir / "reference"
    package.mkdir(parents=True)
    (package / "__init__.py").write_text("")
    (package / "settings.py").write_text(REFERENCE_SETTINGS)
    (package / "urls.py").write_text(REFERENCE_URLS)
    (package / "wsgi.py").write_text(REFERENCE_WSGI)
    environment = {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "reference.settings",
        "PYTHONPATH": str(workdir),
    }
    environment.pop("DATABASE_URL", None)
    django_admin = [sys.executable, "-m", "django"]
    subprocess.run([*django_admin, "migrate", "-v", "0"], cwd=workdir, env=environment, check=True)  # noqa: S603
    create = (
        "from django.contrib.auth.models import User; "
        f"User.objects.create_user({OWNER['username']!r}, password={OWNER['password']!r})"
    )
    subprocess.run([*django_admin, "shell", "-c", create], cwd=workdir, env=environment, check=True)  # noqa: S603
    log = (workdir / "server.log").open("wb")
    command = [
        sys.executable, "-m", "gunicorn", "reference.wsgi", "--bind", f"127.0.0.1:{port}",
        "--workers", "2", "--worker-class", "gthread", "--threads", "4",
    ]  # fmt: skip
    server = subprocess.Popen(  # noqa: S603
        command, cwd=workdir, env=environment, stdout=log, stderr=subprocess.STDOUT,
        start_new_session=True,
    )  # fmt: skip
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        try:
            requests.get(f"http://127.0.0.1:{port}/me/", timeout=5)
            return server
        except requests.RequestException:
            time.sleep(0.2)
    raise SystemExit(f"the reference server did not start:\n{(workdir / 'server.log').read_text()}")


def reference_token(url: str) -> str:
    response = requests.post(f"{url}/token/", json=OWNER, timeout=10)
    response.raise_for_status()
    return response.json()["access"]


def cpu_seconds(group: int) -> float:
    """CPU time (user and system) used so far by the processes of process group `group`: the
    gunicorn master and its workers (no embedded queue workers run here)."""
    total = 0
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue  # gone meanwhile
        if int(fields[2]) == group:  # pgrp
            total += int(fields[11]) + int(fields[12])  # utime, stime
    return total / os.sysconf("SC_CLK_TCK")


def drive(url: str, token: str, group: int, count: int) -> tuple[float, float]:
    """Send `count` authenticated GETs over one keep-alive connection; return the server's CPU
    milliseconds per request and the p50 latency in milliseconds."""
    session = requests.Session()
    session.headers["Authorization"] = f"Bearer {token}"
    for _ in range(20):  # warm-up: both workers' connections, imports, caches
        session.get(url, timeout=10).raise_for_status()
    latencies = []
    used = cpu_seconds(group)
    for _ in range(count):
        started = time.perf_counter()
        response = session.get(url, timeout=10)
        latencies.append(time.perf_counter() - started)
        response.raise_for_status()
    used = cpu_seconds(group) - used
    session.close()
    return used * 1000 / count, percentile(latencies, 0.5) * 1000


def in_process(root: str, settings: str, path: str, token: str, count: int) -> None:
    """Child mode: call Django's `WSGIHandler` `count` times for an authenticated GET of `path`
    and print the CPU milliseconds per request (the environment names settings and database)."""
    import io

    sys.path.insert(0, root)
    os.chdir(root)
    os.environ["DJANGO_SETTINGS_MODULE"] = settings
    import django
    from django.core.handlers.wsgi import WSGIHandler

    django.setup()
    handler = WSGIHandler()
    environ = {
        "REQUEST_METHOD": "GET", "PATH_INFO": path, "QUERY_STRING": "", "SERVER_NAME": "127.0.0.1",
        "SERVER_PORT": "80", "SERVER_PROTOCOL": "HTTP/1.1", "HTTP_HOST": "127.0.0.1",
        "HTTP_AUTHORIZATION": f"Bearer {token}", "HTTP_ACCEPT": "*/*", "wsgi.url_scheme": "http",
        "HTTP_USER_AGENT": "python-requests", "HTTP_ACCEPT_ENCODING": "gzip, deflate",
    }  # fmt: skip

    def start_response(status, headers):
        if not status.startswith("200"):
            raise SystemExit(f"{path} answered {status}")

    def call():
        response = handler({**environ, "wsgi.input": io.BytesIO()}, start_response)
        b"".join(response)
        response.close()

    for _ in range(200):
        call()
    started = time.process_time()
    for _ in range(count):
        call()
    print((time.process_time() - started) * 1000 / count)


def main() -> None:
    if sys.argv[1:2] == ["--in-process"]:
        in_process(*sys.argv[2:6], int(sys.argv[6]))
        return
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--requests", type=int, default=2000, help="requests per repetition")
    parser.add_argument("--repeat", type=int, default=5, help="repetitions (interleaved)")
    parser.add_argument("--baseline", type=Path, help="another RBAS checkout to compare")
    options = parser.parse_args()
    workdir = Path(tempfile.mkdtemp(prefix="rbas-bench-me-"))
    print(f"machine: {os.cpu_count()} cores; SQLite; interpreter {sys.executable}")
    print(
        f"{options.requests} sequential requests (keep-alive) per repetition, "
        f"{options.repeat} repetitions"
    )
    checkouts = {"RBAS": ROOT}
    if options.baseline:
        checkouts = {"RBAS (baseline)": options.baseline.resolve(), "RBAS (this checkout)": ROOT}
    servers: list[subprocess.Popen] = []
    targets: dict[str, tuple[str, str, int]] = {}
    children: dict[str, tuple[str, str, str, str, dict[str, str]]] = {}
    try:
        for index, (name, root) in enumerate(checkouts.items()):
            folder = workdir / f"rbas{index}"
            folder.mkdir()
            port = free_port()
            server = start_server(
                folder, port, {}, root=root, EMBEDDED_WORKERS="0",
                DATABASE_URL=f"sqlite:///{folder / 'bench.sqlite3'}",
            )  # fmt: skip
            servers.append(server)
            url = f"http://127.0.0.1:{port}"
            targets[name] = (f"{url}/api/auth/me/", sign_in(url), server.pid)
            children[name] = (
                str(root), "simple_rbas.settings", "/api/auth/me/", targets[name][1],
                {"DJANGO_READ_DOT_ENV_FILE": "false", "LOG_LEVEL": "WARNING",
                 "SECRET_KEY": "bench-only-secret-key-0123456789abcdef",
                 "DATABASE_URL": f"sqlite:///{folder / 'bench.sqlite3'}",
                 "SCRIPTS_DIR": str(folder / "scripts")},
            )  # fmt: skip
        port = free_port()
        reference = start_reference(workdir / "reference", port)
        servers.append(reference)
        url = f"http://127.0.0.1:{port}"
        targets["plain DRF + simplejwt"] = (f"{url}/me/", reference_token(url), reference.pid)
        children["plain DRF + simplejwt"] = (
            str(workdir / "reference"),
            "reference.settings",
            "/me/",
            targets["plain DRF + simplejwt"][1],
            {},
        )
        results: dict[str, list[tuple[float, float]]] = {name: [] for name in targets}
        for repetition in range(options.repeat):
            # Rotate the order too, so that no server always follows the same one.
            names = list(targets)
            names = names[repetition % len(names) :] + names[: repetition % len(names)]
            for name in names:
                results[name].append(drive(*targets[name], options.requests))
        width = max(len(name) for name in targets)
        print(f"{'server':<{width}}  CPU ms/request (median, each)      p50 latency ms (median)")
        for name, figures in results.items():
            cpu = [figure[0] for figure in figures]
            latency = [figure[1] for figure in figures]
            each = " ".join(f"{value:.2f}" for value in cpu)
            cpu_ms, p50 = statistics.median(cpu), statistics.median(latency)
            print(f"{name:<{width}}  {cpu_ms:5.2f} ({each})  {p50:6.2f}")
        alone: dict[str, list[float]] = {name: [] for name in children}
        for repetition in range(options.repeat):
            names = list(children)
            names = names[repetition % len(names) :] + names[: repetition % len(names)]
            for name in names:
                root, settings, path, token, env = children[name]
                command = [
                    sys.executable, __file__, "--in-process", root, settings, path, token,
                    str(options.requests),
                ]  # fmt: skip
                environment = {k: v for k, v in os.environ.items() if k != "DATABASE_URL"}
                output = subprocess.run(  # noqa: S603
                    command, env={**environment, **env}, capture_output=True, text=True,
                    check=True,
                ).stdout  # fmt: skip
                alone[name].append(float(output.split()[-1]))
        print(f"{'Django alone':<{width}}  CPU ms/request in-process (median, each)")
        for name, figures in alone.items():
            each = " ".join(f"{value:.3f}" for value in figures)
            print(f"{name:<{width}}  {statistics.median(figures):5.3f} ({each})")
    finally:
        for server in servers:
            os.killpg(server.pid, signal.SIGTERM)
        for server in servers:
            server.wait(timeout=60)
        shutil.rmtree(workdir, ignore_errors=True)


if __name__ == "__main__":
    main()
