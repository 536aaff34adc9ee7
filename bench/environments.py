"""Benchmark of scripts with PEP 723 dependencies: `make bench`.

Builds a one-module wheel here and points uv at it only (UV_NO_INDEX, UV_FIND_LINKS), then:
  1. the cold build: resolving and installing that dependency set with empty uv cache and
     environments folders (what the first run on a new worker host waits for), and a rebuild
     from a warm uv cache (a new lock on a host that downloaded the packages before);
  2. against the real server (`run_web.sh`, two embedded workers, SQLite): once the environment
     is ready, 40 sequential runs (`?wait=`) of a script that imports the dependency and of a
     plain script: median and p95 latency.
"""

import base64
import hashlib
import os
import shutil
import signal
import statistics
import sys
import tempfile
import time
import zipfile
from pathlib import Path

import requests
from runs import sequential
from server import ROOT, free_port, percentile, sign_in, start_server

SCRIPTS = {
    "bench_plain.py": '"""Plain"""\nPOLICY = "authenticated"\ndef main():\n    return 42\n',
    "bench_deps.py": (
        '# /// script\n# dependencies = ["rbas-bench-probe"]\n# ///\n'
        '"""With a dependency"""\nimport rbas_bench_probe\nPOLICY = "authenticated"\n'
        "def main():\n    return rbas_bench_probe.VALUE\n"
    ),
}


def write_wheel(folder: Path) -> None:
    """The wheel of `rbas-bench-probe` 1.0: one module, written by hand."""
    dist = "rbas_bench_probe-1.0"
    entries = {
        "rbas_bench_probe/__init__.py": "VALUE = 42\n",
        f"{dist}.dist-info/METADATA": (
            "Metadata-Version: 2.1\nName: rbas-bench-probe\nVersion: 1.0\n"
        ),
        f"{dist}.dist-info/WHEEL": "Wheel-Version: 1.0\nRoot-Is-Purelib: true\nTag: py3-none-any\n",
    }
    record = ""
    for path, text in entries.items():
        digest = base64.urlsafe_b64encode(hashlib.sha256(text.encode()).digest()).rstrip(b"=")
        record += f"{path},sha256={digest.decode()},{len(text.encode())}\n"
    entries[f"{dist}.dist-info/RECORD"] = record + f"{dist}.dist-info/RECORD,,\n"
    with zipfile.ZipFile(folder / f"{dist}-py3-none-any.whl", "w") as archive:
        for path, text in entries.items():
            archive.writestr(path, text)


def cold_build(workdir: Path) -> tuple[float, float]:
    """Seconds to resolve and build the environment from nothing, then with uv's cache warm."""
    os.environ.update(
        DJANGO_SETTINGS_MODULE="simple_rbas.settings",
        DJANGO_READ_DOT_ENV_FILE="false",
        SECRET_KEY="bench-only-secret-key-0123456789abcdef",  # noqa: S106 - a throwaway
        SCRIPT_ENVIRONMENTS_DIR=str(workdir / "cold-environments"),
        SCRIPT_UV_CACHE_DIR=str(workdir / "cold-uv-cache"),
    )
    sys.path.insert(0, str(ROOT))
    import django

    django.setup()
    from scripts_api import environments

    def build() -> float:
        started = time.perf_counter()
        lock = environments.resolve(["rbas-bench-probe"], lambda: None, time.monotonic() + 300)
        with environments.environment(lock):
            pass
        return time.perf_counter() - started

    cold = build()
    shutil.rmtree(workdir / "cold-environments")
    return cold, build()


def wait_ready(session: requests.Session, url: str) -> float:
    """Seconds until the script's environment is ready (built by the queue after the sync)."""
    started = time.perf_counter()
    while time.perf_counter() - started < 120:
        state = session.get(f"{url}/api/scripts/bench-deps/", timeout=10).json()["dependencies"]
        if state["status"] == "ready":
            return time.perf_counter() - started
        if state["status"] == "failed":
            raise SystemExit(f"the environment failed: {state['error']}")
        time.sleep(0.05)
    raise SystemExit("the environment was not ready within 120 s")


def main() -> None:
    workdir = Path(tempfile.mkdtemp(prefix="rbas-bench-env-"))
    wheels = workdir / "wheels"
    wheels.mkdir()
    write_wheel(wheels)
    os.environ.update(UV_NO_INDEX="1", UV_FIND_LINKS=str(wheels))
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    server = start_server(
        workdir,
        port,
        SCRIPTS,
        EMBEDDED_WORKERS="2",
        SCRIPT_ENVIRONMENTS_DIR=str(workdir / "environments"),
        UV_NO_INDEX="1",
        UV_FIND_LINKS=str(wheels),
    )
    try:
        session = requests.Session()
        session.headers["Authorization"] = f"Bearer {sign_in(url)}"
        session.cookies.clear()
        ready = wait_ready(session, url)
        print(f"environment ready {ready:.2f} s after the server was (built by the queue)")
        sequential(session, url, "bench-plain")  # warm-up
        sequential(session, url, "bench-deps")
        for slug in ("bench-plain", "bench-deps"):
            latencies = sequential(session, url, slug)
            print(f"40 sequential runs of {slug}: median "
                  f"{statistics.median(latencies) * 1000:.1f} ms, "
                  f"p95 {percentile(latencies, 0.95) * 1000:.1f} ms")  # fmt: skip
    finally:
        os.killpg(server.pid, signal.SIGTERM)
        server.wait(timeout=30)
    cold, rebuild = cold_build(workdir)
    print(f"cold build (resolve + install, empty uv cache): {cold:.2f} s; "
          f"again from uv's warm cache: {rebuild:.2f} s")  # fmt: skip
    shutil.rmtree(workdir, ignore_errors=True)


if __name__ == "__main__":
    main()
