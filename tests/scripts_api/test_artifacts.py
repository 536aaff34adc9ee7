"""Artifacts stored in chunks, streamed back and pruned; run lists that stay small."""

import hashlib
import io
import random
import tracemalloc
from datetime import timedelta

from django.core.management import call_command
from django.db import connection
from django.db.migrations.executor import MigrationExecutor
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from scripts_api import artifacts
from scripts_api.artifacts import CHUNK_BYTES, artifacts_prune, store_file
from scripts_api.execution import run_execute
from scripts_api.models import Artifact, ArtifactChunk, Run, RunStatus, Script
from scripts_api.params import MAX_PARAMS_BYTES
from scripts_api.services import scripts_sync
from tests.conftest import PASSWORD
from users.roles import Level

SUMMARY_FIELDS = {
    "id", "script", "script_version", "user", "params", "status", "stage", "exit_code", "error",
    "artifacts", "created_at", "started_at", "finished_at", "duration_ms",
}  # fmt: skip
BLOB_SCRIPT = '''"""Write a binary file"""
import hashlib
import os
import random

POLICY = "authenticated"


def main(size: int = 0):
    data = random.Random(size).randbytes(size)
    with open(os.path.join(os.environ["RBAS_OUTPUT_DIR"], "blob.bin"), "wb") as out:
        out.write(data)
    return hashlib.sha256(data).hexdigest()
'''
LOUD_SCRIPT = '''"""Print, return and fail at length"""
import sys

POLICY = "authenticated"


def main(fail: bool = False):
    print("o" * 300_000)
    print("e" * 300_000, file=sys.stderr)
    if fail:
        raise ValueError("m" * 300_000)
    return "r" * 300_000
'''


def sample(size: int) -> bytes:
    """`size` bytes of every value, the same each time (as BLOB_SCRIPT writes them)."""
    return random.Random(size).randbytes(size)  # noqa: S311 (test data, not a secret)


def finished_run(user, *, files: dict[str, bytes], days_ago: float = 0, **fields) -> Run:
    """A succeeded run of `hello` that kept `files`, created `days_ago` days ago."""
    created = timezone.now() - timedelta(days=days_ago)
    run = Run.objects.create(
        script=Script.objects.get(slug="hello"),
        script_version="v",
        user=user,
        status=RunStatus.SUCCEEDED,
        artifacts=[{"name": name, "size": len(data)} for name, data in files.items()],
        created_at=created,
        started_at=created,
        finished_at=created,
        **fields,
    )
    for name, data in files.items():
        store_file(run_id=run.pk, name=name, source=io.BytesIO(data), limit=len(data))
    return run


def download(client, run: Run, name: str):
    return client.get(f"/api/runs/{run.pk}/artifacts/{name}")


def test_a_multi_chunk_artifact_round_trips_byte_identical_through_a_real_worker(
    catalog, users, bearer_client, start_worker
):
    (catalog / "blob.py").write_text(BLOB_SCRIPT)
    scripts_sync()
    start_worker()
    size = 2 * CHUNK_BYTES + 4321
    client = bearer_client(users[Level.READ_ONLY])
    params = {"params": {"size": size}}
    response = client.post("/api/scripts/blob/runs/?wait=30", params, format="json")
    run = response.json()
    assert response.status_code == 200 and run["status"] == "succeeded", (
        run["error"],
        run["stderr"],
    )
    assert [(a["name"], a["size"], a["expired"]) for a in run["artifacts"]] == [
        ("blob.bin", size, False)
    ]
    artifact = Artifact.objects.get(run_id=run["id"])
    assert artifact.sha256 == run["result"]
    stored = ArtifactChunk.objects.filter(artifact=artifact).order_by("index")
    assert [len(data) for data in stored.values_list("data", flat=True)] == [
        CHUNK_BYTES, CHUNK_BYTES, 4321,
    ]  # fmt: skip
    got = client.get(run["artifacts"][0]["url"])
    assert got.status_code == 200
    assert got["Content-Length"] == str(size)
    assert got["Content-Type"] == "application/octet-stream"
    assert b"".join(got.streaming_content) == sample(size)


