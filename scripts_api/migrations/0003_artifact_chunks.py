"""Artifacts' bytes move from `Artifact.content` into `ArtifactChunk` rows of at most 1 MiB.

The data step copies one artifact at a time and reads its content one slice at a time with the
databases' SUBSTR/SUBSTRING, so that even the migration never holds a whole file in memory.
Going back joins the chunks into `content` again, a whole artifact at a time.
"""

import hashlib

import django.db.models.deletion
from django.db import migrations, models
from django.db.models.functions import Substr

CHUNK_BYTES = 1024 * 1024


def content_to_chunks(apps, schema_editor):
    Artifact = apps.get_model("scripts_api", "Artifact")
    ArtifactChunk = apps.get_model("scripts_api", "ArtifactChunk")
    for pk, size in Artifact.objects.order_by("pk").values_list("pk", "size"):
        digest, index, start = hashlib.sha256(), 0, 1
        while start <= size:
            piece = Substr("content", start, CHUNK_BYTES, output_field=models.BinaryField())
            row = Artifact.objects.filter(pk=pk).annotate(piece=piece)
            data = bytes(row.values_list("piece", flat=True).get())
            if not data:
                break
            ArtifactChunk.objects.create(artifact_id=pk, index=index, data=data)
            digest.update(data)
            index, start = index + 1, start + len(data)
        Artifact.objects.filter(pk=pk).update(sha256=digest.hexdigest())
    # PostgreSQL refuses to alter a table with deferred foreign key checks pending (the
    # chunks'), as the next operation does: run them now.
    schema_editor.connection.check_constraints()


def chunks_to_content(apps, schema_editor):
    Artifact = apps.get_model("scripts_api", "Artifact")
    ArtifactChunk = apps.get_model("scripts_api", "ArtifactChunk")
    for pk in Artifact.objects.order_by("pk").values_list("pk", flat=True):
        chunks = ArtifactChunk.objects.filter(artifact_id=pk).order_by("index")
        content = b"".join(bytes(data) for data in chunks.values_list("data", flat=True))
        Artifact.objects.filter(pk=pk).update(content=content)


class Migration(migrations.Migration):

    dependencies = [
        ('scripts_api', '0002_artifact'),
    ]

    operations = [
        migrations.AddField(
            model_name='artifact',
            name='expired_at',
            field=models.DateTimeField(blank=True, null=True),
        ),
        migrations.AddField(
            model_name='artifact',
            name='sha256',
            field=models.CharField(blank=True, max_length=64),
        ),
        migrations.CreateModel(
            name='ArtifactChunk',
            fields=[
                ('id', models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name='ID')),
                ('index', models.PositiveIntegerField()),
                ('data', models.BinaryField()),
                ('artifact', models.ForeignKey(db_index=False, on_delete=django.db.models.deletion.CASCADE, related_name='chunks', to='scripts_api.artifact')),
            ],
            options={
                'constraints': [models.UniqueConstraint(fields=('artifact', 'index'), name='scripts_api_artifactchunk_unique_index')],
            },
        ),
        migrations.RunPython(content_to_chunks, chunks_to_content, elidable=True),
        migrations.RemoveField(
            model_name='artifact',
            name='content',
        ),
    ]
