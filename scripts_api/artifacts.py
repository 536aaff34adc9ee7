"""Files a run writes into RBAS_OUTPUT_DIR: picked within the caps, named safely, stored."""

import re
from dataclasses import dataclass
from pathlib import Path

from django.conf import settings

from scripts_api.models import Artifact, Run

MAX_NAME_LENGTH = 100


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
    Artifact.objects.bulk_create(
        Artifact(run_id=run_id, name=f.name, size=f.size, content=f.path.read_bytes())
        for f in found
    )


def artifact_for(run: Run, name: str) -> Artifact | None:
    """The stored artifact `name` of `run`, if there is one."""
    return Artifact.objects.filter(run=run, name=name).first()
