"""Files a run writes into RBAS_OUTPUT_DIR: picked within the caps, named safely, stored in the
database, served back, and pruned.

Storage. Web and worker processes share nothing but the database, so an artifact lives there: an
`Artifact` row (name, size, SHA-256) and its bytes in `ArtifactChunk` rows of at most CHUNK_BYTES,
numbered from 0. A plain BinaryField (BLOB on SQLite, bytea on PostgreSQL) works the same on both
databases, unlike PostgreSQL's large objects, and is deleted with its row.
- `store` reads an opened file CHUNK_BYTES at a time and INSERTs each chunk as it goes, hashing on
  the way: a worker holds a few chunks whatever the file's size. Chunks stay modest because
  psycopg hex-escapes each value into the query it sends, a few copies of twice its size.
- `read_chunks` fetches one chunk per query, by (artifact, index): no server-side cursor, so it
  needs no transaction open around a download and behaves alike on both databases. The download
  is a streaming response: a web worker holds one chunk at a time.
Retention. `artifacts_prune` removes the artifacts of runs older than RUN_ARTIFACTS_RETENTION_DAYS
and then, oldest runs first, enough others to bring the total under RUN_ARTIFACTS_TOTAL_MAX_BYTES.
It deletes the chunks and marks the `Artifact` row and the run's `artifacts` list `expired`; the
run keeps its record, and a download of an expired artifact answers 410.
"""

import hashlib
import logging
import re
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path
from typing import BinaryIO

from django.conf import settings
from django.db import transaction
from django.db.models import Sum
from django.utils import timezone

from scripts_api.models import Artifact, ArtifactChunk, Run

logger = logging.getLogger(__name__)

MAX_NAME_LENGTH = 100
CHUNK_BYTES = 1024 * 1024
# Artifacts expired per transaction while pruning: short transactions, bounded memory.
PRUNE_BATCH = 100


@dataclass(frozen=True)
class Found:
    """A file to keep, under its safe name."""

    name: str
    path: Path
    size: int


def safe_name(name: str) -> str:
    """A file name with nothing but letters, digits, dots, dashes and underscores."""
    cleaned = re.sub(r"[^A-Za-z0-9._-]+", "_", name).lstrip(".")[-MAX_NAME_LENGTH:]
    return cleaned or "file"


def collect(output_dir: Path) -> tuple[list[Found], list[str]]:
    """The regular files of `output_dir` to keep within the caps, and notes on the rest.

    Symbolic links and folders are never followed.
    """
    kept, notes, total = [], [], 0
    names: set[str] = set()
    for path in sorted(output_dir.iterdir(), key=lambda p: p.name):
        if path.is_symlink() or not path.is_file():
            notes.append(f"{path.name}: not a regular file, left out")
            continue
        size = path.stat().st_size
        if len(kept) >= settings.RUN_ARTIFACTS_MAX_FILES:
            notes.append(f"{path.name}: over {settings.RUN_ARTIFACTS_MAX_FILES} files, left out")
            continue
        if total + size > settings.RUN_ARTIFACTS_MAX_BYTES:
            notes.append(f"{path.name}: over {settings.RUN_ARTIFACTS_MAX_BYTES} bytes, left out")
            continue
        name = safe_name(path.name)
        stem, dot, suffix = name.rpartition(".")
        counter = 1
        while name in names:
            counter += 1
            name = f"{stem}-{counter}.{suffix}" if dot else f"{suffix}-{counter}"
        names.add(name)
        kept.append(Found(name, path, size))
        total += size
    return kept, notes


def store(run_id, found: list[Found]) -> None:
    """Save the collected files of a run (call inside the transaction that records it)."""
    for item in found:
        with item.path.open("rb") as source:
            store_file(run_id=run_id, name=item.name, source=source, limit=item.size)


