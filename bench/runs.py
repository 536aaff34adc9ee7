"""Benchmark of script runs end to end: `make bench`.

Starts the real server (`run_web.sh`: gunicorn and two embedded workers) on a fresh SQLite
database and measures, in one go:
  1. the floor: median time to spawn `<interpreter> -I -c pass` with the runner's interpreter;
  2. 40 sequential runs of a script doing 10 ms of work, each submitted with `?wait=`: median
     and p95 end-to-end latency (HTTP submit to finished result) and the total;
  3. 40 sequential runs of a trivial script the same way: median and p95 latency;
  4. 200 runs of a trivial script submitted at once: throughput (runs/s, first submit to last
     finish).
It prints each figure and the ratio of the median latencies to the floor.
"""

import os
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
from server import free_port, percentile, sign_in, start_server

SCRIPTS = {
    "bench_work.py": (
        '"""Ten milliseconds of work"""\n'
        "import time\n"
        'POLICY = "authenticated"\n'
        "def main():\n"
        "    end = time.perf_counter() + 0.010\n"
        "    n = 0\n"
        "    while time.perf_counter() < end:\n"
        "        n += 1\n"
        "    return n\n"
    ),
    "bench_trivial.py": (
        '"""Trivial"""\nPOLICY = "authenticated"\ndef main(i: int = 0):\n    return i\n'
    ),
}
SEQUENTIAL_RUNS = 40
BURST_RUNS = 200


def spawn_floor(python: str, samples: int = 30) -> float:
    """Median seconds to start and finish `<python> -I -c pass`."""
    times = []
    for _ in range(samples):
        started = time.perf_counter()
        subprocess.run([python, "-I", "-c", "pass"], check=True)  # noqa: S603
        times.append(time.perf_counter() - started)
    return statistics.median(times)


def sequential(session: requests.Session, url: str, slug: str) -> list[float]:
    """Latencies of runs submitted one after another, each with ?wait=."""
    latencies = []
    for _ in range(SEQUENTIAL_RUNS):
        started = time.perf_counter()
        response = session.post(f"{url}/api/scripts/{slug}/runs/?wait=30", json={}, timeout=40)
        latencies.append(time.perf_counter() - started)
        if response.status_code != 200 or response.json()["status"] != "succeeded":
            raise SystemExit(f"run failed: {response.status_code} {response.text[:300]}")
    return latencies


def burst(token: str, url: str, verbose: bool = True) -> tuple[float, int]:
    """Submit BURST_RUNS trivial runs at once; seconds until the last one finished.

    Completion is watched through the run list, a few times a second, so that the watching
    does not take CPU from the workers being measured: the burst is over when no run of the
    script is queued or running (one row asked for each); the outcomes are then read from the
    list, page after page (it has no count: it pages by cursor).
    """
    headers = {"Authorization": f"Bearer {token}"}

    def submit(i: int) -> str:
        response = requests.post(
            f"{url}/api/scripts/bench-trivial/runs/", json={"params": {"i": i}},
            headers=headers, timeout=30,
        )  # fmt: skip
        response.raise_for_status()
        return response.json()["id"]

    def any_with(status: str) -> bool:
        query = f"{url}/api/runs/?script=bench-trivial&status={status}&page_size=1"
        return bool(requests.get(query, headers=headers, timeout=10).json()["results"])

    def outcomes(ids: set[str]) -> dict[str, str]:
        found, link = {}, f"{url}/api/runs/?script=bench-trivial&page_size=100"
        while link and len(found) < len(ids):
            body = requests.get(link, headers=headers, timeout=10).json()
            found.update((r["id"], r["status"]) for r in body["results"] if r["id"] in ids)
            link = body["next"]
        return found

    started = time.perf_counter()
    with ThreadPoolExecutor(max_workers=8) as pool:
        ids = list(pool.map(submit, range(BURST_RUNS)))
    if verbose:
        print(f"{len(ids)} runs submitted (8 clients) in {time.perf_counter() - started:.2f} s")
    while any_with("queued") or any_with("running"):
        time.sleep(0.05)
    elapsed = time.perf_counter() - started
    succeeded = sum(status == "succeeded" for status in outcomes(set(ids)).values())
    if succeeded != len(ids):
        raise SystemExit(f"only {succeeded} of {len(ids)} burst runs succeeded")
    return elapsed, len(ids)


def report(name: str, latencies: list[float], floor: float) -> None:
    median = statistics.median(latencies)
    print(f"{name}: median {median * 1000:.1f} ms, p95 {percentile(latencies, 0.95) * 1000:.1f} ms,"
          f" total {sum(latencies):.3f} s for {len(latencies)} runs,"
          f" median/floor {median / floor:.2f}")  # fmt: skip


def main() -> None:
    workdir = Path(tempfile.mkdtemp(prefix="rbas-bench-"))
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    print(f"machine: {os.cpu_count()} cores; interpreter {sys.executable}")
    floor = spawn_floor(sys.executable)
    print(f"floor: median spawn of `{Path(sys.executable).name} -I -c pass`: {floor * 1000:.1f} ms")
    server = start_server(
        workdir, port, SCRIPTS, EMBEDDED_WORKERS="2", MAX_ACTIVE_RUNS_PER_USER=str(BURST_RUNS)
    )
    try:
        session = requests.Session()
        token = sign_in(url)
        session.headers["Authorization"] = f"Bearer {token}"
        session.cookies.clear()
        sequential(session, url, "bench-trivial")  # warm-up: connections, caches
        work = sequential(session, url, "bench-work")
        report("40 sequential 10 ms runs", work, floor)
        trivial = sequential(session, url, "bench-trivial")
        report("40 sequential trivial runs", trivial, floor)
        seconds, count = burst(token, url)
        print(f"{count} trivial runs submitted at once: {seconds:.2f} s, "
              f"{count / seconds:.0f} runs/s")  # fmt: skip
    finally:
        os.killpg(server.pid, signal.SIGTERM)
        server.wait(timeout=30)
        shutil.rmtree(workdir, ignore_errors=True)


if __name__ == "__main__":
    main()
