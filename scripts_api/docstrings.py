"""Labels and help text of a script's parameters, read from `main`'s docstring.

Two styles are understood: Google (`Args:` then `name: text` or `name (type): text`, longer
text on indented lines) and NumPy (`Parameters` underlined with dashes, then `name : type` and
the text indented below). The first sentence of a parameter's text is its label, the rest its
help; an undocumented parameter is labelled by its name made readable.
"""

import re

_GOOGLE_HEADER = re.compile(r"(Args|Arguments|Parameters):\s*")
_GOOGLE_ITEM = re.compile(r"(\*{0,2}\w+)\s*(?:\([^)]*\))?\s*:\s*(.*)")
_NUMPY_ITEM = re.compile(r"(\*{0,2}\w+)\s*(?::.*)?")
_SECTION_END = re.compile(r"\w[\w ]*:\s*")  # the next Google section (Returns:, Raises:, ...)
_FIRST_SENTENCE = re.compile(r"(.+?[.!?])(?:\s+|$)(.*)", re.DOTALL)


def readable(name: str) -> str:
    """`discount_code` -> "Discount code", `as_of` -> "As of"."""
    words = name.strip("_").replace("_", " ")
    return words[:1].upper() + words[1:]


def _indent(line: str) -> int:
    return len(line) - len(line.lstrip())


def _items(lines: list[str], item: re.Pattern, numpy: bool) -> dict[str, str]:
    """Each documented name and its text, from the lines after a section's header."""
    found: dict[str, list[str]] = {}
    base = None
    current = None
    for index, line in enumerate(lines):
        if not line.strip():
            continue
        indent = _indent(line)
        if base is None:
            base = indent
        if indent < base:
            break
        if indent == base:
            if not numpy and _SECTION_END.fullmatch(line.strip()):
                break
            if numpy and _underlined(lines, index):
                break
            match = item.fullmatch(line.strip())
            if match is None:
                break
            current = match.group(1).lstrip("*")
            found[current] = [] if numpy else [match.group(2)]
        elif current is not None:
            found[current].append(line.strip())
    return {name: " ".join(part for part in text if part).strip() for name, text in found.items()}


def _underlined(lines: list[str], index: int) -> bool:
    """Whether line `index` is a NumPy section header (the next line is all dashes)."""
    following = lines[index + 1].strip() if index + 1 < len(lines) else ""
    return bool(following) and set(following) == {"-"}


def documented(docstring: str | None) -> dict[str, str]:
    """Parameter name -> its text in a Google `Args:` or NumPy `Parameters` section."""
    lines = (docstring or "").splitlines()
    for index, line in enumerate(lines):
        stripped = line.strip()
        if _GOOGLE_HEADER.fullmatch(stripped):
            return _items(lines[index + 1 :], _GOOGLE_ITEM, numpy=False)
        if stripped == "Parameters" and _underlined(lines, index):
            return _items(lines[index + 2 :], _NUMPY_ITEM, numpy=True)
    return {}


def label_and_help(name: str, text: str | None) -> tuple[str, str]:
    """The label (first sentence, without its full stop) and help (the rest) of a parameter."""
    if not text:
        return readable(name), ""
    match = _FIRST_SENTENCE.fullmatch(text)
    if match is None:
        return text, ""
    label, rest = match.groups()
    return label.rstrip(".").strip(), rest.strip()
