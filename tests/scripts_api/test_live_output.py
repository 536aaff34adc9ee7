"""Live output: what a running script prints, and its `rbas.progress`, reach the API while it
runs, through a real `db_worker` and its sandbox."""

import time

import pytest

from scripts_api.models import Run, RunStatus
from scripts_api.services import scripts_sync
from tests.conftest import wait_for
from users.roles import Level

SCRIPTS = {
    "talker.py": '''
        """Talk, pause, talk"""
        import time

        POLICY = "authenticated"

        def main(pause: float = 2):
            print(f"first line at {time.time()}")
            time.sleep(pause)
            print("second line")
            time.sleep(pause)
            return "done"
    ''',
    "flood.py": '''
        """Print more than the cap, then wait"""
        import sys, time

        POLICY = "authenticated"

        def main():
            print("o" * 5000)
            print("e" * 5000, file=sys.stderr)
            time.sleep(2)
    ''',
    "stepper.py": '''
        """Report progress"""
        import sys, time
        import rbas

        POLICY = "authenticated"

        def main():
            print('{"fraction": 0.9, "message": "printed"}')
            print('{"fraction": 0.8, "message": "to stderr"}', file=sys.stderr)
            rbas.progress(0.25, "step 1 of 4")
            time.sleep(1.5)
            rbas.progress(3, "x" * 500)
            time.sleep(1)
    ''',
    "spoofer.py": '''
        """Only prints what looks like progress"""
        import os, sys, time

        POLICY = "authenticated"

        def main():
            for fd in (1, 2):
                os.write(fd, b'{"fraction": 0.5, "message": "spoof"}\\n')
            print('{"event": "output", "progress": {"fraction": 0.5, "message": "spoof"}}')
            time.sleep(1.5)
    ''',
}


@pytest.fixture
def live_catalog(catalog):
    import textwrap

    for name, source in SCRIPTS.items():
        (catalog / name).write_text(textwrap.dedent(source))
    report = scripts_sync()
    assert not report.rejected, report.rejected
    return catalog


@pytest.fixture
def client(users, bearer_client):
    return bearer_client(users[Level.WRITE])


def start(client, slug: str, **params) -> str:
    response = client.post(f"/api/scripts/{slug}/runs/", {"params": params}, format="json")
    assert response.status_code == 202, response.json()
    return response.json()["id"]


def test_a_printed_line_shows_within_a_second_while_the_run_still_runs(
    live_catalog, client, start_worker
):
    start_worker()
    run_id = start(client, "talker")
    run = wait_for(
        lambda: "first line" in (r := client.get(f"/api/runs/{run_id}/").json())["stdout"] and r,
        interval=0.02,
    )
    seen_at = time.time()
    printed_at = float(run["stdout"].split(" at ")[1])
    assert run["status"] == "running"
    assert seen_at - printed_at < 1.0
    assert "second line" not in run["stdout"]


def test_the_long_poll_answers_on_new_output_and_on_the_end(live_catalog, client, start_worker):
    start_worker()
    run_id = start(client, "talker", pause=1.5)
    first = wait_for(
        lambda: (a := client.get(f"/api/runs/{run_id}/output/?wait=5").json())["stdout"] and a
    )
    assert first["stdout"].startswith("first line") and first["status"] == "running"
    offset = first["stdout_offset"]
    assert offset == len(first["stdout"])

    asked = time.monotonic()
    second = client.get(f"/api/runs/{run_id}/output/?stdout_after={offset}&wait=20").json()
    assert time.monotonic() - asked < 2.5  # the line comes 1.5 s after the first, not 20
    assert second["stdout"] == "second line\n"
    assert not second["finished"]
    assert second["stdout_offset"] == offset + len("second line\n")

    asked = time.monotonic()
    query = f"stdout_after={second['stdout_offset']}&stderr_after={second['stderr_offset']}"
    end = client.get(f"/api/runs/{run_id}/output/?{query}&wait=20").json()
    assert time.monotonic() - asked < 2.5
    assert end == {
        "status": "succeeded",
        "finished": True,
        "stdout": "",
        "stderr": "",
        "stdout_offset": second["stdout_offset"],
        "stderr_offset": 0,
        "progress": None,
        "progress_message": "",
    }
    whole = client.get(f"/api/runs/{run_id}/").json()
    assert whole["stdout"] == first["stdout"] + second["stdout"]


