"""Scripts' PEP 723 dependencies: read by the catalog, built by uv from a wheel made here (uv
is pointed at that folder only), imported by the script in the sandbox, reused, pruned."""

import fcntl
import importlib.util
import os
import textwrap
import time

import pytest

from scripts_api import environments
from scripts_api.dependencies import environment_use, requirements_digest
from scripts_api.models import EnvironmentStatus, Run, RunStatus, Script, ScriptEnvironment
from scripts_api.pep723 import MetadataError
from scripts_api.pep723 import read as inline_metadata
from scripts_api.services import scripts_sync
from scripts_api.tasks import prepare_environment
from tests.conftest import wait_for
from users.roles import Level

PROBE = '''
    # /// script
    # requires-python = ">=3.11"
    # dependencies = ["rbas-probe>=1"]
    # ///
    """Use the probe

    Imports a package the server's environment does not have.
    """
    import rbas_probe

    POLICY = "authenticated"

    def main() -> int:
        return rbas_probe.VALUE
'''
UNRESOLVABLE = '''
    # /// script
    # dependencies = ["rbas-no-such-package==9"]
    # ///
    """Needs the impossible"""
    POLICY = "authenticated"

    def main() -> int:
        return 1
'''
DJANGO_PROBE = '''
    """Import Django"""
    POLICY = "authenticated"

    def main(extend: bool = False) -> str:
        import sys
        if extend:
            sys.path.extend(SITE_PACKAGES)
        import django
        return django.__file__
'''


def _add(catalog, name: str, source: str):
    (catalog / name).write_text(textwrap.dedent(source).lstrip())
    return scripts_sync()


def _built(env_dir) -> list[str]:
    return sorted(p.name for p in env_dir.iterdir() if p.is_dir() and len(p.name) == 40)


# --- The catalog reads the block -----------------------------------------------------------


def test_the_catalog_reads_dependencies_and_requires_python():
    source = '# /// script\n# requires-python = ">=3.11"\n# dependencies = [\n#   "requests<3",\n#   "rich",\n# ]\n# ///\n'  # noqa: E501
    assert inline_metadata(source) == (("requests<3", "rich"), ">=3.11")
    assert inline_metadata('"""No block"""\n') == ((), "")


@pytest.mark.parametrize(
    ("block", "reason"),
    [
        ('# dependencies = ["a b c"]', "The dependency 'a b c' is not valid"),
        ("# dependencies = 3", "`dependencies` must be a list of strings"),
        ("# dependencies = [", "not valid TOML"),
        ('# dependency = ["x"]', "unknown keys ['dependency']"),
        ('# requires-python = ">=3.99"', "requires Python >=3.99, and this server runs 3."),
        ('# requires-python = "three"', "`requires-python` 'three' is not valid."),
        ('# dependencies = ["x @ https://example.com/x.whl"]', "names a URL"),
    ],
)
def test_a_malformed_block_rejects_the_file_with_a_reason(block, reason):
    with pytest.raises(MetadataError, match=reason.replace("[", r"\[").replace("(", r"\(")):
        inline_metadata(f"# /// script\n{block}\n# ///\n")


def test_an_unclosed_or_repeated_block_is_rejected():
    with pytest.raises(MetadataError, match="is not closed"):
        inline_metadata('# /// script\n# dependencies = ["x"]\n')
    twice = '# /// script\n# dependencies = ["x"]\n# ///\n'
    with pytest.raises(MetadataError, match="more than one"):
        inline_metadata(twice + "import os\n" + twice)


def test_sync_rejects_a_script_with_a_malformed_block_and_says_why(catalog):
    report = _add(catalog, "broken_deps.py", PROBE.replace('["rbas-probe>=1"]', '["rbas probe"]'))
    assert "not valid" in report.rejected["broken_deps.py"]
    assert not Script.objects.filter(slug="broken-deps", is_published=True).exists()


# --- Sync and the Script's JSON ------------------------------------------------------------


