"""Validate run parameters against a script's parameter schema (the subset the catalog writes)."""

import datetime
import json
import math
import re

from rest_framework.exceptions import ValidationError

from simple_rbas.api import text_problem

MAX_STRING_LENGTH = 10_000
MAX_LIST_LENGTH = 1_000
# All parameters together, as stored (JSON, UTF-8): every run list repeats them.
MAX_PARAMS_BYTES = 64 * 1024
_DATE = re.compile(r"\d{4}-\d{2}-\d{2}")
_TYPE_NAMES = {"string": "a string", "integer": "an integer", "number": "a number"}


def _check_value(schema: dict, value) -> str | None:
    """The problem with `value` for a parameter of `schema`, or None when it fits."""
    if value is None and schema.get("nullable"):
        return None  # `X | None`, `Optional[X]`: the script receives None
    kind = schema["type"]
    if "enum" in schema:
        fits = any(type(value) is type(option) and value == option for option in schema["enum"])
        return None if fits else f"Must be one of: {', '.join(map(str, schema['enum']))}."
    if schema.get("format") == "date":
        if not isinstance(value, str) or not _DATE.fullmatch(value):
            return "Must be a date as YYYY-MM-DD."
        try:
            datetime.date.fromisoformat(value)
        except ValueError:
            return "Must be a real date as YYYY-MM-DD."
        return None
    if kind == "array":
        if not isinstance(value, list):
            return "Must be a list."
        if len(value) > MAX_LIST_LENGTH:
            return f"Must have at most {MAX_LIST_LENGTH} items."
        for index, item in enumerate(value):
            problem = _check_value(schema["items"], item)
            if problem:
                return f"Item {index}: {problem}"
        return None
    if kind == "boolean":
        return None if isinstance(value, bool) else "Must be true or false."
    if kind == "integer":
        # JSON `true` is not an integer, and neither is 2.0.
        return None if type(value) is int else "Must be an integer."
    if kind == "number":
        if type(value) not in (int, float) or not math.isfinite(value):
            return "Must be a number."
        return None
    if not isinstance(value, str):
        return "Must be a string."
    if len(value) > MAX_STRING_LENGTH:
        return f"Must be at most {MAX_STRING_LENGTH} characters."
    # The API's parser already refuses such bodies; this keeps any other caller of
    # `run_create` from queueing a run the database cannot store.
    return text_problem(value)


def validate_params(schema: dict, params) -> dict:
    """Return `params` when they fit `schema` and MAX_PARAMS_BYTES; else raise a 400 with one
    message per parameter."""
    if not isinstance(params, dict):
        raise ValidationError({"params": ["Must be an object of parameter names to values."]})
    properties = schema.get("properties", {})
    errors = {name: ["Unknown parameter."] for name in params if name not in properties}
    for name, prop in properties.items():
        if name not in params:
            if name in schema.get("required", []):
                errors[name] = ["This parameter is required."]
            continue
        problem = _check_value(prop, params[name])
        if problem:
            errors[name] = [problem]
    if errors:
        raise ValidationError({"params": errors})
    size = len(json.dumps(params, ensure_ascii=False).encode("utf-8", errors="replace"))
    if size > MAX_PARAMS_BYTES:
        raise ValidationError(
            {"params": [f"Must be at most {MAX_PARAMS_BYTES} bytes as JSON, not {size}."]}
        )
    return params


def date_params(schema: dict) -> list[str]:
    """Names of the parameters the script receives as `datetime.date`."""
    return [
        name for name, prop in schema.get("properties", {}).items() if prop.get("format") == "date"
    ]