def test_live_output_keeps_to_the_output_cap(live_catalog, client, start_worker):
    start_worker(RUN_OUTPUT_MAX_BYTES="1000")
    run_id = start(client, "flood")
    live = wait_for(lambda: (r := Run.objects.get(pk=run_id)).stdout and r.stderr and r)
    assert live.status == RunStatus.RUNNING
    assert live.stdout == "o" * 1000 and live.stderr == "e" * 1000
    run = client.get(f"/api/runs/{run_id}/?wait=10").json()
    assert run["status"] == "succeeded"
    assert run["stdout"].startswith("o" * 1000 + "\n[output cut: only the first 1000 bytes")


def test_progress_shows_while_it_runs_clamped_and_cut(live_catalog, client, start_worker):
    start_worker()
    run_id = start(client, "stepper")
    run = wait_for(lambda: (r := client.get(f"/api/runs/{run_id}/").json())["progress"] and r)
    assert run["status"] == "running"
    assert (run["progress"], run["progress_message"]) == (0.25, "step 1 of 4")
    later = wait_for(
        lambda: (
            (a := client.get(f"/api/runs/{run_id}/output/?wait=5").json())["progress"] == 1 and a
        )
    )
    assert later["progress_message"] == "x" * 200 and not later["finished"]
    run = client.get(f"/api/runs/{run_id}/?wait=10").json()
    assert run["status"] == "succeeded"
    assert (run["progress"], run["progress_message"]) == (1.0, "x" * 200)
    assert '"message": "printed"' in run["stdout"] and "to stderr" in run["stderr"]


def test_printing_what_looks_like_progress_is_only_output(live_catalog, client, start_worker):
    start_worker()
    run_id = start(client, "spoofer")
    live = wait_for(lambda: (r := client.get(f"/api/runs/{run_id}/").json())["stdout"] and r)
    assert live["status"] == "running" and live["progress"] is None
    run = client.get(f"/api/runs/{run_id}/?wait=10").json()
    assert run["status"] == "succeeded"
    assert run["progress"] is None and run["progress_message"] == ""
    assert run["stdout"].count("spoof") == 2 and "spoof" in run["stderr"]


def test_another_users_run_output_is_not_found(catalog, users, bearer_client):
    owner = bearer_client(users[Level.WRITE])
    run_id = start(owner, "hello")
    stranger = bearer_client(users[Level.READ_ONLY])
    assert stranger.get(f"/api/runs/{run_id}/output/").status_code == 404
    assert stranger.get(f"/api/runs/{run_id}/output/?wait=2").status_code == 404
    admin = bearer_client(users[Level.ADMIN])
    assert admin.get(f"/api/runs/{run_id}/output/").json()["status"] == "queued"


@pytest.mark.parametrize(
    "query",
    [
        "stdout_after=-1",
        "stderr_after=x",
        "stdout_after=1.5",
        "stdout_after=99999999999999999999999",
        "stdout_after=1",  # past the end of an empty output
        "wait=31",
        "wait=-1",
    ],
)
def test_bad_offsets_and_waits_are_refused_with_400(catalog, users, bearer_client, query):
    client = bearer_client(users[Level.WRITE])
    run_id = start(client, "hello")
    response = client.get(f"/api/runs/{run_id}/output/?{query}")
    assert response.status_code == 400, response.content
    assert set(response.json()) <= {"stdout_after", "stderr_after", "wait"}


