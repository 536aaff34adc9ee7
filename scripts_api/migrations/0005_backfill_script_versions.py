"""Every script already in the database gets its current content as its first version."""

from django.db import migrations


def backfill(apps, schema_editor):
    Script = apps.get_model("scripts_api", "Script")
    ScriptVersion = apps.get_model("scripts_api", "ScriptVersion")
    for script in Script.objects.all().iterator():
        ScriptVersion.objects.get_or_create(
            script=script,
            version=script.version,
            defaults={
                "source": script.source,
                "filename": script.filename,
                "title": script.title,
                "description": script.description,
                "policy": script.policy,
                "params_schema": script.params_schema,
                "timeout_seconds": script.timeout_seconds,
                "memory_mb": script.memory_mb,
                "created_at": script.updated_at,
                "published_at": script.updated_at,
            },
        )


class Migration(migrations.Migration):
    dependencies = [("scripts_api", "0004_scripts_in_production")]

    operations = [migrations.RunPython(backfill, migrations.RunPython.noop)]
