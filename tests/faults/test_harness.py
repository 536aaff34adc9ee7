"""The fault-injection harness itself: its server, databases and processes work as promised."""

import pytest

from tests.faults.stack import OWNER, PASSWORD

pytestmark = pytest.mark.faults


def test_each_test_gets_a_migrated_database_with_the_catalog(fault_database, template_database):
    assert fault_database.name != template_database.name
    slugs = {slug for (slug,) in fault_database.sql("SELECT slug FROM scripts_api_script")}
    assert {"hello", "sleepy", "writer"} <= slugs
    assert fault_database.sql("SELECT username, level FROM users_user") == [(OWNER, 0)]


def test_the_server_survives_a_restart_with_the_same_address(postgres_server, fault_database):
    fault_database.sql("CREATE TABLE kept (n int)")
    postgres_server.restart(down_seconds=0.1, mode="immediate")
    assert fault_database.sql("SELECT count(*) FROM kept") == [(0,)]


def test_a_signed_in_owner_runs_a_script_through_gunicorn_and_a_worker(
    fault_database, start_web, start_worker
):
    web = start_web()
    start_worker()
    api = web.client()
    assert api.login(OWNER, PASSWORD)["user"]["level"] == 0
    run = api.post("/api/scripts/hello/runs/?wait=20", {"params": {"name": "faults"}}, timeout=25)
    assert run.status_code == 200, run.text
    assert run.json()["result"] == {"greeting": "Hello, faults."}
    assert web.log().count('"status": 200') >= 2  # the request log lines of gunicorn's Django
