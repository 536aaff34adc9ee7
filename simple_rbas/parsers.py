"""The API's one JSON parser (REST_FRAMEWORK's DEFAULT_PARSER_CLASSES).

DRF's JSONParser hands the body to Python's `json` as it is: deep nesting raises RecursionError
(a 500), a repeated key silently keeps its last value, `1e999` becomes infinity, and `"\\u0000"`
or a lone `"\\ud800"` decode into text the database refuses only once a view writes it (on
SQLite, after the run was queued). This parser refuses all of these with a 400 while the body is
read, before any view runs, so a refused request creates nothing.

The nesting is measured on the text before parsing, so Python's recursion is never the limit;
the strings are walked only when the text holds what could decode to NUL or a lone surrogate,
so a large ordinary body costs little more than `json.loads`.
"""

import codecs
import itertools
import json
import math
import re

from rest_framework import parsers
from rest_framework.exceptions import ParseError

from simple_rbas.api import text_problem

# Far above the deepest body the API takes (a run's parameters: an object of lists in an
# object, 3 levels) and far below where Python's recursive `json` gives up (about 1,000 levels).
MAX_DEPTH = 64
# How much of a key or number an error message repeats.
_SHOWN = 40
# What a NUL or a lone surrogate in the parsed strings comes from (an escape, mostly): bodies
# without one, nearly all, skip checking every string.
_MAYBE_UNSTORABLE = re.compile(r"\\u(?:0000|[dD][89a-fA-F])|[\x00\ud800-\udfff]")
_STRINGS = re.compile(r'"[^"\\]*(?:\\.[^"\\]*)*"')
_BRACKET_STEPS = {"[": 1, "{": 1, "]": -1, "}": -1}


def _shown(text: str) -> str:
    return text if len(text) <= _SHOWN else f"{text[:_SHOWN]}..."


def _refuse(reason: str) -> ParseError:
    return ParseError(f"JSON parse error - {reason}")


def _object(pairs: list[tuple[str, object]]) -> dict:
    """An object, refusing a repeated key (which one would win differs between parsers)."""
    obj = dict(pairs)
    if len(obj) != len(pairs):
        seen = set()
        for key, _value in pairs:
            if key in seen:
                raise _refuse(f"the key {json.dumps(_shown(key))} appears twice in one object.")
            seen.add(key)
    return obj


def _float(text: str) -> float:
    """A number with a fraction or an exponent, refusing one beyond a float's range."""
    number = float(text)
    if not math.isfinite(number):
        raise _refuse(f"the number {_shown(text)} is out of range.")
    return number


def _constant(name: str):
    """`NaN`, `Infinity` and `-Infinity`, which Python's `json` accepts and JSON does not."""
    raise _refuse(f"{name} is not a JSON value.")


def _where(location) -> str:
    """`params.addons[0]` for a location kept as (parent location, key or index) links."""
    parts = []
    while location is not None:
        location, step = location
        parts.append(f"[{step}]" if isinstance(step, int) else f".{_shown(step)}")
    return "".join(reversed(parts)).lstrip(".") or "the body"


def _too_deep(text: str) -> bool:
    """Whether JSON `text` nests deeper than MAX_DEPTH, found before parsing it (Python's `json`
    recurses once per level): the highest running count of open brackets outside strings."""
    if text.count("[") + text.count("{") <= MAX_DEPTH:
        return False
    steps = map(_BRACKET_STEPS.get, _STRINGS.sub("", text), itertools.repeat(0))
    return max(itertools.accumulate(steps), default=0) > MAX_DEPTH


def _check_text(data) -> None:
    """Refuse (400) any key or string the database cannot store, naming where it is. Walks with
    its own stack rather than recursing."""
    if isinstance(data, str) and (problem := text_problem(data)):
        raise _refuse(f"the body: {problem}")
    stack = [(data, None)] if isinstance(data, dict | list) else []
    while stack:
        value, location = stack.pop()
        is_object = isinstance(value, dict)
        for key, item in value.items() if is_object else enumerate(value):
            if is_object and (problem := text_problem(key)):
                raise _refuse(f"a key in {_where(location)}: {problem}")
            if isinstance(item, dict | list):
                stack.append((item, (location, key)))
            elif isinstance(item, str) and (problem := text_problem(item)):
                raise _refuse(f"{_where((location, key))}: {problem}")


class JSONParser(parsers.JSONParser):
    """DRF's JSONParser, refusing (400) what would crash, be stored wrongly or not be stored:
    nesting deeper than MAX_DEPTH, a repeated key, a number beyond a float's range, NaN and
    Infinity, a body not in its charset, and keys or strings holding NUL or lone surrogates."""

    def parse(self, stream, media_type=None, parser_context=None):
        encoding = parsers.get_encoding(parser_context or {})
        try:
            text = codecs.getreader(encoding)(stream).read()
        except UnicodeDecodeError:
            raise _refuse(f"the body is not valid {encoding}.") from None
        too_deep = _refuse(f"nested deeper than {MAX_DEPTH} levels.")
        if _too_deep(text):
            raise too_deep
        try:
            data = json.loads(
                text, object_pairs_hook=_object, parse_float=_float, parse_constant=_constant
            )
        except RecursionError:  # not after the scan above; kept so a 500 stays impossible
            raise too_deep from None
        except ValueError as error:
            raise _refuse(str(error)) from None
        if _MAYBE_UNSTORABLE.search(text):
            _check_text(data)
        return data
