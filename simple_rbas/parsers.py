"""The API's one JSON parser (REST_FRAMEWORK's DEFAULT_PARSER_CLASSES).

DRF's JSONParser hands the body to Python's `json` as it is: deep nesting raises RecursionError
(a 500), a repeated key silently keeps its last value, `1e999` becomes infinity, and `"\\u0000"`
or a lone `"\\ud800"` decode into text the database refuses only once a view writes it (on
SQLite, after the run was queued). This parser refuses all of these with a 400 while the body is
read, before any view runs, so a refused request creates nothing.
"""

import codecs
import json
import math

from rest_framework import parsers
from rest_framework.exceptions import ParseError

from simple_rbas.api import text_problem

# Far above the deepest body the API takes (a run's parameters: an object of lists in an
# object, 3 levels) and far below where Python's recursive `json` gives up (about 1,000 levels).
MAX_DEPTH = 64
# How much of a key or number an error message repeats.
_SHOWN = 40


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


def check_tree(data) -> None:
    """Refuse (400) nesting deeper than MAX_DEPTH and any key or string the database cannot
    store. Walks with its own stack: a tree at the parser's limit must not exhaust Python's."""
    stack = [(data, 0, None)]
    while stack:
        value, depth, location = stack.pop()
        if isinstance(value, str):
            problem = text_problem(value)
            if problem:
                raise _refuse(f"{_where(location)}: {problem}")
            continue
        if not isinstance(value, dict | list):
            continue
        if depth >= MAX_DEPTH:
            raise _refuse(f"nested deeper than {MAX_DEPTH} levels.")
        if isinstance(value, list):
            stack.extend((item, depth + 1, (location, i)) for i, item in enumerate(value))
            continue
        for key, item in value.items():
            problem = text_problem(key)
            if problem:
                raise _refuse(f"a key in {_where(location)}: {problem}")
            stack.append((item, depth + 1, (location, key)))


class JSONParser(parsers.JSONParser):
    """DRF's JSONParser, refusing (400) what would crash, be stored wrongly or not be stored:
    nesting deeper than MAX_DEPTH, a repeated key, a number beyond a float's range, NaN and
    Infinity, a body not in its charset, and keys or strings holding NUL or lone surrogates."""

    def parse(self, stream, media_type=None, parser_context=None):
        encoding = parsers.get_encoding(parser_context or {})
        try:
            text = codecs.getreader(encoding)(stream).read()
            data = json.loads(
                text, object_pairs_hook=_object, parse_float=_float, parse_constant=_constant
            )
        except RecursionError:
            raise _refuse(f"nested deeper than {MAX_DEPTH} levels.") from None
        except UnicodeDecodeError:
            raise _refuse(f"the body is not valid {encoding}.") from None
        except ValueError as error:
            raise _refuse(str(error)) from None
        check_tree(data)
        return data
