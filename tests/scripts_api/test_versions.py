"""Version history: every published version is kept, a broken edit keeps the last good one
running, and a run links to the exact source it ran."""

import pytest

from scripts_api.models import Run, RunStatus, Script, ScriptVersion
from scripts_api.services import scripts_sync
from users.roles import Level

SCRIPT = '''"""Echo"""
POLICY = "staff"


def main(word: str = "x"):
    print("{marker}")
    return "{marker}:" + word
'''


@pytest.fixture
def folder(tmp_path, settings):
    settings.SCRIPTS_DIR = tmp_path
    return tmp_path


def publish(folder, marker: str) -> str:
    (folder / "echo.py").write_text(SCRIPT.format(marker=marker))
    report = scripts_sync()
    assert not report.rejected, report.rejected
    return Script.objects.get(slug="echo").version


def test_every_published_version_is_listed_newest_first(folder, db, users, bearer_client):
    first, second = publish(folder, "one"), publish(folder, "two")
    client = bearer_client(users[Level.WRITE])
    body = client.get("/api/scripts/echo/versions/").json()
    assert body["count"] == 2 and {"next", "previous"} <= set(body)
    assert [v["version"] for v in body["results"]] == [second, first]
    assert [v["current"] for v in body["results"]] == [True, False]
    assert "source" not in body["results"][0]
    assert body["results"][1]["url"].endswith(f"/api/scripts/echo/versions/{first}/")

    # Back to the first content: one row per distinct version, now listed first again.
    assert publish(folder, "one") == first
    body = client.get("/api/scripts/echo/versions/?page_size=1").json()
    assert body["count"] == 2 and body["next"]
    assert body["results"][0]["version"] == first and body["results"][0]["current"]


def test_a_version_shows_its_source_and_a_diff_with_another(folder, db, users, bearer_client):
    first, second = publish(folder, "one"), publish(folder, "two")
    client = bearer_client(users[Level.WRITE])
    shown = client.get(f"/api/scripts/echo/versions/{first}/").json()
    assert shown["source"] == SCRIPT.format(marker="one") and shown["diff"] is None
    assert shown["filename"] == "echo.py" and not shown["current"]

    diff = client.get(f"/api/scripts/echo/versions/{second}/?compare={first}").json()["diff"]
    assert diff.startswith(f"--- echo.py@{first}\n+++ echo.py@{second}\n")
    assert '-    print("one")\n-    return "one:" + word\n+    print("two")\n' in diff
    same = client.get(f"/api/scripts/echo/versions/{first}/?compare={first}").json()
    assert same["diff"] == ""


def test_unknown_versions_are_404_and_a_bad_compare_is_400(folder, db, users, bearer_client):
    first = publish(folder, "one")
    client = bearer_client(users[Level.WRITE])
    assert client.get("/api/scripts/echo/versions/0123456789abcdef/").status_code == 404
    assert client.get("/api/scripts/echo/versions/NOT-HEX/").status_code == 404
    assert client.get("/api/scripts/nope/versions/").status_code == 404
    unknown = client.get(f"/api/scripts/echo/versions/{first}/?compare=0123456789abcdef")
    assert unknown.status_code == 400 and "compare" in unknown.json()
    bad = client.get(f"/api/scripts/echo/versions/{first}/?compare=%00'")
    assert bad.status_code == 400 and "compare" in bad.json()


def test_versions_are_for_those_the_script_allows(folder, db, users, bearer_client, api_client):
    first = publish(folder, "one")
    reader = bearer_client(users[Level.READ_ONLY])
    for path in ("/api/scripts/echo/versions/", f"/api/scripts/echo/versions/{first}/"):
        denied = reader.get(path)
        assert denied.status_code == 403 and "staff only" in denied.json()["detail"]
        assert api_client.get(path).status_code == 401
        assert bearer_client(users[Level.OWNER]).get(path).status_code == 200


def test_a_run_links_to_the_source_it_ran_after_a_newer_version(
    folder, db, users, bearer_client, run_queued_tasks
):
    first = publish(folder, "one")
    client = bearer_client(users[Level.WRITE])
    run = client.post("/api/scripts/echo/runs/", {"params": {}}, format="json").json()
    # Published after the run was queued: the run still runs what it was queued with.
    second = publish(folder, "two")
    assert run_queued_tasks() == 1
    done = client.get(f"/api/runs/{run['id']}/").json()
    assert done["status"] == "succeeded" and done["result"] == "one:x"
    assert done["script_version"] == first
    assert done["source_url"] == f"http://testserver/api/scripts/echo/versions/{first}/"
    assert "one" in client.get(done["source_url"]).json()["source"]

    later = client.post("/api/scripts/echo/runs/", {"params": {}}, format="json").json()
    assert run_queued_tasks() == 1
    later = client.get(f"/api/runs/{later['id']}/").json()
    assert later["result"] == "two:x" and later["script_version"] == second
    assert later["source_url"].endswith(f"/versions/{second}/")


