"""The catalog and run endpoints: who sees and runs what, parameter validation, run privacy."""

import os

import pytest

from scripts_api.execution import run_execute
from scripts_api.models import Run
from tests.conftest import wait_for
from users.roles import Level

# Which example script each level may run (API.md's policies applied to the scripts' POLICY).
ALLOWED = {
    Level.OWNER: {"hello", "price-quote", "sales-report", "close-month"},
    Level.INVESTOR: {"hello", "sales-report"},
    Level.ADMIN: {"hello", "price-quote"},
    Level.WRITE: {"hello", "price-quote"},
    Level.READ_ONLY: {"hello"},
}
EXAMPLES = ["hello", "price-quote", "sales-report", "close-month"]
VALID_PARAMS = {
    "hello": {"name": "Ada"},
    "price-quote": {"customer": "ACME", "plan": "team", "seats": 3, "start_date": "2025-01-01"},
    "sales-report": {"month": "2025-03-01"},
    "close-month": {"month": "2024-01-01"},
}


@pytest.mark.parametrize("level", list(Level))
def test_the_catalog_lists_only_the_scripts_a_level_may_run(catalog, users, bearer_client, level):
    body = bearer_client(users[level]).get("/api/scripts/?page_size=100").json()
    examples = {s["slug"] for s in body["results"]} & set(EXAMPLES)
    assert examples == ALLOWED[level]
    first = body["results"][0]
    # API.md's fields, and the ones added since (API.md: only ADD fields).
    assert set(first) >= {
        "slug", "title", "description", "policy", "params_schema",
        "timeout_seconds", "version", "updated_at", "problems",
        "dependencies",
    }  # fmt: skip
    assert "secrets" in first


@pytest.mark.parametrize("level", list(Level))
@pytest.mark.parametrize("slug", EXAMPLES)
def test_viewing_and_running_follow_the_script_policy(catalog, users, bearer_client, level, slug):
    client = bearer_client(users[level])
    detail = client.get(f"/api/scripts/{slug}/")
    run = client.post(f"/api/scripts/{slug}/runs/", {"params": VALID_PARAMS[slug]}, format="json")
    if slug in ALLOWED[level]:
        assert detail.status_code == 200
        assert run.status_code == 202
        assert run.json()["status"] == "queued"
    else:
        assert detail.status_code == 403
        assert run.status_code == 403
        assert detail.json()["detail"].startswith("This script is for ")
        assert not Run.objects.exists()


def test_refusal_says_who_may_run_the_script_in_words(catalog, users, bearer_client):
    client = bearer_client(users[Level.READ_ONLY])
    assert client.get("/api/scripts/price-quote/").json() == {
        "detail": "This script is for staff only."
    }
    assert client.get("/api/scripts/close-month/").json() == {
        "detail": "This script is for owners only."
    }
    assert client.get("/api/scripts/sales-report/").json() == {
        "detail": "This script is for the levels Owner, Investor."
    }


def test_anonymous_callers_get_401(catalog, api_client):
    assert api_client.get("/api/scripts/").status_code == 401
    assert api_client.post("/api/scripts/hello/runs/", {}, format="json").status_code == 401
    assert api_client.get("/api/runs/").status_code == 401


def test_unknown_and_unpublished_scripts_are_404(catalog, users, bearer_client):
    client = bearer_client(users[Level.OWNER])
    assert client.get("/api/scripts/nope/").status_code == 404
    (catalog / "hello.py").unlink()
    from scripts_api.services import scripts_sync

    scripts_sync()
    assert client.get("/api/scripts/hello/").status_code == 404
    assert client.post("/api/scripts/hello/runs/", {}, format="json").status_code == 404


