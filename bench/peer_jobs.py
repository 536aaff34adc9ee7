"""The jobs `bench/peers.py` runs through RQ and Celery, the same work as bench/runs.py's scripts.

Plain functions with no imports beyond the standard library, so that RQ's work horse (a fork
per job that imports the job's module) pays what a small job module costs; Celery's tasks wrap
them in bench/peer_celery.py.
"""

import time


def work() -> int:
    """Ten milliseconds of work (a busy loop, as in bench/runs.py's bench_work.py)."""
    end = time.perf_counter() + 0.010
    n = 0
    while time.perf_counter() < end:
        n += 1
    return n


def noop(i: int = 0) -> int:
    """Nothing (as bench/runs.py's bench_trivial.py)."""
    return i