BROKEN = '"""Echo"""\nPOLICY = "staff"\ndef main(word: str = "x":\n    return word\n'


def test_a_broken_edit_keeps_the_last_good_version_running_on_a_real_worker(
    folder, users, bearer_client, start_worker
):
    good = publish(folder, "good")
    (folder / "echo.py").write_text(BROKEN)
    report = scripts_sync()
    assert report.kept == {"echo": good} and "echo.py" in report.rejected

    admin = bearer_client(users[Level.ADMIN])
    script = admin.get("/api/scripts/echo/").json()
    assert script["version"] == good
    [problem] = script["problems"]
    assert problem["message"].startswith("Python cannot parse the file")
    assert problem["version"] not in ("", good) and problem["since"]
    listed = admin.get("/api/scripts/?page_size=100").json()["results"]
    assert next(s for s in listed if s["slug"] == "echo")["problems"] == [problem]
    # Staff who may run it, but are not admins, see no problems; Read Only users not even it.
    assert bearer_client(users[Level.WRITE]).get("/api/scripts/echo/").json()["problems"] == []
    assert bearer_client(users[Level.READ_ONLY]).get("/api/scripts/echo/").status_code == 403

    start_worker()
    run = admin.post("/api/scripts/echo/runs/?wait=20", {"params": {}}, format="json").json()
    assert run["status"] == "succeeded", run
    assert run["result"] == "good:x" and run["stdout"] == "good\n"
    assert run["script_version"] == good

    # A sync that finds the same problem keeps when it began.
    scripts_sync()
    assert Script.objects.get(slug="echo").problems == [problem]


def test_a_fix_clears_the_problems_and_a_removed_file_unpublishes(folder, db, users):
    publish(folder, "good")
    (folder / "echo.py").write_text(BROKEN)
    scripts_sync()
    assert Script.objects.get(slug="echo").problems
    fixed = publish(folder, "fixed")
    script = Script.objects.get(slug="echo")
    assert script.problems == [] and script.version == fixed and script.is_published
    assert ScriptVersion.objects.filter(script=script).count() == 2  # the broken one is not kept

    (folder / "echo.py").unlink()
    report = scripts_sync()
    assert report.unpublished == ["echo"]
    script.refresh_from_db()
    assert not script.is_published and script.rejection == "The file was removed."


def test_a_read_only_user_never_sees_problems(folder, db, users, bearer_client, settings):
    (folder / "note.py").write_text('"""Note"""\nPOLICY = "authenticated"\ndef main():\n    pass\n')
    scripts_sync()
    (folder / "note.py").write_text('"""Note"""\nPOLICY = "nobody"\ndef main():\n    pass\n')
    scripts_sync()
    reader = bearer_client(users[Level.READ_ONLY])
    assert reader.get("/api/scripts/note/").json()["problems"] == []
    assert bearer_client(users[Level.OWNER]).get("/api/scripts/note/").json()["problems"]


def test_a_queued_run_of_a_version_no_longer_kept_runs_the_current_one(
    folder, db, users, bearer_client, run_queued_tasks
):
    current = publish(folder, "one")
    client = bearer_client(users[Level.WRITE])
    run_id = client.post("/api/scripts/echo/runs/", {"params": {}}, format="json").json()["id"]
    ScriptVersion.objects.all().delete()  # as for a run queued before versions were kept
    run_queued_tasks()
    run = Run.objects.get(pk=run_id)
    assert run.status == RunStatus.SUCCEEDED and run.script_version == current


def test_admins_see_every_rejected_file_new_ones_included(folder, db, users, bearer_client):
    publish(folder, "good")
    (folder / "echo.py").write_text(BROKEN)
    (folder / "fresh.py").write_text('"""Fresh"""\ndef main():\n    pass\n')
    scripts_sync()
    admin = bearer_client(users[Level.ADMIN])
    body = admin.get("/api/script-problems/").json()
    assert body["count"] == 2
    echo, fresh = body["results"]
    assert (echo["file"], echo["slug"], echo["published"]) == ("echo.py", "echo", True)
    assert echo["message"].startswith("Python cannot parse the file")
    assert (fresh["file"], fresh["slug"], fresh["published"]) == ("fresh.py", "fresh", False)
    assert fresh["message"].startswith("POLICY is missing")
    since = fresh["since"]

    scripts_sync()  # the same problems: `since` stays
    assert admin.get("/api/script-problems/").json()["results"][1]["since"] == since
    for level in (Level.WRITE, Level.READ_ONLY, Level.INVESTOR):
        assert bearer_client(users[level]).get("/api/script-problems/").status_code == 403

    (folder / "fresh.py").unlink()
    publish(folder, "fixed")
    assert admin.get("/api/script-problems/").json()["count"] == 0
