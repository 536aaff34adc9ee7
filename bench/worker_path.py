"""Where a worker spends a run's time, from claiming its task to finishing it: `python
bench/worker_path.py [N]`.

No HTTP, no second process: on a fresh SQLite file (or on DATABASE_URL's PostgreSQL, whose
tables must be migrated), it queues N runs of a no-op script with `run_create`, then drives the
real `db_worker` loop body (`RunWorker.claim_next`, then `run_task`) for each and stamps every
phase with time.perf_counter():

- claim: the transaction that claims the task and its run;
- load: reading the claimed run (and its script) back;
- prepare: the version to run and the secrets (`_execute` before the sandbox);
- sandbox: `Sandbox.run`, request to report (the script itself does nothing);
- record: the outcome's commit (`_record`) and the working folder's removal;
- finish: the task marked finished (now inside the commit of `record`, and counted there too);
- total: claim to finish.

It prints the p50 and p90 of each phase in milliseconds, and the process's CPU time per run
(the sandbox server and its children included, as children's CPU once they are reaped).
"""

import os
import shutil
import statistics
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
SCRIPT = '"""No-op"""\nPOLICY = "authenticated"\ndef main(i: int = 0):\n    return i\n'


def setup(workdir: Path) -> None:
    sys.path.insert(0, str(ROOT))
    (workdir / "scripts").mkdir()
    (workdir / "scripts" / "noop.py").write_text(SCRIPT)
    os.environ.setdefault("DATABASE_URL", f"sqlite:///{workdir / 'bench.sqlite3'}")
    os.environ.update(
        DJANGO_SETTINGS_MODULE="simple_rbas.settings",
        DJANGO_READ_DOT_ENV_FILE="false",
        SECRET_KEY="bench-only-secret-key-0123456789abcdef",  # noqa: S106
        SCRIPTS_DIR=str(workdir / "scripts"),
        MAX_ACTIVE_RUNS_PER_USER="100000",
        LOG_LEVEL="WARNING",
    )
    import django

    django.setup()
    from django.core.management import call_command

    call_command("migrate", verbosity=0)


class Stamps:
    """Wraps functions so that each call adds its duration to a phase."""

    def __init__(self) -> None:
        self.current: dict[str, float] = {}

    def wrap(self, owner, name: str, phase: str) -> None:
        original = getattr(owner, name)

        def timed(*args, **kwargs):
            started = time.perf_counter()
            try:
                return original(*args, **kwargs)
            finally:
                elapsed = time.perf_counter() - started
                self.current[phase] = self.current.get(phase, 0.0) + elapsed

        setattr(owner, name, timed)


def main() -> None:
    count = int(sys.argv[1]) if len(sys.argv) > 1 else 200
    workdir = Path(tempfile.mkdtemp(prefix="rbas-worker-bench-"))
    setup(workdir)
    from django_tasks_db.models import DBTaskResult

    from scripts_api import execution, sandbox
    from scripts_api.management.commands import db_worker
    from scripts_api.management.commands.db_worker import RunWorker
    from scripts_api.models import Run, Script
    from scripts_api.services import run_create, scripts_sync
    from scripts_api.wakeup import Waker
    from users.models import User

    scripts_sync()
    user, _ = User.objects.get_or_create(username="bench-worker")
    script = Script.objects.get(slug="noop")
    worker = RunWorker(
        waker=Waker(), queue_names=["default"], excluded_queue_names=[], interval=0.5,
        batch=False, backend_name="default", startup_delay=False, max_tasks=None,
        worker_id="bench-worker",
    )  # fmt: skip
    box = sandbox.get_sandbox()
    box.start()

    stamps = Stamps()
    stamps.wrap(execution, "_execute", "execute")
    stamps.wrap(sandbox.Sandbox, "run", "sandbox")
    stamps.wrap(execution, "_record", "record")
    stamps.wrap(db_worker, "run_execute", "run_execute")
    stamps.wrap(DBTaskResult, "set_successful", "finish")

    phases: dict[str, list[float]] = {}
    warmup = 20
    cpu_before = None
    for i in range(warmup + count):
        if i == warmup:
            cpu_before = os.times()
            wall_before = time.perf_counter()
        run_create(user=user, script=script, params={"i": i})
        stamps.current = {}
        started = time.perf_counter()
        task = worker.claim_next()
        claimed = time.perf_counter()
        worker.run_task(task)
        total = time.perf_counter() - started
        now = stamps.current
        row = {
            "claim": claimed - started,
            "load": now["run_execute"] - now["execute"] - now["record"],
            "prepare": now["execute"] - now["sandbox"],
            "sandbox": now["sandbox"],
            "record": now["record"],
            "finish": now.get("finish", 0.0),
            "total": total,
        }
        if i >= warmup:
            for phase, seconds in row.items():
                phases.setdefault(phase, []).append(seconds)
    wall = time.perf_counter() - wall_before
    box.close()  # its CPU, and its children's, count once it is reaped
    cpu_after = os.times()
    statuses = set(Run.objects.values_list("status", flat=True))
    if statuses != {"succeeded"}:
        raise SystemExit(f"some runs did not succeed: {statuses}")

    def ms(values: list[float], q: float) -> float:
        ordered = sorted(values)
        return ordered[min(len(ordered) - 1, round(q * (len(ordered) - 1)))] * 1000

    database = os.environ["DATABASE_URL"].split(":")[0]
    print(f"{count} no-op runs on {database} (after {warmup} warm-up)")
    for phase, values in phases.items():
        print(f"  {phase:8s} p50 {ms(values, 0.5):6.2f} ms   p90 {ms(values, 0.9):6.2f} ms")
    cpu = sum(cpu_after[:4]) - sum(cpu_before[:4])
    print(f"  wall per run (submit included) {wall / count * 1000:.2f} ms; CPU per run "
          f"{cpu / count * 1000:.2f} ms (this process and the sandbox)")  # fmt: skip
    print(f"  total mean {statistics.mean(phases['total']) * 1000:.2f} ms")
    shutil.rmtree(workdir, ignore_errors=True)


if __name__ == "__main__":
    main()
