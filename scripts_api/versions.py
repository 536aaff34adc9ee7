"""Reads over the versions of a script: the list, one version, a diff, the one a run runs."""

import difflib

from rest_framework import exceptions

from scripts_api.models import Run, Script, ScriptVersion

# A diff of two huge files must not hold a web worker: past this many lines, say so instead.
MAX_DIFF_LINES = 20_000


def versions_of(script: Script):
    """The published versions of `script`, the newest (most recently published) first."""
    return (
        ScriptVersion.objects.filter(script=script).defer("source").order_by("-published_at", "-id")
    )


def version_of(script: Script, version: str) -> ScriptVersion:
    """One version of `script`, with its source; 404 when it has no such version."""
    found = ScriptVersion.objects.filter(script=script, version=version).first()
    if found is None:
        raise exceptions.NotFound("No such version of this script.")
    return found


def version_diff(old: ScriptVersion, new: ScriptVersion) -> str:
    """A unified diff from `old`'s source to `new`'s ("" when they are the same)."""
    before, after = old.source.splitlines(True), new.source.splitlines(True)
    if len(before) + len(after) > MAX_DIFF_LINES:
        raise exceptions.ValidationError(
            {
                "compare": [
                    f"These versions are too long to compare here (over {MAX_DIFF_LINES} lines)."
                ]
            },
            code="too_long",
        )
    lines = difflib.unified_diff(
        before,
        after,
        fromfile=f"{old.filename}@{old.version}",
        tofile=f"{new.filename}@{new.version}",
    )
    # A last line without a newline still ends its line in the diff.
    return "".join(line if line.endswith("\n") else line + "\n" for line in lines)


def version_to_run(run: Run) -> Script | ScriptVersion:
    """What a worker runs for `run`: the version that was current when it was queued (its
    parameters were checked against that version), or the script as it is when that version
    is not kept (a run queued before versions were kept)."""
    kept = ScriptVersion.objects.filter(script_id=run.script_id, version=run.script_version).first()
    return kept or run.script


class VersionConverter:
    """`<version:...>`: a version as `catalog.script_version` writes it (lower-case hex)."""

    regex = "[0-9a-f]{1,64}"

    def to_python(self, value: str) -> str:
        return value

    def to_url(self, value: str) -> str:
        return value
