"""Reading scripts: every supported parameter type, every rejection, and never executing."""

import textwrap
from pathlib import Path

import pytest
from django.conf import settings

from scripts_api import catalog
from scripts_api.catalog import ScriptRejected, parse_script


def write(directory: Path, name: str, source: str) -> Path:
    path = directory / name
    path.write_text(textwrap.dedent(source))
    return path


GOOD = '''
"""Quarterly numbers

Everything a script can declare.
"""
import datetime
import typing
from datetime import date
from typing import Literal

POLICY = "staff"
TIMEOUT_SECONDS = 30
MEMORY_MB = 256

def main(
    name: str,
    count: int,
    ratio: float,
    flag: bool,
    day: datetime.date,
    other_day: date,
    tags: list[str],
    ids: list[int],
    region: Literal["north", "south"],
    tier: typing.Literal[1, 2, 3],
    note: str = "hi",
    limit: int = 10,
    scale: float = 1,
    verbose: bool = False,
    labels: list[str] = ["a"],
    numbers: list[int] = [],
    when: datetime.date = None,
    *,
    mode: Literal["fast", "slow"] = "fast",
):
    return None
'''


def test_every_supported_type_becomes_json_schema(tmp_path):
    spec = parse_script(write(tmp_path, "quarterly_numbers.py", GOOD))
    assert spec.slug == "quarterly-numbers"
    assert spec.title == "Quarterly numbers"
    assert spec.description == "Everything a script can declare."
    assert (spec.policy, spec.timeout_seconds, spec.memory_mb) == ("staff", 30, 256)
    props = spec.params_schema["properties"]
    assert {name: {k: v for k, v in p.items() if k != "title"} for name, p in props.items()} == {
        "name": {"type": "string"},
        "count": {"type": "integer"},
        "ratio": {"type": "number"},
        "flag": {"type": "boolean"},
        "day": {"type": "string", "format": "date"},
        "other_day": {"type": "string", "format": "date"},
        "tags": {"type": "array", "items": {"type": "string"}},
        "ids": {"type": "array", "items": {"type": "integer"}},
        "region": {"type": "string", "enum": ["north", "south"]},
        "tier": {"type": "integer", "enum": [1, 2, 3]},
        "note": {"type": "string", "default": "hi"},
        "limit": {"type": "integer", "default": 10},
        "scale": {"type": "number", "default": 1},
        "verbose": {"type": "boolean", "default": False},
        "labels": {"type": "array", "items": {"type": "string"}, "default": ["a"]},
        "numbers": {"type": "array", "items": {"type": "integer"}, "default": []},
        "when": {"type": "string", "format": "date"},
        "mode": {"type": "string", "enum": ["fast", "slow"], "default": "fast"},
    }
    assert spec.params_schema["required"] == [
        "name", "count", "ratio", "flag", "day", "other_day", "tags", "ids", "region", "tier",
    ]  # fmt: skip
    assert spec.params_schema["additionalProperties"] is False


def test_defaults_and_level_list_policy(tmp_path):
    spec = parse_script(
        write(
            tmp_path,
            "tiny.py",
            '"""Tiny"""\nPOLICY = ["owner", "investor", "owner"]\ndef main():\n    return 1\n',
        )
    )
    assert spec.policy == ["owner", "investor"]
    assert (spec.timeout_seconds, spec.memory_mb, spec.description) == (60, 512, "")
    assert spec.params_schema["properties"] == {}


def test_version_is_a_hash_of_the_content(tmp_path):
    path = write(tmp_path, "tiny.py", '"""Tiny"""\nPOLICY = "owner"\ndef main():\n    pass\n')
    first = parse_script(path).version
    assert parse_script(path).version == first
    path.write_text(path.read_text() + "\n# a comment changes the version too\n")
    assert parse_script(path).version != first


