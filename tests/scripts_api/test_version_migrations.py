"""The data migration gives every script already in the database its current content as a
version, so that old runs and scripts have a source to show."""

import pytest
from django.db import connection
from django.db.migrations.executor import MigrationExecutor

pytestmark = pytest.mark.django_db(transaction=True)

BEFORE = [("scripts_api", "0004_scripts_in_production")]
AFTER = [("scripts_api", "0005_backfill_script_versions")]


def migrate(targets):
    executor = MigrationExecutor(connection)
    executor.loader.build_graph()
    executor.migrate(targets)
    return executor.loader.project_state(targets).apps


def test_existing_scripts_get_their_current_content_as_a_version():
    try:
        apps = migrate(BEFORE)
        Script = apps.get_model("scripts_api", "Script")
        script = Script.objects.create(
            slug="old", filename="old.py", title="Old", policy="staff", params_schema={},
            timeout_seconds=5, memory_mb=128, version="0123456789abcdef", source="x = 1\n",
        )  # fmt: skip
        apps = migrate(AFTER)
        [version] = apps.get_model("scripts_api", "ScriptVersion").objects.filter(
            script_id=script.pk
        )
        assert (version.version, version.source, version.title) == (
            "0123456789abcdef", "x = 1\n", "Old"
        )  # fmt: skip
        assert version.published_at == script.updated_at
    finally:
        migrate(MigrationExecutor(connection).loader.graph.leaf_nodes())