def test_sync_publishes_the_dependencies_and_queues_their_preparation(
    catalog, uv_index, users, bearer_client, run_queued_tasks
):
    _add(catalog, "probe.py", PROBE)
    client = bearer_client(users[Level.READ_ONLY])
    script = client.get("/api/scripts/probe/").json()
    assert script["dependencies"] == {
        "requirements": ["rbas-probe>=1"],
        "requires_python": ">=3.11",
        "status": "preparing",
        "error": "",
    }
    assert client.get("/api/scripts/hello/").json()["dependencies"]["status"] == "none"
    assert run_queued_tasks() == 1  # the prepare_environment task
    assert client.get("/api/scripts/probe/").json()["dependencies"]["status"] == "ready"
    assert len(_built(uv_index_dir(uv_index))) == 1
    # An unchanged dependency set queues nothing more.
    scripts_sync()
    assert run_queued_tasks() == 0


def uv_index_dir(env):
    from pathlib import Path

    return Path(env["SCRIPT_ENVIRONMENTS_DIR"])


def test_an_unresolvable_dependency_publishes_the_script_and_fails_its_runs_with_uvs_message(
    catalog, uv_index, users, bearer_client, run_queued_tasks
):
    _add(catalog, "impossible.py", UNRESOLVABLE)
    run_queued_tasks()
    client = bearer_client(users[Level.READ_ONLY])
    script = client.get("/api/scripts/impossible/").json()  # still published
    assert script["dependencies"]["status"] == "failed"
    assert "rbas-no-such-package" in script["dependencies"]["error"]
    assert "No solution found" in script["dependencies"]["error"]
    run_id = client.post("/api/scripts/impossible/runs/", {}, format="json").json()["id"]
    run_queued_tasks()
    run = client.get(f"/api/runs/{run_id}/").json()
    assert run["status"] == "failed"
    assert run["error"].startswith("dependencies failed: ")
    assert "rbas-no-such-package" in run["error"]


def test_a_failed_resolution_is_retried_by_a_run_only_after_the_retry_delay(
    catalog, uv_index, settings, run_queued_tasks
):
    _add(catalog, "impossible.py", UNRESOLVABLE)
    run_queued_tasks()
    row = ScriptEnvironment.objects.get()
    first_failure = row.updated_at
    with (
        pytest.raises(environments.EnvironmentFailed),
        environment_use(requirements=row.requirements),
    ):
        pass
    assert ScriptEnvironment.objects.get().updated_at == first_failure  # uv not called
    settings.SCRIPT_ENVIRONMENT_RETRY_SECONDS = 0
    with (
        pytest.raises(environments.EnvironmentFailed),
        environment_use(requirements=row.requirements),
    ):
        pass
    assert ScriptEnvironment.objects.get().updated_at > first_failure


# --- Runs through real workers -------------------------------------------------------------


def test_a_script_imports_its_dependency_that_the_server_lacks_and_the_environment_is_reused(
    catalog, uv_index, users, bearer_client, start_worker
):
    assert importlib.util.find_spec("rbas_probe") is None  # not in the server's environment
    _add(catalog, "probe.py", PROBE)
    from django_tasks_db.models import DBTaskResult

    # The sync queued a preparation: let the first run build instead.
    DBTaskResult.objects.filter(task_path=prepare_environment.module_path).delete()
    first_worker = start_worker(**uv_index)
    client = bearer_client(users[Level.WRITE])
    first = client.post("/api/scripts/probe/runs/?wait=30", {}, format="json").json()
    assert first["status"] == "succeeded", first
    assert first["result"] == 42
    assert first["stage"] == ""
    env_dir = uv_index_dir(uv_index)
    [key] = _built(env_dir)
    built = (env_dir / key).stat()
    second = client.post("/api/scripts/probe/runs/?wait=30", {}, format="json").json()
    assert second["status"] == "succeeded"
    # A second worker on the same host reuses it too.
    first_worker.terminate()
    first_worker.wait(10)
    start_worker(**uv_index)
    third = client.post("/api/scripts/probe/runs/?wait=30", {}, format="json").json()
    assert third["status"] == "succeeded", third
    assert _built(env_dir) == [key]
    again = (env_dir / key).stat()
    assert (again.st_ino, again.st_ctime_ns) == (built.st_ino, built.st_ctime_ns)
    logs = b"".join(p.read_bytes() for p in (catalog.parent).glob("worker-*.log"))
    assert logs.count(b"Built the environment") == 1


