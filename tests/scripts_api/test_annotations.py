"""Annotations authors and linters agree on: `X | None`, `Optional[X]`, and `datetime.date(...)`
defaults; the parameters' validation takes null where the annotation says so."""

import textwrap

import pytest
from rest_framework.exceptions import ValidationError

from scripts_api.catalog import ScriptRejected, parse_script
from scripts_api.params import validate_params

TYPES = ["str", "int", "float", "bool", "datetime.date", "list[str]", "list[int]", 'Literal["a"]']


def schema_of(tmp_path, signature: str, imports: str = "") -> dict:
    path = tmp_path / "example.py"
    path.write_text(
        textwrap.dedent(f'''\
            """Example"""
            import datetime
            import typing
            from typing import Literal, Optional
            {imports}
            POLICY = "staff"

            def main({signature}):
                pass
        ''')
    )
    return parse_script(path).params_schema


@pytest.mark.parametrize("kind", TYPES)
@pytest.mark.parametrize(
    "written", ["{} | None", "None | {}", "Optional[{}]", "typing.Optional[{}]"]
)
def test_every_type_may_be_optional_and_null(tmp_path, kind, written):
    schema = schema_of(tmp_path, f"x: {written.format(kind)} = None")
    plain = schema_of(tmp_path, f"x: {kind}")["properties"]["x"]
    assert schema["properties"]["x"] == {**plain, "nullable": True}
    assert schema["required"] == []
    assert validate_params(schema, {"x": None}) == {"x": None}
    assert validate_params(schema, {}) == {}


def test_null_is_refused_where_the_annotation_does_not_allow_it(tmp_path):
    schema = schema_of(tmp_path, "x: int = None, y: int | None = 3")
    assert schema["properties"]["y"]["default"] == 3
    with pytest.raises(ValidationError) as refused:
        validate_params(schema, {"x": None})
    assert "x" in refused.value.detail["params"]
    assert validate_params(schema, {"y": None}) == {"y": None}
    with pytest.raises(ValidationError):
        validate_params(schema, {"y": "three"})


def test_a_nullable_parameter_without_a_default_is_still_required(tmp_path):
    schema = schema_of(tmp_path, "x: int | None")
    assert schema["required"] == ["x"]
    assert validate_params(schema, {"x": None}) == {"x": None}


@pytest.mark.parametrize(
    ("default", "imports"),
    [
        ("datetime.date(2024, 1, 31)", ""),
        ("datetime.date(year=2024, month=1, day=31)", ""),
        ("date(2024, 1, 31)", "from datetime import date"),
        ("day(2024, 1, 31)", "from datetime import date as day"),
    ],
)
def test_a_date_call_is_a_literal_default(tmp_path, default, imports):
    schema = schema_of(tmp_path, f"x: datetime.date = {default}", imports)
    assert schema["properties"]["x"]["default"] == "2024-01-31"
    optional = schema_of(tmp_path, f"x: datetime.date | None = {default}", imports)
    assert optional["properties"]["x"]["default"] == "2024-01-31"


@pytest.mark.parametrize(
    ("default", "reason"),
    [
        ("datetime.date(2024, 2, 30)", "is not a date: day is out of range for month"),
        ("datetime.date(2024, '1', 3)", "the year, month and day must be integers"),
        ("datetime.date(2024, 1)", "is not a date"),
        ("datetime.date(*[2024, 1, 3])", "must be a literal value"),
        ("date(2024, 1, 31)", "must be a literal value"),  # `date` is not imported here
        ("datetime.datetime(2024, 1, 31)", "must be a literal value"),
    ],
)
def test_a_date_default_that_is_not_a_real_date_rejects_the_file(tmp_path, default, reason):
    with pytest.raises(ScriptRejected, match=reason.replace("(", r"\(")):
        schema_of(tmp_path, f"x: datetime.date = {default}")


def test_a_date_call_is_no_default_for_other_types(tmp_path):
    with pytest.raises(ScriptRejected, match="must be a literal value"):
        schema_of(tmp_path, "x: str = datetime.date(2024, 1, 31)")


def test_unions_other_than_with_none_stay_unsupported(tmp_path):
    with pytest.raises(ScriptRejected, match=r"unsupported type int \| str"):
        schema_of(tmp_path, "x: int | str = 1")
    with pytest.raises(ScriptRejected, match="unsupported type"):
        schema_of(tmp_path, "x: None = None")
