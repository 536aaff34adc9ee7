"""`python tests/scripts_api/crashing_worker.py <point> db_worker [options]`: a real
`manage.py db_worker` that SIGKILLs itself at one dangerous moment, for fault tests.

Points: `claiming` (inside the transaction that claims a task and its run, before it commits),
`claimed` (right after that commit), `recorded` (right after the commit that records the run's
outcome and marks its queue task finished).
"""

import os
import signal
import sys
from pathlib import Path


def die(*args, **kwargs):
    os.kill(os.getpid(), signal.SIGKILL)


def main() -> None:
    point, command = sys.argv[1], sys.argv[2:]
    sys.path.insert(0, str(Path(__file__).resolve().parents[2]))
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "simple_rbas.settings")
    import django

    django.setup()
    from django.core.management import execute_from_command_line

    from scripts_api import execution
    from scripts_api.management.commands import db_worker

    if point == "claiming":
        claim = execution.run_claim

        def claim_then_die(**kwargs):
            claim(**kwargs)
            die()

        db_worker.run_claim = claim_then_die
    elif point == "claimed":
        db_worker.RunWorker.run_task = die
    elif point == "recorded":
        save = execution._save

        def save_then_die(*args, **kwargs):
            save(*args, **kwargs)
            die()

        execution._save = save_then_die
    else:
        raise SystemExit(f"unknown crash point {point!r}")
    execute_from_command_line(["manage.py", *command])


if __name__ == "__main__":
    main()
