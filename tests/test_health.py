"""Liveness and readiness probes (an unreachable database is tried in test_run_web.py)."""

from django.db import connection
from django.db.migrations.recorder import MigrationRecorder


def test_healthz_answers_without_touching_the_database(client):
    # No `db` fixture: pytest-django makes any database access here raise.
    response = client.get("/healthz")
    assert response.status_code == 200
    assert response.json() == {"status": "ok"}


def test_readyz_is_ok_when_migrated(client, db):
    response = client.get("/readyz")
    assert response.status_code == 200
    assert response.json() == {"status": "ok"}


def test_readyz_is_503_when_a_migration_is_missing(client, db):
    MigrationRecorder(connection).migration_qs.filter(app="users").delete()
    response = client.get("/readyz")
    assert response.status_code == 503
    assert "pending" in response.json()["reason"]


def test_unknown_api_urls_answer_json_404(client, db):
    response = client.get("/api/runs/not-a-uuid/")
    assert response.status_code == 404
    assert response.json() == {"detail": "Not found."}
    assert client.get("/no-such-page").status_code == 404