HEADER = '"""A script"""\n'
REJECTIONS = [
    ("no_policy.py", HEADER + "def main():\n    pass\n", "POLICY is missing"),
    ("unknown_policy.py", HEADER + "POLICY = 'boss'\ndef main(): pass\n", "not a policy"),
    ("unknown_level.py", HEADER + "POLICY = ['owner', 'ceo']\ndef main(): pass\n", "unknown"),
    ("empty_levels.py", HEADER + "POLICY = []\ndef main(): pass\n", "non-empty list"),
    ("computed_policy.py", HEADER + "POLICY = 'st' + 'aff'\ndef main(): pass\n", "literal"),
    ("no_main.py", HEADER + "POLICY = 'owner'\ndef run(): pass\n", "def main"),
    ("async_main.py", HEADER + "POLICY = 'owner'\nasync def main(): pass\n", "not async"),
    ("syntax.py", HEADER + "POLICY = 'owner'\ndef main(:\n", "cannot parse"),
    ("no_docstring.py", "POLICY = 'owner'\ndef main(): pass\n", "docstring"),
    ("untyped.py", HEADER + "POLICY = 'owner'\ndef main(x): pass\n", "no type annotation"),
    ("dict_param.py", HEADER + "POLICY = 'owner'\ndef main(x: dict): pass\n", "unsupported"),
    ("set_param.py", HEADER + "POLICY = 'owner'\ndef main(x: list[float]): pass\n", "unsupported"),
    ("varargs.py", HEADER + "POLICY = 'owner'\ndef main(*args: str): pass\n", "named"),
    ("kwargs.py", HEADER + "POLICY = 'owner'\ndef main(**kw: str): pass\n", "named"),
    ("posonly.py", HEADER + "POLICY = 'owner'\ndef main(a: str, /): pass\n", "named"),
    (
        "call_default.py",
        HEADER + "import os\nPOLICY = 'owner'\ndef main(x: str = os.getcwd()): pass\n",
        "literal",
    ),
    ("wrong_default.py", HEADER + "POLICY = 'owner'\ndef main(x: int = True): pass\n", "fit"),
    (
        "bad_enum_default.py",
        HEADER + "POLICY='owner'\nfrom typing import Literal\n"
        "def main(x: Literal['a', 'b'] = 'c'): pass\n",
        "fit",
    ),
    (
        "mixed_enum.py",
        HEADER + "POLICY='owner'\nfrom typing import Literal\ndef main(x: Literal['a', 1]): pass\n",
        "strings or integers",
    ),
    (
        "big_timeout.py",
        HEADER + "POLICY = 'owner'\nTIMEOUT_SECONDS = 99999\ndef main(): pass\n",
        "TIMEOUT_SECONDS",
    ),
    (
        "bool_timeout.py",
        HEADER + "POLICY = 'owner'\nTIMEOUT_SECONDS = True\ndef main(): pass\n",
        "TIMEOUT_SECONDS",
    ),
    ("tiny_memory.py", HEADER + "POLICY = 'owner'\nMEMORY_MB = 1\ndef main(): pass\n", "MEMORY_MB"),
    ("Bad-Name.py", HEADER + "POLICY = 'owner'\ndef main(): pass\n", "File names"),
]


@pytest.mark.parametrize(("name", "source", "reason"), REJECTIONS)
def test_files_that_break_the_rules_are_rejected_with_a_reason(tmp_path, name, source, reason):
    with pytest.raises(ScriptRejected, match=reason):
        parse_script(write(tmp_path, name, source))


def test_scan_reports_rejections_and_skips_private_files(tmp_path):
    write(tmp_path, "good.py", '"""Good"""\nPOLICY = "owner"\ndef main(): pass\n')
    write(tmp_path, "bad.py", '"""Bad"""\ndef main(): pass\n')
    write(tmp_path, "_helpers.py", "raise SystemExit('never read')\n")
    (tmp_path / "notes.txt").write_text("not a script")
    found = catalog.scan(tmp_path)
    assert [spec.slug for spec in found.scripts] == ["good"]
    assert list(found.rejected) == ["bad.py"]


def test_reading_the_catalog_never_executes_a_script(tmp_path):
    marker = tmp_path / "executed"
    write(
        tmp_path,
        "side_effects.py",
        f'''
        """Side effects"""
        import pathlib
        pathlib.Path({str(marker)!r}).write_text("imported!")
        raise SystemExit("a catalog read must not import this file")
        POLICY = "owner"
        def main(x: str = pathlib.Path({str(marker)!r}).write_text("default!")):
            pass
        ''',
    )
    found = catalog.scan(tmp_path)
    assert "side_effects.py" in found.rejected  # the computed default is not a literal
    assert not marker.exists()