def test_a_download_is_streamed_in_chunks_of_at_most_the_chunk_size(
    catalog, users, bearer_client, monkeypatch
):
    monkeypatch.setattr(artifacts, "CHUNK_BYTES", 1000)
    data = sample(10_500)
    run = finished_run(users[Level.WRITE], files={"report.csv": data})
    assert ArtifactChunk.objects.filter(artifact__run=run).count() == 11
    response = download(bearer_client(users[Level.WRITE]), run, "report.csv")
    assert response.status_code == 200
    assert response.streaming
    assert response["Content-Length"] == "10500"
    assert response["Content-Type"] == "text/csv"
    assert response["Content-Disposition"] == 'attachment; filename="report.csv"'
    pieces = list(response.streaming_content)
    assert len(pieces) == 11 and max(len(piece) for piece in pieces) <= 1000
    assert b"".join(pieces) == data


class RecordingReader(io.BytesIO):
    """A binary file that remembers how much each `read` asked for."""

    def __init__(self, data: bytes) -> None:
        super().__init__(data)
        self.asked: list[int] = []

    def read(self, size=-1):
        self.asked.append(size)
        return super().read(size)


def test_storing_reads_the_file_a_chunk_at_a_time_and_cuts_it_at_the_collected_size(catalog, users):
    run = finished_run(users[Level.WRITE], files={})
    source = RecordingReader(b"y" * (CHUNK_BYTES + 10) + b"grew after collect")
    artifact = store_file(run_id=run.pk, name="a.bin", source=source, limit=CHUNK_BYTES + 10)
    assert source.asked and all(0 < size <= CHUNK_BYTES for size in source.asked)
    assert artifact.size == CHUNK_BYTES + 10
    assert artifact.sha256 == hashlib.sha256(b"y" * (CHUNK_BYTES + 10)).hexdigest()


def test_storing_and_downloading_hold_a_few_chunks_whatever_the_size(catalog, users, bearer_client):
    size = 24 * CHUNK_BYTES
    run = finished_run(users[Level.WRITE], files={})
    client = bearer_client(users[Level.WRITE])
    warm = finished_run(users[Level.WRITE], files={"warm.bin": b"w"})  # first-use imports
    assert b"".join(download(client, warm, "warm.bin").streaming_content) == b"w"
    peaks = []
    tracemalloc.start()
    try:
        with open("/dev/zero", "rb") as source:  # endless: `limit` stops the reading
            before = tracemalloc.get_traced_memory()[0]
            store_file(run_id=run.pk, name="big.bin", source=source, limit=size)
            peaks.append(tracemalloc.get_traced_memory()[1] - before)
        tracemalloc.reset_peak()
        before = tracemalloc.get_traced_memory()[0]
        response = download(client, run, "big.bin")
        received = sum(len(piece) for piece in response.streaming_content)
        peaks.append(tracemalloc.get_traced_memory()[1] - before)
    finally:
        tracemalloc.stop()
    assert received == size
    # A chunk read, and on PostgreSQL the query psycopg builds around it, hex-escaped (two
    # bytes a byte) and copied a few times: about 7 chunks, the same for any size of file.
    assert max(peaks) < 8 * CHUNK_BYTES, peaks


def test_others_get_404_for_someone_elses_artifact(catalog, users, bearer_client):
    run = finished_run(users[Level.WRITE], files={"a.txt": b"secret"})
    for level in (Level.READ_ONLY, Level.INVESTOR):
        assert download(bearer_client(users[level]), run, "a.txt").status_code == 404
    assert download(bearer_client(users[Level.WRITE]), run, "b.txt").status_code == 404
    for level in (Level.WRITE, Level.ADMIN, Level.OWNER):
        response = download(bearer_client(users[level]), run, "a.txt")
        assert response.status_code == 200 and b"".join(response.streaming_content) == b"secret"


def test_the_run_list_answers_run_summaries_and_never_loads_output(catalog, users, bearer_client):
    user = users[Level.WRITE]
    big = "o" * 100_000
    for _ in range(3):
        finished_run(user, files={"a.txt": b"a"}, stdout=big, stderr=big, result={"x": big})
    client = bearer_client(user)
    with CaptureQueriesContext(connection) as queries:
        listing = client.get("/api/runs/?page_size=100")
    assert listing.status_code == 200
    runs = listing.json()["results"]
    assert len(runs) == 3 and all(set(run) == SUMMARY_FIELDS for run in runs)
    assert runs[0]["artifacts"][0]["url"].endswith("/artifacts/a.txt")
    selected = [q["sql"] for q in queries.captured_queries if "scripts_api_run" in q["sql"]]
    assert selected
    for column in ('"stdout"', '"stderr"', '"result"', '"source"'):
        assert all(column not in sql for sql in selected), column
    finished_run(user, files={})
    with CaptureQueriesContext(connection) as more:
        assert len(client.get("/api/runs/?page_size=100").json()["results"]) == 4
    assert len(more.captured_queries) == len(queries.captured_queries)
    detail = client.get(f"/api/runs/{runs[0]['id']}/").json()
    assert set(detail) == SUMMARY_FIELDS | {
        "stdout",
        "stderr",
        "result",
        "progress",
        "progress_message",
        "source_url",
    }
    assert detail["stdout"] == big