@pytest.mark.parametrize(
    ("params", "errors"),
    [
        ({}, {"customer", "plan", "seats", "start_date"}),
        ({"seats": True}, {"seats"}),
        ({"seats": "3"}, {"seats"}),
        ({"seats": 2.0}, {"seats"}),
        ({"plan": "gold"}, {"plan"}),
        ({"start_date": "2025-02-30"}, {"start_date"}),
        ({"start_date": "01/02/2025"}, {"start_date"}),
        ({"addons": "sso"}, {"addons"}),
        ({"addons": ["sso", 3]}, {"addons"}),
        ({"annual": "yes"}, {"annual"}),
        ({"discount_code": None}, {"discount_code"}),
        ({"colour": "red"}, {"colour"}),
    ],
)
def test_bad_parameters_are_400_one_message_each_and_create_nothing(
    catalog, users, bearer_client, params, errors
):
    base = {} if params == {} else VALID_PARAMS["price-quote"]
    response = bearer_client(users[Level.WRITE]).post(
        "/api/scripts/price-quote/runs/", {"params": {**base, **params}}, format="json"
    )
    assert response.status_code == 400
    assert set(response.json()["params"]) == errors
    for messages in response.json()["params"].values():
        assert len(messages) == 1
    assert not Run.objects.exists()


@pytest.mark.parametrize("body", ['{"params": [1]}', '{"params": "x"}', "[]", "{bad"])
def test_malformed_run_bodies_are_400(catalog, users, bearer_client, body):
    response = bearer_client(users[Level.OWNER]).generic(
        "POST", "/api/scripts/hello/runs/", body, content_type="application/json"
    )
    assert response.status_code == 400
    assert not Run.objects.exists()


@pytest.mark.parametrize("wait", ["-1", "31", "abc", "1.5"])
def test_bad_wait_values_are_400(catalog, users, bearer_client, wait):
    client = bearer_client(users[Level.OWNER])
    response = client.post(f"/api/scripts/hello/runs/?wait={wait}", {}, format="json")
    assert response.status_code == 400
    assert not Run.objects.exists()


def test_a_run_goes_from_queued_to_succeeded_with_its_result(catalog, users, bearer_client):
    client = bearer_client(users[Level.WRITE])
    queued = client.post(
        "/api/scripts/price-quote/runs/", {"params": VALID_PARAMS["price-quote"]}, format="json"
    ).json()
    assert queued["status"] == "queued" and queued["result"] is None
    assert queued["script"] == "price-quote" and queued["user"] == users[Level.WRITE].pk
    assert run_execute(run_id=queued["id"]) == "succeeded"
    run = client.get(f"/api/runs/{queued['id']}/").json()
    assert run["status"] == "succeeded"
    assert run["result"]["total"] == 750.0 and run["result"]["period"] == "2025-01-01 to 2026-01-01"
    assert run["exit_code"] == 0 and run["error"] == ""
    assert run["duration_ms"] is not None and run["duration_ms"] >= 0
    assert run["started_at"] and run["finished_at"]
    assert run["script_version"] == client.get("/api/scripts/price-quote/").json()["version"]


def test_a_run_records_the_version_it_ran(catalog, users, bearer_client):
    client = bearer_client(users[Level.OWNER])
    first = client.post("/api/scripts/hello/runs/", {}, format="json").json()
    run_execute(run_id=first["id"])
    (catalog / "hello.py").write_text(
        '"""Say hello"""\nPOLICY = "authenticated"\ndef main():\n    return "v2"\n'
    )
    from scripts_api.services import scripts_sync

    scripts_sync()
    second = client.post("/api/scripts/hello/runs/", {}, format="json").json()
    run_execute(run_id=second["id"])
    runs = {r["id"]: r for r in client.get("/api/runs/").json()["results"]}
    assert runs[first["id"]]["script_version"] != runs[second["id"]]["script_version"]
    assert client.get(f"/api/runs/{second['id']}/").json()["result"] == "v2"
    assert client.get(f"/api/runs/{first['id']}/").json()["result"] == {
        "greeting": "Hello, colleague."
    }


def test_a_failing_script_ends_failed_with_its_error(catalog, users, bearer_client):
    client = bearer_client(users[Level.WRITE])
    params = {**VALID_PARAMS["price-quote"], "seats": 0}
    run_id = client.post("/api/scripts/price-quote/runs/", {"params": params}, format="json")
    run_execute(run_id=run_id.json()["id"])
    run = client.get(f"/api/runs/{run_id.json()['id']}/").json()
    assert run["status"] == "failed"
    assert run["error"] == "ValueError: seats must be at least 1"
    assert "Traceback" in run["stderr"]