def test_the_shipped_examples_are_all_valid():
    found = catalog.scan(settings.SCRIPTS_DIR)
    assert found.rejected == {}
    slugs = {spec.slug: spec for spec in found.scripts}
    assert set(slugs) == {"hello", "price-quote", "sales-report", "close-month"}
    assert slugs["hello"].policy == "authenticated"
    assert slugs["price-quote"].policy == "staff"
    assert slugs["sales-report"].policy == ["owner", "investor"]
    assert slugs["close-month"].policy == "owner"


GOOGLE = '''
"""Discounts

What the module docstring says stays the description.
"""
import datetime
POLICY = "staff"

def main(as_of: datetime.date, discount_code: str = "", region: str = "all", dry_run: bool = True):
    """Apply discounts.

    Args:
        as_of (datetime.date): Day of the prices. Prices as they stood
            at the end of this day.
        discount_code: Discount code
        region: Sales region. One of north, south
            or west. Leave empty for all.

    Returns:
        Nothing useful.
    """
'''

NUMPY = '''
"""Discounts"""
import datetime
POLICY = "staff"

def main(as_of: datetime.date, discount_code: str = "", region: str = "all", dry_run: bool = True):
    """Apply discounts.

    Parameters
    ----------
    as_of : datetime.date
        Day of the prices. Prices as they stood
        at the end of this day.
    discount_code : str
        Discount code
    region : str, optional
        Sales region. One of north, south
        or west. Leave empty for all.

    Returns
    -------
    None
    """
'''


@pytest.mark.parametrize("source", [GOOGLE, NUMPY], ids=["google", "numpy"])
def test_main_docstring_gives_each_parameter_a_label_and_help(tmp_path, source):
    spec = parse_script(write(tmp_path, "discounts.py", source))
    props = spec.params_schema["properties"]
    assert props["as_of"]["title"] == "Day of the prices"
    assert props["as_of"]["description"] == "Prices as they stood at the end of this day."
    assert props["discount_code"]["title"] == "Discount code"
    assert "description" not in props["discount_code"]
    assert props["region"]["title"] == "Sales region"
    assert props["region"]["description"] == "One of north, south or west. Leave empty for all."
    assert (props["dry_run"]["title"], "description" in props["dry_run"]) == ("Dry run", False)
    assert "Args" not in spec.description and "Parameters" not in spec.description


def test_undocumented_parameters_are_labelled_by_their_name_made_readable(tmp_path):
    source = HEADER + 'POLICY = "owner"\ndef main(as_of: str, discount_code: str, _x: int): pass\n'
    props = parse_script(write(tmp_path, "tiny.py", source)).params_schema["properties"]
    assert [p["title"] for p in props.values()] == ["As of", "Discount code", "X"]
    assert not any("description" in p for p in props.values())


@pytest.mark.parametrize(
    "section",
    ["Args:\n        region: Region.\n        colour: Colour.",
     "Parameters\n    ----------\n    colour : str\n        Colour."],
    ids=["google", "numpy"],
)  # fmt: skip
def test_documenting_a_name_main_does_not_take_rejects_the_script(tmp_path, section):
    source = HEADER + f'POLICY = "owner"\ndef main(region: str):\n    """Go.\n\n    {section}"""\n'
    with pytest.raises(ScriptRejected, match="documents colour, which main does not take"):
        parse_script(write(tmp_path, "tiny.py", source))


def test_the_shipped_examples_label_their_parameters():
    found = {spec.slug: spec for spec in catalog.scan(settings.SCRIPTS_DIR).scripts}
    quote = found["price-quote"].params_schema["properties"]
    assert quote["discount_code"]["title"] == "Discount code"
    assert quote["seats"] == {
        "title": "Number of seats",
        "description": "One per person who will sign in.",
        "type": "integer",
    }
    report = found["sales-report"].params_schema["properties"]  # NumPy style
    assert report["minimum_amount"]["title"] == "Smallest deal"
    assert all(p["title"] and p["title"][0].isupper() for s in found.values()
               for p in s.params_schema["properties"].values())  # fmt: skip
