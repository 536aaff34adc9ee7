"""Reading a run's output while it runs: the text after given offsets, long-polled.

Offsets count characters (Unicode code points) of the stored text, which only grows while the
run goes on: the worker stores what the script printed so far (within RUN_OUTPUT_MAX_BYTES) at
most twice a second, and the outcome recorded at the end extends it (a note that it was cut, the
artifacts' notes). The database cuts the text (SUBSTR), so a poll never loads what the client
has already read.
"""

import time

from django.db.models.functions import Length, Substr
from rest_framework import exceptions

from scripts_api.models import ACTIVE_STATUSES, Run
from scripts_api.waiting import wait_room

STREAMS = ("stdout", "stderr")


def _read(run_id, after: dict[str, int]) -> dict:
    columns = {}
    for name in STREAMS:
        columns[f"{name}_offset"] = Length(name)
        columns[f"{name}_new"] = Substr(name, after[name] + 1)
    row = (
        Run.objects.filter(pk=run_id)
        .annotate(**columns)
        .values("status", "progress", "progress_message", "output_version", *columns)
        .first()
    )
    if row is None:
        raise exceptions.NotFound("No such run.")
    return row


def _answer(row: dict) -> dict:
    answer = {
        "status": row["status"],
        "finished": row["status"] not in ACTIVE_STATUSES,
        "progress": row["progress"],
        "progress_message": row["progress_message"],
    }
    for name in STREAMS:
        answer[name] = row[f"{name}_new"] or ""
        answer[f"{name}_offset"] = row[f"{name}_offset"] or 0
    return answer


def run_output(run: Run, *, stdout_after: int, stderr_after: int, wait: float) -> dict:
    """`run`'s output after the offsets; with `wait`, once there is something new (text,
    progress, or the end) or after `wait` seconds. An offset past the end: 400."""
    after = {"stdout": stdout_after, "stderr": stderr_after}
    row = _read(run.pk, after)
    for name in STREAMS:
        if after[name] > (row[f"{name}_offset"] or 0):
            raise exceptions.ValidationError(
                {f"{name}_after": [f"Past the end of the stored {name} ({row[f'{name}_offset']})."]}
            )
    first_version = row["output_version"]
    deadline = time.monotonic() + wait
    while (
        row["status"] in ACTIVE_STATUSES
        and row["output_version"] == first_version
        and not any(row[f"{name}_new"] for name in STREAMS)
        and (remaining := deadline - time.monotonic()) > 0
    ):
        run.status, run.output_version = row["status"], row["output_version"]
        if wait_room.wait(run, remaining, output=True) != "changed":
            break
        row = _read(run.pk, after)
    return _answer(row)