def test_concurrent_workers_build_one_environment_once(
    catalog, uv_index, users, bearer_client, start_worker
):
    _add(catalog, "probe.py", PROBE)
    from django_tasks_db.models import DBTaskResult

    DBTaskResult.objects.filter(task_path=prepare_environment.module_path).delete()
    workers = [start_worker(**uv_index), start_worker(**uv_index)]
    wait_for(lambda: all(b"Starting worker" in w.log_path.read_bytes() for w in workers))
    clients = [bearer_client(users[Level.WRITE]), bearer_client(users[Level.ADMIN])]
    ids = [c.post("/api/scripts/probe/runs/", {}, format="json").json()["id"] for c in clients]
    wait_for(lambda: all(Run.objects.get(pk=i).status == RunStatus.SUCCEEDED for i in ids), 60)
    assert {Run.objects.get(pk=i).worker_id for i in ids} == {
        Run.objects.get(pk=ids[0]).worker_id,
        Run.objects.get(pk=ids[1]).worker_id,
    }
    assert len(_built(uv_index_dir(uv_index))) == 1
    logs = b"".join(w.log_path.read_bytes() for w in workers)
    assert logs.count(b"Built the environment") == 1


# --- The server's packages ------------------------------------------------------------------


@pytest.fixture
def django_probe(catalog):
    from scripts_api.sandbox import server_site_packages

    source = DJANGO_PROBE.replace("SITE_PACKAGES", repr(server_site_packages()))
    _add(catalog, "django_probe.py", source)


def _run(client, run_queued_tasks, slug, params=None) -> dict:
    run_id = client.post(f"/api/scripts/{slug}/runs/", {"params": params or {}}, format="json")
    run_queued_tasks()
    return client.get(f"/api/runs/{run_id.json()['id']}/").json()


def test_a_script_without_dependencies_cannot_import_the_servers_packages(
    django_probe, users, bearer_client, run_queued_tasks
):
    client = bearer_client(users[Level.READ_ONLY])
    run = _run(client, run_queued_tasks, "django-probe")
    assert run["status"] == "failed"
    assert run["error"] == "ModuleNotFoundError: No module named 'django'"


@pytest.mark.skipif(
    environments.os.uname().sysname != "Linux", reason="Landlock is Linux only"
)  # the check below skips when the kernel has none
def test_with_landlock_the_servers_packages_cannot_be_put_back_on_sys_path(
    django_probe, users, bearer_client, run_queued_tasks
):
    from scripts_api.sandbox import get_sandbox

    get_sandbox().start()
    if not get_sandbox().landlock_abi:
        pytest.skip("this kernel has no Landlock")
    client = bearer_client(users[Level.READ_ONLY])
    run = _run(client, run_queued_tasks, "django-probe", {"extend": True})
    assert run["status"] == "failed"
    assert "django" in run["error"]


def test_script_server_packages_lets_scripts_import_them(
    django_probe, settings, users, bearer_client, run_queued_tasks
):
    settings.SCRIPT_SERVER_PACKAGES = True
    client = bearer_client(users[Level.READ_ONLY])
    run = _run(client, run_queued_tasks, "django-probe")
    assert run["status"] == "succeeded", run
    assert "django" in run["result"]


# --- Building, cancelling, pruning ---------------------------------------------------------


@pytest.mark.django_db
def test_the_run_says_preparing_while_uv_builds_and_cancel_stops_the_build(uv_index):
    seen = []

    def cancel_once_building() -> str | None:
        seen.append(1)
        return "cancelled"

    with (
        pytest.raises(environments.Stopped) as stopped,
        environment_use(requirements=["rbas-probe"], should_stop=cancel_once_building),
    ):
        pass
    assert stopped.value.verdict == "cancelled"
    assert seen  # polled while uv ran
    env_dir = uv_index_dir(uv_index)
    assert not [p for p in env_dir.iterdir() if p.name.endswith(".partial")]


def test_the_worker_marks_the_run_preparing_while_it_builds(
    catalog, uv_index, users, bearer_client
):
    from scripts_api.execution import _environment

    _add(catalog, "probe.py", PROBE)
    client = bearer_client(users[Level.WRITE])
    run_id = client.post("/api/scripts/probe/runs/", {}, format="json").json()["id"]
    Run.objects.filter(pk=run_id).update(status=RunStatus.RUNNING, worker_id="w")
    stages = []

    def monitor() -> None:
        stages.append(client.get(f"/api/runs/{run_id}/").json()["stage"])

    run = Run.objects.select_related("script").get(pk=run_id)
    with _environment(run, run.script, "w", monitor) as folder:
        assert (folder / "rbas_probe" / "__init__.py").exists()
    assert "preparing" in stages
    assert client.get(f"/api/runs/{run_id}/").json()["stage"] == ""