def test_a_queued_run_answers_at_once_without_wait(catalog, users, bearer_client):
    client = bearer_client(users[Level.WRITE])
    run_id = start(client, "hello")
    asked = time.monotonic()
    answer = client.get(f"/api/runs/{run_id}/output/?stdout_after=0").json()
    assert time.monotonic() - asked < 1
    assert answer["status"] == "queued" and answer["stdout_offset"] == 0


def _progress_examples() -> list[str]:
    """The whole scripts of docs/writing-scripts.md and the README that draw a progress bar."""
    import re

    from tests.conftest import ROOT

    pages = [ROOT / "docs" / "writing-scripts.md", ROOT / "README.md"]
    blocks = [re.findall(r"```python\n(.*?)```", page.read_text(), re.S) for page in pages]
    return [b for found in blocks for b in found if "import rbas" in b and "def main(" in b]


def test_the_progress_example_of_the_docs_runs_as_written(catalog, users, bearer_client):
    from scripts_api.execution import run_execute

    docs, readme = _progress_examples()
    (catalog / "import_customers.py").write_text(docs)
    (catalog / "close_quarter.py").write_text(readme)
    assert not scripts_sync().rejected
    client = bearer_client(users[Level.WRITE])
    run_id = start(client, "import-customers", batches=1)
    assert run_execute(run_id=run_id) == "succeeded"
    run = client.get(f"/api/runs/{run_id}/").json()
    assert (run["result"], run["progress"], run["progress_message"]) == (1, 1.0, "done")
    assert run["stdout"] == "importing batch 1\n"

    run_id = start(bearer_client(users[Level.OWNER]), "close-quarter")
    assert run_execute(run_id=run_id) == "succeeded"
    run = bearer_client(users[Level.OWNER]).get(f"/api/runs/{run_id}/").json()
    assert run["result"] == "closed"
    assert (run["progress"], run["progress_message"]) == (2 / 3, "closing ledger")


REFUSE_LIVE_STORES = {
    "sqlite": [
        "CREATE TRIGGER refuse_live BEFORE UPDATE OF output_version ON scripts_api_run "
        "BEGIN SELECT RAISE(ABORT, 'live output refused'); END"
    ],
    "postgresql": [
        "CREATE FUNCTION refuse_live() RETURNS trigger LANGUAGE plpgsql AS "
        "$$ BEGIN RAISE EXCEPTION 'live output refused'; END $$",
        "CREATE TRIGGER refuse_live BEFORE UPDATE OF output_version ON scripts_api_run "
        "FOR EACH ROW EXECUTE FUNCTION refuse_live()",
    ],
}


@pytest.fixture
def refused_live_stores(transactional_db):
    """A database that refuses every store of live output (a trigger), and only that."""
    from django.db import connection

    with connection.cursor() as cursor:
        for statement in REFUSE_LIVE_STORES[connection.vendor]:
            cursor.execute(statement)
    yield
    with connection.cursor() as cursor:
        cursor.execute(
            "DROP TRIGGER refuse_live"
            + (" ON scripts_api_run" if connection.vendor == "postgresql" else "")
        )
        if connection.vendor == "postgresql":
            cursor.execute("DROP FUNCTION refuse_live()")


def test_a_database_refusing_live_output_fails_neither_the_run_nor_the_worker(
    refused_live_stores, live_catalog, client, start_worker
):
    worker = start_worker()
    run_id = start(client, "talker", pause=0.6)
    run = client.get(f"/api/runs/{run_id}/?wait=15").json()
    assert run["status"] == "succeeded", run
    assert run["stdout"].startswith("first line") and run["stdout"].endswith("second line\n")
    log = worker.log_path.read_text()
    assert log.count("its live output was not stored") == 1, log
    # The worker goes on running runs.
    again = client.post("/api/scripts/hello/runs/?wait=15", {}, format="json").json()
    assert again["status"] == "succeeded"
