"""Benchmark of the web under load: `make bench` (after bench/runs.py).

Starts the real server (`run_web.sh`, as `make run` does; PostgreSQL when DATABASE_URL names
one) and measures:
  1. authenticated GET throughput: `wrk` (Debian's package) with a Bearer token on
     `/api/auth/me/` and on `/api/runs/`, 32 connections for 10 s each, and the CPU time the
     server's processes spent per request (steadier than the rate on a shared machine);
  2. held long-polls: HELD clients each hold `GET /api/runs/<id>/?wait=WAIT` on a run that
     lasts longer, while one client signs in and another calls `/healthz` one after the other:
     their median and p95 latency, how many long-polls the server held and how long the
     longest took to answer (it must be within WAIT + 1 s).
"""

import os
import re
import shutil
import signal
import statistics
import subprocess
import sys
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import requests
from server import OWNER, free_port, percentile, sign_in, start_server

HELD = int(os.environ.get("BENCH_HELD_POLLS", "200"))
WAIT = 10
SCRIPTS = {
    "bench_sleep.py": (
        '"""Sleeps"""\nimport time\nPOLICY = "authenticated"\nTIMEOUT_SECONDS = 120\n'
        "def main(seconds: float = 60):\n    time.sleep(seconds)\n"
    ),
}


def cpu_seconds(group: int) -> float:
    """CPU time (user and system) used so far by the processes of process group `group`."""
    total = 0
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue  # gone meanwhile
        if int(fields[2]) == group:  # pgrp
            total += int(fields[11]) + int(fields[12])  # utime, stime
    return total / os.sysconf("SC_CLK_TCK")


def peak_rss_mb(group: int) -> dict[int, float]:
    """Peak resident memory (VmHWM, MB) of each gunicorn process in process group `group`."""
    peaks = {}
    for status in Path("/proc").glob("[0-9]*/status"):
        try:
            fields = dict(line.split(":", 1) for line in status.read_text().splitlines())
            cmdline = (status.parent / "cmdline").read_bytes()
        except (OSError, ValueError):
            continue
        if int(fields["NSpgid"].split()[-1]) == group and b"gunicorn" in cmdline:
            peaks[int(status.parent.name)] = int(fields["VmHWM"].split()[0]) / 1024
    return peaks


def throughput(url: str, path: str, token: str, group: int) -> tuple[float, float]:
    """Requests per second that wrk measures on `path`, and the server's CPU ms per request
    (steadier than the rate on a machine whose other tenants come and go)."""
    wrk = shutil.which("wrk")
    if not wrk:
        raise SystemExit("bench/web.py needs wrk: apt-get install wrk")
    command = [wrk, "-t2", "-c32", "-d10s", "-H", f"Authorization: Bearer {token}", url + path]
    used = cpu_seconds(group)
    output = subprocess.run(command, capture_output=True, text=True, check=True).stdout  # noqa: S603
    used = cpu_seconds(group) - used
    non_2xx = re.search(r"Non-2xx or 3xx responses: (\d+)", output)
    if non_2xx:
        raise SystemExit(f"wrk saw {non_2xx.group(1)} failed requests on {path}:\n{output}")
    requests_done = int(re.search(r"(\d+) requests in", output).group(1))
    rate = float(re.search(r"Requests/sec:\s+([\d.]+)", output).group(1))
    return rate, used * 1000 / requests_done


def held_long_polls(url: str, token: str) -> None:
    """Hold HELD long-polls and measure sign-ins and /healthz meanwhile."""
    headers = {"Authorization": f"Bearer {token}"}
    run = requests.post(
        f"{url}/api/scripts/bench-sleep/runs/", json={"params": {"seconds": 3 * WAIT}},
        headers=headers, timeout=10,
    ).json()  # fmt: skip
    poll_times, statuses = [], []

    def hold(_: int) -> None:
        started = time.perf_counter()
        try:
            response = requests.get(
                f"{url}/api/runs/{run['id']}/?wait={WAIT}", headers=headers, timeout=120
            )
        except requests.RequestException as error:
            statuses.append(type(error).__name__)
        else:
            statuses.append(response.status_code)
        poll_times.append(time.perf_counter() - started)

    pool = ThreadPoolExecutor(max_workers=HELD)
    for index in range(HELD):
        pool.submit(hold, index)
    time.sleep(1.5)  # every long-poll has arrived and waits
    # Probes sent while the long-polls are held, each on a new connection (as a browser tab or
    # a Kubernetes probe makes: any process may take it), a few tenths of a second apart.
    logins, health = [], []

    def probe(index: int) -> None:
        time.sleep(index * 0.3)
        if index % 2:
            health.append(requests.get(f"{url}/healthz", timeout=120).elapsed.total_seconds())
            return
        response = requests.post(f"{url}/api/auth/login/", json=OWNER, timeout=120)
        if response.status_code != 200:
            raise SystemExit(f"login failed: {response.status_code}")
        logins.append(response.elapsed.total_seconds())

    with ThreadPoolExecutor(max_workers=40) as probes:
        list(probes.map(probe, range(40)))
    pool.shutdown(wait=True)
    quick = sum(1 for seconds in poll_times if seconds < WAIT - 1)
    print(
        f"{HELD} long-polls (?wait={WAIT}) at once: {HELD - quick} held for their wait, "
        f"{quick} answered early; slowest {max(poll_times):.2f} s; statuses "
        f"{sorted(set(statuses))}"
    )
    print(
        f"  meanwhile: login median {statistics.median(logins) * 1000:.0f} ms, "
        f"p95 {percentile(logins, 0.95) * 1000:.0f} ms; /healthz median "
        f"{statistics.median(health) * 1000:.0f} ms, p95 {percentile(health, 0.95) * 1000:.0f} ms"
    )
    requests.post(f"{url}/api/runs/{run['id']}/cancel/", headers=headers, timeout=10)


def main() -> None:
    workdir = Path(tempfile.mkdtemp(prefix="rbas-bench-web-"))
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    database = "PostgreSQL" if os.environ.get("DATABASE_URL") else "SQLite"
    print(f"machine: {os.cpu_count()} cores; {database}; interpreter {sys.executable}")
    server = start_server(
        workdir, port, SCRIPTS, EMBEDDED_WORKERS="1", MAX_ACTIVE_RUNS_PER_USER="10",
        # Sign-ins are measured, not attacked: no throttling in the way.
        LOGIN_THROTTLE_PER_USERNAME="10000/min", LOGIN_THROTTLE_PER_ADDRESS="10000/min",
    )  # fmt: skip
    try:
        token = sign_in(url)
        for path in ("/api/auth/me/", "/api/runs/"):
            throughput(url, path, token, server.pid)  # warm-up
            rate, cpu_ms = throughput(url, path, token, server.pid)
            print(f"authenticated GET {path}: {rate:.0f} requests/s, {cpu_ms:.2f} ms CPU each")
        if HELD:
            held_long_polls(url, token)
            peaks = sorted(peak_rss_mb(server.pid).values())
            print("  gunicorn processes' peak RSS: " + ", ".join(f"{mb:.0f} MB" for mb in peaks))
    finally:
        os.killpg(server.pid, signal.SIGTERM)
        server.wait(timeout=60)
        shutil.rmtree(workdir, ignore_errors=True)


if __name__ == "__main__":
    main()