def test_other_users_runs_are_404_and_admins_see_everyone(catalog, users, bearer_client):
    owner_client = bearer_client(users[Level.WRITE])
    run_id = owner_client.post("/api/scripts/hello/runs/", {}, format="json").json()["id"]
    stranger = bearer_client(users[Level.READ_ONLY])
    assert stranger.get(f"/api/runs/{run_id}/").status_code == 404
    assert stranger.post(f"/api/runs/{run_id}/cancel/").status_code == 404
    assert stranger.get("/api/runs/").json()["results"] == []
    investor = bearer_client(users[Level.INVESTOR])
    assert investor.get(f"/api/runs/{run_id}/").status_code == 404
    admin = bearer_client(users[Level.ADMIN])
    assert admin.get(f"/api/runs/{run_id}/").status_code == 200
    assert len(admin.get("/api/runs/").json()["results"]) == 1
    assert len(admin.get(f"/api/runs/?user={users[Level.WRITE].pk}").json()["results"]) == 1
    assert admin.get(f"/api/runs/?user={users[Level.ADMIN].pk}").json()["results"] == []
    assert stranger.get("/api/runs/00000000-0000-0000-0000-000000000000/").status_code == 404


def test_run_list_is_newest_first_and_filtered(catalog, users, bearer_client):
    client = bearer_client(users[Level.OWNER])
    first = client.post("/api/scripts/hello/runs/", {}, format="json").json()["id"]
    run_execute(run_id=first)
    second = client.post("/api/scripts/sleepy/runs/", {}, format="json").json()["id"]
    assert [r["id"] for r in client.get("/api/runs/").json()["results"]] == [second, first]
    assert [r["id"] for r in client.get("/api/runs/?script=hello").json()["results"]] == [first]
    assert [r["id"] for r in client.get("/api/runs/?status=queued").json()["results"]] == [second]
    assert client.get("/api/runs/?status=bogus").status_code == 400
    assert client.get("/api/runs/?user=abc").status_code == 400


def test_more_than_the_active_limit_gives_429(catalog, users, bearer_client, settings):
    settings.MAX_ACTIVE_RUNS_PER_USER = 2
    client = bearer_client(users[Level.WRITE])
    statuses = [client.post("/api/scripts/sleepy/runs/", {}, format="json").status_code
                for _ in range(3)]  # fmt: skip
    assert statuses == [202, 202, 429]
    assert Run.objects.count() == 2
    other = bearer_client(users[Level.READ_ONLY])
    assert other.post("/api/scripts/sleepy/runs/", {}, format="json").status_code == 202
    # Ending one frees a place.
    first = Run.objects.filter(user=users[Level.WRITE]).first()
    assert client.post(f"/api/runs/{first.pk}/cancel/").status_code == 202
    assert client.post("/api/scripts/sleepy/runs/", {}, format="json").status_code == 202


def test_cancelling_a_queued_run_ends_it_and_a_finished_run_is_409(catalog, users, bearer_client):
    client = bearer_client(users[Level.WRITE])
    run_id = client.post("/api/scripts/sleepy/runs/", {}, format="json").json()["id"]
    cancelled = client.post(f"/api/runs/{run_id}/cancel/")
    assert cancelled.status_code == 202
    assert cancelled.json()["status"] == "cancelled"
    assert run_execute(run_id=run_id) == "skipped"  # the worker leaves it alone
    assert client.post(f"/api/runs/{run_id}/cancel/").status_code == 409


def test_wait_returns_at_once_for_a_finished_run(catalog, users, bearer_client):
    client = bearer_client(users[Level.WRITE])
    run_id = client.post("/api/scripts/hello/runs/", {}, format="json").json()["id"]
    run_execute(run_id=run_id)
    response = client.get(f"/api/runs/{run_id}/?wait=5")
    assert response.status_code == 200 and response.json()["status"] == "succeeded"