@pytest.mark.django_db
def test_prune_removes_environments_unused_for_the_retention_and_keeps_those_in_use(uv_index):
    with environments.environment("") as kept_folder:
        pass
    lock = "rbas-probe==1.0\n"
    with environments.environment(lock) as old_folder:
        pass
    old = time.time() - 30 * 86400
    for folder in (kept_folder, old_folder):
        os.utime(folder.with_name(folder.name + ".used"), (old, old))
    holder = os.open(kept_folder.with_name(kept_folder.name + ".lock"), os.O_RDWR)
    fcntl.flock(holder, fcntl.LOCK_SH)  # a run uses it
    try:
        assert environments.prune(days=14) == [old_folder.name]
    finally:
        os.close(holder)
    assert kept_folder.is_dir() and not old_folder.exists()
    assert environments.prune(days=14) == [kept_folder.name]


def test_requirements_digest_ignores_order_and_repeats():
    assert requirements_digest(["b", "a", "a"]) == requirements_digest(["a", "b"])


def test_the_status_is_preparing_until_a_worker_built_it(catalog, uv_index):
    _add(catalog, "probe.py", PROBE)
    assert ScriptEnvironment.objects.get().status == EnvironmentStatus.PREPARING


# --- A slow index: the run says preparing, keeps its lease, and can be cancelled ------------


@pytest.fixture
def slow_index(wheels, uv_index):
    """uv's find-links served over HTTP, each answer 1.5 s late: builds take seconds."""
    import functools
    import http.server
    import threading

    class Slow(http.server.SimpleHTTPRequestHandler):
        def do_GET(self):
            time.sleep(1.5)
            super().do_GET()

        def log_message(self, *args):
            pass

    handler = functools.partial(Slow, directory=str(wheels))
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    server.handle_error = lambda request, address: None  # uv killed mid-download: a broken pipe
    threading.Thread(target=server.serve_forever, daemon=True).start()
    yield {**uv_index, "UV_FIND_LINKS": f"http://127.0.0.1:{server.server_address[1]}/"}
    server.shutdown()


def _without_prepare_tasks() -> None:
    from django_tasks_db.models import DBTaskResult

    DBTaskResult.objects.filter(task_path=prepare_environment.module_path).delete()


def test_a_long_build_says_preparing_renews_the_lease_and_the_script_time_starts_after(
    catalog, slow_index, users, bearer_client, start_worker
):
    _add(catalog, "probe.py", PROBE)
    _without_prepare_tasks()
    start_worker(**slow_index, RUN_LEASE_SECONDS="2", RUN_HEARTBEAT_SECONDS="0.5")
    client = bearer_client(users[Level.WRITE])
    run_id = client.post("/api/scripts/probe/runs/", {}, format="json").json()["id"]
    wait_for(lambda: client.get(f"/api/runs/{run_id}/").json()["stage"] == "preparing")
    claimed_at = Run.objects.get(pk=run_id).started_at
    run = client.get(f"/api/runs/{run_id}/?wait=30").json()
    # Longer than a lease: the worker renewed it while uv ran, so the run was not reaped.
    assert run["status"] == "succeeded", run
    assert run["result"] == 42 and run["stage"] == ""
    assert Run.objects.get(pk=run_id).started_at > claimed_at
    assert run["duration_ms"] < 2000  # the script's own time, not the build's


def test_cancelling_a_run_while_its_environment_builds_stops_it_at_once(
    catalog, slow_index, users, bearer_client, start_worker
):
    _add(catalog, "probe.py", PROBE)
    _without_prepare_tasks()
    start_worker(**slow_index)
    client = bearer_client(users[Level.WRITE])
    run_id = client.post("/api/scripts/probe/runs/", {}, format="json").json()["id"]
    wait_for(lambda: client.get(f"/api/runs/{run_id}/").json()["stage"] == "preparing")
    asked = time.monotonic()
    assert client.post(f"/api/runs/{run_id}/cancel/").status_code == 202
    run = client.get(f"/api/runs/{run_id}/?wait=10").json()
    assert (run["status"], run["stage"]) == ("cancelled", "")
    assert time.monotonic() - asked < 1.5
    assert not _built(uv_index_dir(slow_index))
