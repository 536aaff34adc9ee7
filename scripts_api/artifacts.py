"""Files a run writes into RBAS_OUTPUT_DIR, kept under RUNS_DIR and served to those who may."""

import re
import shutil
from pathlib import Path

from django.conf import settings

MAX_NAME_LENGTH = 100


def run_dir(run_id) -> Path:
    """Where a run's artifacts are kept."""
    return Path(settings.RUNS_DIR) / str(run_id)


def safe_name(name: str) -> str:
    """A file name with nothing but letters, digits, dots, dashes and underscores."""
    cleaned = re.sub(r"[^A-Za-z0-9._-]+", "_", name).lstrip(".")[-MAX_NAME_LENGTH:]
    return cleaned or "file"


def collect(output_dir: Path, run_id) -> tuple[list[dict], list[str]]:
    """Move the regular files of `output_dir` into the run's folder, within the caps.

    Returns the artifact list (`name`, `size`) and notes about anything left out. Symbolic
    links and folders are never followed.
    """
    kept, notes, total = [], [], 0
    names: set[str] = set()
    target = run_dir(run_id)
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
        target.mkdir(parents=True, exist_ok=True)
        shutil.move(path, target / name)
        kept.append({"name": name, "size": size})
        total += size
    return kept, notes


def artifact_path(run, name: str) -> Path | None:
    """The stored file of a run's artifact `name`, if the run lists it."""
    if name not in {artifact["name"] for artifact in run.artifacts}:
        return None
    path = run_dir(run.id) / name
    return path if path.is_file() else None


def delete(run_id) -> None:
    """Remove a run's stored artifacts."""
    shutil.rmtree(run_dir(run_id), ignore_errors=True)