def test_artifacts_are_listed_downloadable_and_private(catalog, users, bearer_client):
    client = bearer_client(users[Level.WRITE])
    names = ["report.csv", "../escape.txt", ".hidden", "a b.txt"]
    run_id = client.post(
        "/api/scripts/writer/runs/", {"params": {"names": names}}, format="json"
    ).json()["id"]
    run_execute(run_id=run_id)
    run = client.get(f"/api/runs/{run_id}/").json()
    assert run["status"] == "succeeded", run
    listed = {a["name"]: a for a in run["artifacts"]}
    assert set(listed) == {"report.csv", "hidden", "a_b.txt"}  # "../escape.txt" wrote nothing
    assert "escape" not in str(run["artifacts"])
    url = listed["report.csv"]["url"]
    assert url == f"http://testserver/api/runs/{run_id}/artifacts/report.csv"
    download = client.get(url)
    assert download.status_code == 200
    assert download["Content-Disposition"] == 'attachment; filename="report.csv"'
    assert b"".join(download.streaming_content) == b"x" * 10
    assert bearer_client(users[Level.READ_ONLY]).get(url).status_code == 404
    assert bearer_client(users[Level.ADMIN]).get(url).status_code == 200
    assert client.get(f"/api/runs/{run_id}/artifacts/other.csv").status_code == 404
    assert client.get(f"/api/runs/{run_id}/artifacts/..%2F..%2Fsettings.py").status_code == 404


def test_artifacts_over_the_caps_are_left_out_with_a_note(catalog, users, bearer_client, settings):
    settings.RUN_ARTIFACTS_MAX_FILES = 2
    client = bearer_client(users[Level.WRITE])
    params = {"names": ["a.txt", "b.txt", "c.txt"]}
    run_id = client.post("/api/scripts/writer/runs/", {"params": params}, format="json")
    run_execute(run_id=run_id.json()["id"])
    run = client.get(f"/api/runs/{run_id.json()['id']}/").json()
    assert [a["name"] for a in run["artifacts"]] == ["a.txt", "b.txt"]
    assert "c.txt: over 2 files, left out" in run["stderr"]


def test_the_sales_report_example_makes_a_csv_artifact(catalog, users, bearer_client):
    client = bearer_client(users[Level.INVESTOR])
    params = {"month": "2025-03-01", "region": "north"}
    run_id = client.post("/api/scripts/sales-report/runs/", {"params": params}, format="json")
    run_execute(run_id=run_id.json()["id"])
    run = client.get(f"/api/runs/{run_id.json()['id']}/").json()
    assert run["status"] == "succeeded", run["stderr"]
    assert [a["name"] for a in run["artifacts"]] == ["deals-north-2025-03.csv"]
    assert {row["rep"] for row in run["result"]} == {"Ana", "Bjorn", "Chiara"}
    csv = b"".join(client.get(run["artifacts"][0]["url"]).streaming_content).decode()
    assert csv.splitlines()[0] == "deal,region,rep,day,amount"


def test_the_working_directory_of_a_run_is_removed_afterwards(catalog, users, bearer_client):
    (catalog / "where.py").write_text(
        '"""Where am I"""\nimport os\nPOLICY = "authenticated"\n'
        "def main():\n    open('scratch.txt', 'w').write('x')\n    return os.getcwd()\n"
    )
    from scripts_api.services import scripts_sync

    scripts_sync()
    client = bearer_client(users[Level.READ_ONLY])
    run_id = client.post("/api/scripts/where/runs/", {}, format="json").json()["id"]
    run_execute(run_id=run_id)
    workdir = client.get(f"/api/runs/{run_id}/").json()["result"]
    assert workdir.startswith("/") and "rbas-run-" in workdir
    # Removed off the run's path, on the worker's cleaning thread: gone within moments.
    wait_for(lambda: not os.path.exists(workdir), timeout=5)


def test_a_run_that_disappears_during_a_long_poll_is_404_not_500(catalog, users, bearer_client):
    """Regression: the wait loop's refresh raised DoesNotExist (a 500) when the row vanished."""
    from rest_framework.exceptions import NotFound

    from scripts_api.selectors import run_wait

    client = bearer_client(users[Level.WRITE])
    run_id = client.post("/api/scripts/sleepy/runs/", {}, format="json").json()["id"]
    run = Run.objects.get(pk=run_id)
    Run.objects.filter(pk=run_id).delete()
    with pytest.raises(NotFound):
        run_wait(run, 1)
