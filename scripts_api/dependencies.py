"""The state of scripts' dependency sets in the database (`ScriptEnvironment`), shared by every
worker; the environments themselves are built per host by `environments.py`.

When an environment is prepared: eagerly, by a `prepare_environment` queue task that
`scripts_sync` enqueues for each new dependency set (and each that failed); and on demand, by
the worker that runs a script whose environment this host has not built yet.

When a failed resolution is tried again: at the next `sync_scripts` (a deploy), and by the
first run that comes SCRIPT_ENVIRONMENT_RETRY_SECONDS or more after the failure; the runs in
between fail at once with the same message, without calling uv.
"""

import contextlib
import hashlib
import json
import sys
import time
from collections.abc import Callable, Iterator
from datetime import timedelta
from pathlib import Path

from django.conf import settings
from django.utils import timezone

from scripts_api import environments
from scripts_api.environments import EnvironmentFailed, Stopped
from scripts_api.models import EnvironmentStatus, Script, ScriptEnvironment

__all__ = ["EnvironmentFailed", "Stopped", "dependencies_state", "environment_use"]


def requirements_digest(requirements: list[str]) -> str:
    """The identity of a dependency set, for the sandbox's interpreter."""
    data = json.dumps([sys.implementation.cache_tag, sorted(set(requirements))])
    return hashlib.sha256(data.encode()).hexdigest()


def dependencies_state(script: Script) -> dict:
    """API.md's `Script.dependencies`: the requirements and their environment's state."""
    state = {
        "requirements": list(script.dependencies),
        "requires_python": script.requires_python,
        "status": EnvironmentStatus.NONE.value,
        "error": "",
    }
    if script.dependencies:
        digest = requirements_digest(script.dependencies)
        row = ScriptEnvironment.objects.filter(digest=digest).values("status", "error").first()
        state["status"] = row["status"] if row else EnvironmentStatus.PREPARING.value
        state["error"] = row["error"] if row else ""
    return state


def environments_register(scripts: list[Script]) -> list[str]:
    """Record the dependency sets of `scripts`; returns the digests to prepare (new ones, and
    those that failed before: a sync is the moment to try again)."""
    to_prepare = []
    for script in scripts:
        if not script.dependencies:
            continue
        digest = requirements_digest(script.dependencies)
        row, created = ScriptEnvironment.objects.get_or_create(
            digest=digest,
            defaults={
                "requirements": sorted(set(script.dependencies)),
                "requires_python": script.requires_python,
            },
        )
        if created or row.status == EnvironmentStatus.FAILED:
            to_prepare.append(digest)
    return sorted(set(to_prepare))


def _set(digest: str, status: str, **fields) -> None:
    ScriptEnvironment.objects.filter(digest=digest).update(
        status=status, updated_at=timezone.now(), **fields
    )


@contextlib.contextmanager
def environment_use(
    *,
    requirements: list[str],
    should_stop: Callable[[], str | None] = lambda: None,
    on_build: Callable[[], None] = lambda: None,
) -> Iterator[Path]:
    """The folder of the environment of `requirements` on this host, resolved and built first
    when needed (`on_build` is called before uv starts), held until the block ends. Raises
    EnvironmentFailed with uv's message, or Stopped when `should_stop` says so."""
    digest = requirements_digest(requirements)
    row, _ = ScriptEnvironment.objects.get_or_create(
        digest=digest, defaults={"requirements": sorted(set(requirements))}
    )
    retry_after = timedelta(seconds=settings.SCRIPT_ENVIRONMENT_RETRY_SECONDS)
    if row.status == EnvironmentStatus.FAILED and timezone.now() - row.updated_at < retry_after:
        raise EnvironmentFailed(row.error)
    ready = False
    try:
        lock = row.lock
        if not lock:
            on_build()
            _set(digest, EnvironmentStatus.PREPARING)
            deadline = time.monotonic() + settings.SCRIPT_ENVIRONMENT_BUILD_SECONDS
            lock = environments.resolve(row.requirements, should_stop, deadline)
            ScriptEnvironment.objects.filter(digest=digest).update(lock=lock)
        with environments.environment(lock, should_stop, on_build) as folder:
            ready = True
            if row.status != EnvironmentStatus.READY:
                _set(digest, EnvironmentStatus.READY, error="")
            yield folder
    except EnvironmentFailed as error:
        if not ready:
            # The lock goes too: the next try resolves again (a version may have been yanked).
            _set(digest, EnvironmentStatus.FAILED, error=str(error), lock="")
        raise


def environment_prepare(*, digest: str) -> str:
    """Resolve and build the environment of dependency set `digest` on this host (the queue
    task after a sync); returns its status."""
    row = ScriptEnvironment.objects.filter(digest=digest).first()
    if row is None:
        return "unknown"
    if row.status == EnvironmentStatus.FAILED:
        # The sync asked for another try: the retry delay is for runs, not for this.
        _set(digest, EnvironmentStatus.PREPARING, lock="")
    try:
        with environment_use(requirements=row.requirements):
            return EnvironmentStatus.READY.value
    except EnvironmentFailed:
        return EnvironmentStatus.FAILED.value