def test_the_run_list_stays_small_whatever_the_runs_printed(catalog, users, bearer_client):
    (catalog / "loud.py").write_text(LOUD_SCRIPT)
    scripts_sync()
    client = bearer_client(users[Level.WRITE])
    for fail in (False, True):
        run_id = client.post("/api/scripts/loud/runs/", {"params": {"fail": fail}}, format="json")
        run_execute(run_id=run_id.json()["id"])
    detail = client.get(f"/api/runs/{run_id.json()['id']}/").json()
    assert detail["status"] == "failed" and len(detail["stdout"]) > 300_000
    listing = client.get("/api/runs/?page_size=100")
    assert [run["status"] for run in listing.json()["results"]] == ["failed", "succeeded"]
    assert len(listing.content) < 3000
    assert len(listing.json()["results"][0]["error"]) <= 1000


def test_parameters_over_the_total_cap_are_refused(catalog, users, bearer_client):
    client = bearer_client(users[Level.WRITE])
    names = ["n" * 10_000] * (MAX_PARAMS_BYTES // 10_000 + 1)
    response = client.post("/api/scripts/writer/runs/", {"params": {"names": names}}, format="json")
    assert response.status_code == 400
    assert "bytes as JSON" in response.json()["params"][0]
    assert not Run.objects.exists()


def test_a_user_id_beyond_64_bits_is_a_400_not_a_500(catalog, users, bearer_client):
    client = bearer_client(users[Level.ADMIN])
    assert client.get("/api/runs/?user=1000000000000000000000000000000").status_code == 400
    assert client.get(f"/api/runs/?user={2**63}").status_code == 400
    largest = client.get(f"/api/runs/?user={2**63 - 1}")
    assert largest.status_code == 200 and largest.json()["results"] == []


def test_retention_expires_old_artifacts_and_keeps_the_runs(
    catalog, users, bearer_client, settings
):
    settings.RUN_ARTIFACTS_RETENTION_DAYS = 30
    user = users[Level.WRITE]
    old = finished_run(user, files={"a.txt": b"a" * 10, "b.txt": b"b"}, days_ago=31, stdout="kept")
    recent = finished_run(user, files={"c.txt": b"c"}, days_ago=29)
    with CaptureQueriesContext(connection) as queries:
        assert artifacts_prune() == 2
    assert not [q for q in queries.captured_queries if '"data"' in q["sql"]]  # bytes never read
    assert not ArtifactChunk.objects.filter(artifact__run=old).exists()
    assert ArtifactChunk.objects.filter(artifact__run=recent).count() == 1
    client = bearer_client(user)
    run = client.get(f"/api/runs/{old.pk}/").json()
    assert run["stdout"] == "kept"
    assert [(a["name"], a["size"], a["expired"]) for a in run["artifacts"]] == [
        ("a.txt", 10, True), ("b.txt", 1, True),
    ]  # fmt: skip
    listed = {r["id"]: r for r in client.get("/api/runs/").json()["results"]}
    assert listed[str(old.pk)]["artifacts"][0]["expired"] is True
    assert listed[str(recent.pk)]["artifacts"][0]["expired"] is False
    gone = download(client, old, "a.txt")
    assert gone.status_code == 410 and "removed" in gone.json()["detail"]
    assert download(bearer_client(users[Level.READ_ONLY]), old, "a.txt").status_code == 404
    assert download(client, recent, "c.txt").status_code == 200
    assert artifacts_prune() == 0
    assert Artifact.objects.filter(run=old, expired_at__isnull=False).count() == 2


def test_no_retention_keeps_artifacts_forever(catalog, users, settings):
    settings.RUN_ARTIFACTS_RETENTION_DAYS = 0
    finished_run(users[Level.WRITE], files={"a.txt": b"a"}, days_ago=3650)
    assert artifacts_prune() == 0
    assert ArtifactChunk.objects.count() == 1


def test_the_total_cap_expires_the_oldest_runs_artifacts_first(catalog, users, settings):
    settings.RUN_ARTIFACTS_TOTAL_MAX_BYTES = 2000
    user = users[Level.WRITE]
    runs = [finished_run(user, files={"a.bin": b"a" * 1000}, days_ago=days) for days in (3, 2, 1)]
    newest_first = finished_run(user, files={"b.bin": b"b" * 500}, days_ago=0)
    assert artifacts_prune() == 2
    live = Artifact.objects.filter(expired_at__isnull=True)
    assert {a.run_id for a in live} == {runs[2].pk, newest_first.pk}
    assert sum(a.size for a in live) == 1500
    assert set(ArtifactChunk.objects.values_list("artifact__run", flat=True)) == {
        runs[2].pk, newest_first.pk,
    }  # fmt: skip
    assert Run.objects.count() == 4
    settings.RUN_ARTIFACTS_TOTAL_MAX_BYTES = 0
    assert artifacts_prune() == 0


def test_prune_artifacts_command_says_what_it_removed(catalog, users, settings):
    settings.RUN_ARTIFACTS_RETENTION_DAYS = 1
    finished_run(users[Level.WRITE], files={"a.txt": b"a"}, days_ago=2)
    out = io.StringIO()
    call_command("prune_artifacts", stdout=out)
    assert out.getvalue() == "Removed 1 artifacts.\n"


def test_the_admin_lists_runs_without_their_output_and_shows_their_artifacts(catalog, users):
    from users.models import User

    User.objects.create_superuser("root", "root@example.com", PASSWORD)
    client = Client()
    assert client.login(username="root", password=PASSWORD)
    run = finished_run(users[Level.WRITE], files={"a.txt": b"a"}, stdout="o" * 1000)
    with CaptureQueriesContext(connection) as queries:
        assert client.get("/admin/scripts_api/run/").status_code == 200
    listed = [q["sql"] for q in queries.captured_queries if '"scripts_api_run"."id"' in q["sql"]]
    assert listed and all('"stdout"' not in sql and '"source"' not in sql for sql in listed)
    page = client.get(f"/admin/scripts_api/run/{run.pk}/change/").content.decode()
    assert "a.txt" in page and hashlib.sha256(b"a").hexdigest() in page


def test_the_migration_moves_stored_content_into_chunks(transactional_db):
    executor = MigrationExecutor(connection)
    latest = executor.loader.graph.leaf_nodes()
    # Only scripts_api goes back, with the apps built on it (schedules, notifications): every
    # other app stays at its latest state (users' included).
    graph = executor.loader.graph
    above = {n[0] for n in latest if any(d[0] == "scripts_api" for d in graph.forwards_plan(n))}
    before = [("scripts_api", "0002_artifact")] + [n for n in latest if n[0] not in above]
    try:
        migrate_back_and_forth(executor, before, latest)
    finally:  # whatever happened, later tests (and their workers) need the latest schema
        executor = MigrationExecutor(connection)
        executor.loader.build_graph()
        executor.migrate(latest)


def migrate_back_and_forth(executor, before, latest):
    executor.migrate(before)
    apps = executor.loader.project_state(before).apps
    user = apps.get_model("users", "User").objects.create(username="old", email="old@example.com")
    script = apps.get_model("scripts_api", "Script").objects.create(
        slug="old", filename="old.py", title="Old", policy="authenticated", params_schema={},
        timeout_seconds=1, memory_mb=64, version="v", source="",
    )  # fmt: skip
    run = apps.get_model("scripts_api", "Run").objects.create(
        script=script, script_version="v", user=user
    )
    content = sample(2 * 1024 * 1024 + 7)
    OldArtifact = apps.get_model("scripts_api", "Artifact")
    OldArtifact.objects.create(run=run, name="a.bin", size=len(content), content=content)
    OldArtifact.objects.create(run=run, name="empty", size=0, content=b"")
    executor = MigrationExecutor(connection)
    executor.loader.build_graph()
    executor.migrate(latest)
    artifact = Artifact.objects.get(name="a.bin")
    assert artifact.sha256 == hashlib.sha256(content).hexdigest()
    assert b"".join(artifacts.read_chunks(artifact)) == content
    assert ArtifactChunk.objects.filter(artifact=artifact).count() == 3
    empty = Artifact.objects.get(name="empty")
    assert empty.sha256 == hashlib.sha256(b"").hexdigest()
    assert not ArtifactChunk.objects.filter(artifact=empty).exists()