def store_file(*, run_id, name: str, source: BinaryIO, limit: int) -> Artifact:
    """Save the first `limit` bytes of the binary file `source` as the artifact `name`,
    CHUNK_BYTES at a time. `limit` is the size `collect` counted against the caps: a file that
    grew since is cut there."""
    artifact = Artifact.objects.create(run_id=run_id, name=name, size=0)
    digest, size, index = hashlib.sha256(), 0, 0
    while size < limit:
        data = source.read(min(CHUNK_BYTES, limit - size))
        if not data:
            break
        ArtifactChunk.objects.create(artifact=artifact, index=index, data=data)
        digest.update(data)
        size, index = size + len(data), index + 1
    artifact.size, artifact.sha256 = size, digest.hexdigest()
    artifact.save(update_fields=["size", "sha256"])
    return artifact


def artifact_for(run: Run, name: str) -> Artifact | None:
    """The stored artifact `name` of `run`, if there is one (expired or not)."""
    return Artifact.objects.filter(run=run, name=name).first()


def read_chunks(artifact: Artifact) -> Iterator[bytes]:
    """The bytes of `artifact`, one chunk (and one query) at a time."""
    chunks = ArtifactChunk.objects.filter(artifact=artifact).values_list("data", flat=True)
    index = sent = 0
    while sent < artifact.size:
        data = chunks.filter(index=index).first()
        if data is None:  # pruned meanwhile: the client sees a body shorter than announced
            logger.warning("Artifact %s lost its chunks while it was read.", artifact.pk)
            return
        index, sent = index + 1, sent + len(data)
        yield bytes(data)


def artifacts_prune(*, now: datetime | None = None) -> int:
    """Expire the artifacts past RUN_ARTIFACTS_RETENTION_DAYS, then the oldest runs' ones until
    the rest fit in RUN_ARTIFACTS_TOTAL_MAX_BYTES; returns how many were expired."""
    now = now or timezone.now()
    live = Artifact.objects.filter(expired_at__isnull=True)
    pruned = 0
    if settings.RUN_ARTIFACTS_RETENTION_DAYS:
        cutoff = now - timedelta(days=settings.RUN_ARTIFACTS_RETENTION_DAYS)
        old = live.filter(run__created_at__lt=cutoff).values_list("pk", flat=True)
        while batch := list(old[:PRUNE_BATCH]):
            pruned += _expire(batch, now)
    if settings.RUN_ARTIFACTS_TOTAL_MAX_BYTES:
        excess = live.aggregate(total=Sum("size"))["total"] or 0
        excess -= settings.RUN_ARTIFACTS_TOTAL_MAX_BYTES
        oldest = live.order_by("run__created_at", "pk").values_list("pk", "size")
        while excess > 0:
            batch, freed = [], 0
            for pk, size in oldest[:PRUNE_BATCH]:
                if excess - freed <= 0:
                    break
                batch.append(pk)
                freed += size
            if not batch:
                break
            pruned += _expire(batch, now)
            excess -= freed
    return pruned


def _expire(artifact_ids: list[int], now: datetime) -> int:
    """Delete the chunks of these artifacts and mark them, and their runs' lists, expired."""
    with transaction.atomic():
        # A plain DELETE while ArtifactChunk has no relations or delete signals; should a signal
        # receiver appear, only the ids are loaded, never the bytes.
        ArtifactChunk.objects.filter(artifact_id__in=artifact_ids).only("pk").delete()
        expired = Artifact.objects.filter(pk__in=artifact_ids, expired_at__isnull=True).update(
            expired_at=now
        )
        gone: dict = {}
        for run_id, name in Artifact.objects.filter(pk__in=artifact_ids).values_list(
            "run_id", "name"
        ):
            gone.setdefault(run_id, set()).add(name)
        runs = list(Run.objects.filter(pk__in=gone).only("pk", "artifacts"))
        for run in runs:
            run.artifacts = [
                {**item, "expired": True} if item["name"] in gone[run.pk] else item
                for item in run.artifacts
            ]
        Run.objects.bulk_update(runs, ["artifacts"])
    return expired
