"""PEP 723 inline script metadata (`# /// script` ... `# ///`), read without executing anything:
the reference regular expression of the PEP, `tomllib`, and `packaging` to validate."""

import re
import sys
import tomllib

from packaging.requirements import InvalidRequirement, Requirement
from packaging.specifiers import InvalidSpecifier, SpecifierSet


class MetadataError(ValueError):
    """The block is malformed; the message says how, for the script's author."""


# The reference regular expression of PEP 723 (inline script metadata).
METADATA_BLOCK = re.compile(
    r"(?m)^# /// (?P<type>[a-zA-Z0-9-]+)$\s(?P<content>(^#(| .*)$\s)+)^# ///$"
)
METADATA_KEYS = {"dependencies", "requires-python", "tool"}


def _metadata_block(source: str) -> str | None:
    """The TOML of the `# /// script` block, or None when the file has none."""
    blocks = [m for m in METADATA_BLOCK.finditer(source) if m.group("type") == "script"]
    if len(blocks) > 1:
        raise MetadataError("The file has more than one `# /// script` block.")
    if not blocks:
        if re.search(r"(?m)^# /// script\s*$", source):
            raise MetadataError(
                "The `# /// script` block is not closed: end it with a line `# ///`, and start "
                "each line inside it with `#` (and a space before any text)."
            )
        return None
    return "".join(
        line[2:] if line.startswith("# ") else line[1:]
        for line in blocks[0].group("content").splitlines(keepends=True)
    )


def read(source: str) -> tuple[tuple[str, ...], str]:
    """The `dependencies` and `requires-python` of a script's PEP 723 block (empty without
    one), validated with `packaging`; raises `MetadataError` on a malformed block."""
    content = _metadata_block(source)
    if content is None:
        return (), ""
    try:
        metadata = tomllib.loads(content)
    except tomllib.TOMLDecodeError as error:
        raise MetadataError(f"The `# /// script` block is not valid TOML: {error}.") from None
    unknown = sorted(set(metadata) - METADATA_KEYS)
    if unknown:
        raise MetadataError(
            f"The `# /// script` block has unknown keys {unknown} (known: dependencies, "
            "requires-python, tool)."
        )
    dependencies = metadata.get("dependencies", [])
    if not isinstance(dependencies, list) or not all(isinstance(d, str) for d in dependencies):
        raise MetadataError('`dependencies` must be a list of strings, e.g. ["pandas>=2"].')
    for dependency in dependencies:
        try:
            requirement = Requirement(dependency)
        except InvalidRequirement as error:
            reason = str(error).splitlines()[0]
            raise MetadataError(f"The dependency {dependency!r} is not valid: {reason}") from None
        if requirement.url:
            raise MetadataError(
                f"The dependency {dependency!r} names a URL: name packages from the index."
            )
    requires_python = metadata.get("requires-python", "")
    if not isinstance(requires_python, str):
        raise MetadataError('`requires-python` must be a string, e.g. ">=3.11".')
    try:
        specifier = SpecifierSet(requires_python)
    except InvalidSpecifier:
        raise MetadataError(f"`requires-python` {requires_python!r} is not valid.") from None
    running = ".".join(str(part) for part in sys.version_info[:3])
    if requires_python and running not in specifier:
        raise MetadataError(
            f"The script requires Python {requires_python}, and this server runs {running}."
        )
    return tuple(dependencies), requires_python
