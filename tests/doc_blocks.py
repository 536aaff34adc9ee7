"""The code blocks the docs mark for the tests, so that every example runs as written."""

import re
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def marked_block(doc: str, marker: str, language: str = "sh") -> str:
    """The one ```language block between `<!-- marker-begin -->` and `<!-- marker-end -->` in
    `doc` (a path from the repository's root, e.g. "README.md")."""
    text = (ROOT / doc).read_text()
    begin, end = f"<!-- {marker}-begin -->", f"<!-- {marker}-end -->"
    assert begin in text and end in text, f"{doc} must hold the {marker} markers"
    marked = text.split(begin, 1)[1].split(end, 1)[0]
    match = re.fullmatch(rf"\s*```{language}\n(.*)```\s*", marked, re.DOTALL)
    assert match, f"{doc}'s {marker} markers must surround one ```{language} block"
    return match.group(1)
