"""A database outage: every request that needs the database answers 503 with Retry-After
(never 500), the liveness probe holds, and the service recovers by itself when the database
comes back, without restarting gunicorn."""

import time

import pytest

from simple_rbas.errors import RETRY_AFTER_SECONDS, UNAVAILABLE_CODE, UNAVAILABLE_DETAIL
from tests.conftest import wait_for
from tests.faults.stack import OWNER, PASSWORD

pytestmark = pytest.mark.faults

UNAVAILABLE = {"detail": UNAVAILABLE_DETAIL, "code": UNAVAILABLE_CODE}


# Seconds a request waits for a pooled PostgreSQL connection before answering 503 (3 by
# default): shorter, so that the many requests made during outages keep the tests quick.
POOL_TIMEOUT = "1"


@pytest.fixture
def clients(start_web, fault_database):
    """A server with a user signed in by Bearer token, an owner signed in to the Django admin,
    and an anonymous client."""
    web = start_web(DATABASE_POOL_TIMEOUT=POOL_TIMEOUT)
    user, admin, anonymous = web.client(), web.client(), web.client()
    user.signup("outage-user", PASSWORD)
    fault_database.confirm_email("outage-user")
    user.login("outage-user", PASSWORD)
    admin.admin_login(OWNER, PASSWORD)
    return web, user, admin, anonymous


def api_calls(user, anonymous) -> dict:
    """Calls that need the database: authentication itself, reads, a write and the login."""
    login = {"username": "outage-user", "password": PASSWORD}
    return {
        "me": lambda: user.get("/api/auth/me/"),
        "scripts": lambda: user.get("/api/scripts/"),
        "run": lambda: user.post("/api/scripts/hello/runs/", {"params": {"name": "outage"}}),
        "login": lambda: anonymous.post("/api/auth/login/", login),
    }


def statuses(calls: dict) -> dict:
    return {name: call().status_code for name, call in calls.items()}


WORKING = {"me": 200, "scripts": 200, "run": 202, "login": 200}


def test_an_outage_answers_503_with_retry_after_and_the_service_recovers_by_itself(
    clients, postgres_server
):
    web, user, admin, anonymous = clients
    calls = api_calls(user, anonymous)
    assert statuses(calls) == WORKING
    assert admin.get("/admin/").status_code == 200

    postgres_server.stop()
    for name, call in calls.items():
        response = call()
        assert response.status_code == 503, f"{name}: {response.status_code} {response.text}"
        assert response.headers["Retry-After"] == str(RETRY_AFTER_SECONDS)
        assert response.json() == UNAVAILABLE
    # Django's admin (a plain Django view) answers a short page, not JSON.
    page = admin.get("/admin/")
    assert page.status_code == 503
    assert page.headers["Retry-After"] == str(RETRY_AFTER_SECONDS)
    assert page.headers["Content-Type"].startswith("text/html")
    assert "Briefly unavailable" in page.text
    # The web app's pages are shells that need no database: they load, and the API calls
    # they make answer the 503 above, whose detail the page shows.
    assert anonymous.get("/").status_code == 200
    assert anonymous.get("/healthz").status_code == 200
    assert anonymous.get("/readyz").status_code == 503
    during = web.log()

    postgres_server.start()
    wait_for(lambda: user.get("/api/auth/me/").status_code == 200, timeout=3)
    assert statuses(calls) == WORKING
    assert admin.get("/admin/").status_code == 200
    assert anonymous.get("/readyz").status_code == 200

    assert web.process.poll() is None  # the same gunicorn throughout
    assert '"status": 500' not in web.log()
    assert "Traceback" not in web.log()
    warnings = [line for line in during.splitlines() if "Database unreachable" in line]
    assert len(warnings) == len(calls) + 1  # one line per refused request, the admin's too
    assert all('"level": "WARNING"' in line for line in warnings)


def test_after_a_long_crash_under_traffic_the_service_is_back_within_seconds(
    clients, postgres_server
):
    _web, user, _admin, _anonymous = clients
    postgres_server.stop("immediate")
    # Long enough for an uncapped reconnection back-off (1, 2, 4, 8 s...) to sleep for seconds
    # past the database's return (settings.py caps it).
    down = time.monotonic()
    while time.monotonic() - down < 8:
        assert user.get("/api/auth/me/").status_code == 503
    postgres_server.start()
    back = time.monotonic()
    wait_for(lambda: user.get("/api/auth/me/").status_code == 200, timeout=10, interval=0.1)
    assert time.monotonic() - back < 3


def test_connections_cut_under_a_running_server_are_replaced_at_the_next_request(
    fault_database, start_web
):
    # The default pool timeout: the pool checks each connection it lends and, finding several
    # broken in a row, backs off for about a second before the next.
    web = start_web()
    user, admin, anonymous = web.client(), web.client(), web.client()
    user.signup("outage-user", PASSWORD)
    fault_database.confirm_email("outage-user")
    user.login("outage-user", PASSWORD)
    admin.admin_login(OWNER, PASSWORD)
    calls = api_calls(user, anonymous)
    assert statuses(calls) == WORKING
    assert fault_database.terminate_connections() >= 1
    assert statuses(calls) == WORKING
    assert admin.get("/admin/").status_code == 200


def test_a_standalone_worker_waits_out_an_outage_and_runs_what_was_queued(
    clients, postgres_server, start_worker
):
    _web, user, _admin, _anonymous = clients
    worker = start_worker(DATABASE_POOL_TIMEOUT=POOL_TIMEOUT)
    wait_for(lambda: "Starting worker" in worker.log_path.read_text(), timeout=20)
    postgres_server.stop()
    time.sleep(2)  # an idle worker polls at least every 0.5 s
    postgres_server.start()
    assert worker.poll() is None, worker.log_path.read_text()[-2000:]
    # The web saw no request during the outage: its first one may meet the broken connections.
    wait_for(lambda: user.get("/api/auth/me/").status_code == 200, timeout=5)
    run = user.post("/api/scripts/hello/runs/?wait=20", {"params": {"name": "after"}}, timeout=25)
    assert run.status_code == 200, run.text
    assert run.json()["result"] == {"greeting": "Hello, after."}
