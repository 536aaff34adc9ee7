"""Files a run writes into RBAS_OUTPUT_DIR: picked within the caps, named safely, stored in the
database, served back, and pruned.

Collection. The worker is not confined, the script is, and the script owns its output folder: it
may swap the folder or any file in it for a link to the database, the project or
/proc/<worker>/environ. So `collect` runs only after every process of the run is dead (the
sandbox server kills them all before it reports the end of a run), and never resolves a path the
script controls: it opens the folder relative to a descriptor of the working directory with
O_DIRECTORY | O_NOFOLLOW, lists it through that descriptor, opens each entry relative to it with
O_NOFOLLOW | O_NONBLOCK (a FIFO cannot block it), keeps regular files with one link only (checked
with `fstat` on the open file), and hands the open files to `store`. Nothing is looked up by name
again.

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
import os
import re
import stat
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
    """A file to keep, under its safe name, opened by `collect` (close it with `release`)."""

    name: str
    file: BinaryIO
    size: int


def safe_name(name: str) -> str:
    """A file name with nothing but letters, digits, dots, dashes and underscores."""
    cleaned = re.sub(r"[^A-Za-z0-9._-]+", "_", name).lstrip(".")[-MAX_NAME_LENGTH:]
    return cleaned or "file"


def collect(workdir: Path) -> tuple[list[Found], list[str]]:
    """The regular files of `workdir`'s output folder to keep within the caps, opened, and notes
    on the rest.

    Call it once every process of the run is dead. Nothing the script left is resolved by path:
    the folder is opened relative to `workdir` and each file relative to the folder, none of them
    through a symbolic link, and each is checked with `fstat` once open.
    """
    try:
        folder = _open_output(workdir)
    except OSError as error:
        return [], [f"output folder: not a folder ({error.strerror}), nothing collected"]
    kept: list[Found] = []
    notes: list[str] = []
    names: set[str] = set()
    total = 0
    try:
        for entry in sorted(os.listdir(folder)):
            item = _open_entry(folder, entry)
            if isinstance(item, str):
                notes.append(f"{entry}: {item}, left out")
                continue
            size = os.fstat(item.fileno()).st_size
            over = ""
            if len(kept) >= settings.RUN_ARTIFACTS_MAX_FILES:
                over = f"over {settings.RUN_ARTIFACTS_MAX_FILES} files"
            elif total + size > settings.RUN_ARTIFACTS_MAX_BYTES:
                over = f"over {settings.RUN_ARTIFACTS_MAX_BYTES} bytes"
            if over:
                item.close()
                notes.append(f"{entry}: {over}, left out")
                continue
            name = _unique(safe_name(entry), names)
            kept.append(Found(name, item, size))
            total += size
    except BaseException:
        release(kept)
        raise
    finally:
        os.close(folder)
    return kept, notes


def _open_output(workdir: Path) -> int:
    """A descriptor of `workdir`/output, refused when either is a link or not a folder."""
    flags = os.O_RDONLY | os.O_DIRECTORY | os.O_NOFOLLOW | os.O_CLOEXEC
    parent = os.open(workdir, flags)
    try:
        return os.open("output", flags, dir_fd=parent)
    finally:
        os.close(parent)


def _open_entry(folder: int, entry: str) -> BinaryIO | str:
    """The entry `entry` of `folder` opened for reading, or why it is left out."""
    flags = os.O_RDONLY | os.O_NOFOLLOW | os.O_NONBLOCK | os.O_CLOEXEC | os.O_NOCTTY
    try:
        fd = os.open(entry, flags, dir_fd=folder)
    except OSError:  # a link (ELOOP), gone, or unreadable
        return "not a regular file"
    status = os.fstat(fd)
    if not stat.S_ISREG(status.st_mode):
        os.close(fd)
        return "not a regular file"
    if status.st_nlink != 1:  # a hard link may name a file from elsewhere
        os.close(fd)
        return "a hard link"
    return os.fdopen(fd, "rb")


def _unique(name: str, names: set[str]) -> str:
    stem, dot, suffix = name.rpartition(".")
    counter, unique = 1, name
    while unique in names:
        counter += 1
        unique = f"{stem}-{counter}.{suffix}" if dot else f"{suffix}-{counter}"
    names.add(unique)
    return unique


def release(found: list[Found]) -> None:
    """Close the files `collect` opened."""
    for item in found:
        item.file.close()


def store(run_id, found: list[Found]) -> None:
    """Save the collected files of a run (call inside the transaction that records it; a retry
    reads each file from its start again)."""
    for item in found:
        item.file.seek(0)
        store_file(run_id=run_id, name=item.name, source=item.file, limit=item.size)


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
