"""Queue workers and database faults, on a PostgreSQL of the test session's own: a heartbeat
cancelled by PostgreSQL mixes no runs, and busy or idle workers ride out restarts and outages
(reconnecting their LISTEN too) without being restarted."""

import time

import pytest

from tests.conftest import wait_for
from tests.faults.stack import PASSWORD

pytestmark = pytest.mark.faults

# Heartbeats every 0.3 s, so that one is in flight while a run sleeps; --interval 60 turns the
# workers' polling off: only a NOTIFY on a (re)opened LISTEN connection wakes an idle one.
WORKER_ENV = {"RUN_HEARTBEAT_SECONDS": "0.3", "DATABASE_POOL_TIMEOUT": "1"}
NO_POLLING = ("--interval", "60")


@pytest.fixture
def users(start_web, fault_database):
    """Two users signed in on a real gunicorn: runs of one must never reach the other."""
    web = start_web(DATABASE_POOL_TIMEOUT="1")
    clients = {}
    for name in ("ada", "bob"):
        client = web.client()
        client.signup(name, PASSWORD)
        fault_database.confirm_email(name)
        client.login(name, PASSWORD)
        clients[name] = client
    return clients


def started(worker) -> bool:
    return "Starting worker" in worker.log_path.read_text()


def run_status(client, run_id: str) -> str:
    return client.get(f"/api/runs/{run_id}/").json()["status"]


def test_a_heartbeat_cancelled_by_postgresql_mixes_no_runs(
    users, start_worker, fault_database, postgres_server
):
    worker = start_worker(*NO_POLLING, **WORKER_ENV)
    wait_for(lambda: started(worker))
    ada, bob = users["ada"], users["bob"]
    first = ada.post("/api/scripts/sleepy/runs/", {"params": {"seconds": 2}}).json()["id"]
    wait_for(lambda: run_status(ada, first) == "running")
    # Hold the run's row so that the next heartbeat's UPDATE waits for the lock, then have
    # PostgreSQL cancel that very statement.
    with postgres_server.connect(fault_database.name) as holder:
        holder.autocommit = False
        holder.execute("SELECT 1 FROM scripts_api_run WHERE id = %s FOR UPDATE", [first])
        blocked = wait_for(
            lambda: fault_database.sql(
                "SELECT pid FROM pg_stat_activity WHERE wait_event_type = 'Lock' "
                'AND query LIKE \'UPDATE "scripts_api_run" SET "heartbeat_at"%%\''
            )
        )
        assert fault_database.sql("SELECT pg_cancel_backend(%s)", [blocked[0][0]]) == [(True,)]
        holder.rollback()
    # The run goes on and ends with its own result; the next runs, of another user and of
    # the same, get theirs: nothing is read out of step.
    done = ada.get(f"/api/runs/{first}/?wait=20").json()
    assert (done["status"], done["result"]) == ("succeeded", 2), done
    second = bob.post("/api/scripts/hello/runs/?wait=20", {"params": {"name": "Bob"}}).json()
    assert (second["status"], second["result"]) == ("succeeded", {"greeting": "Hello, Bob."})
    assert "Bob" not in done["stdout"] and second["stdout"] != done["stdout"]
    third = ada.post("/api/scripts/hello/runs/?wait=20", {"params": {"name": "Ada"}}).json()
    assert third["result"] == {"greeting": "Hello, Ada."}
    log = worker.log_path.read_text()
    assert "canceling statement due to user request" in log
    assert worker.poll() is None


def test_busy_and_idle_workers_ride_out_a_restart_and_a_long_outage(
    users, start_worker, postgres_server
):
    busy = start_worker(*NO_POLLING, **WORKER_ENV)
    idle = start_worker(*NO_POLLING, **WORKER_ENV)
    wait_for(lambda: started(busy) and started(idle))
    ada = users["ada"]

    # A restart of 0.2 s while one worker runs a script and the other sleeps on LISTEN.
    running = ada.post("/api/scripts/sleepy/runs/", {"params": {"seconds": 2}}).json()["id"]
    wait_for(lambda: run_status(ada, running) == "running")
    postgres_server.restart(down_seconds=0.2)
    done = wait_for(lambda: (r := ada.get(f"/api/runs/{running}/?wait=5")).ok and r.json())
    assert (done["status"], done["result"]) == ("succeeded", 2), done

    # An outage longer than the script: it ends while the database is away and is recorded
    # once it is back.
    running = ada.post("/api/scripts/sleepy/runs/", {"params": {"seconds": 1}}).json()["id"]
    wait_for(lambda: run_status(ada, running) == "running")
    postgres_server.stop()
    time.sleep(4)
    postgres_server.start()
    done = wait_for(lambda: (r := ada.get(f"/api/runs/{running}/?wait=5")).ok and r.json())
    assert (done["status"], done["result"]) == ("succeeded", 1), done

    # Both workers are the ones started before, and both listen again: with polling off, a
    # new run starts at once only because a NOTIFY reached an idle worker.
    assert busy.poll() is None and idle.poll() is None
    for name in ("after", "again"):
        submitted = time.monotonic()
        run = ada.post("/api/scripts/hello/runs/?wait=20", {"params": {"name": name}}).json()
        assert run["status"] == "succeeded", run
        assert time.monotonic() - submitted < 5
    logs = busy.log_path.read_text() + idle.log_path.read_text()
    # The outage was met and outlived: by the claim loop, or, when the run in progress held the
    # worker until the database was back (timing on a loaded machine), by its recording.
    assert "claiming resumes" in logs or "Database reachable again" in logs
    assert "The listening connection broke" in logs
