"""The examples of docs/writing-scripts.md are scripts the catalog publishes and ruff passes,
and so are the shipped examples in scripts/."""

import re
import subprocess
import sys
from pathlib import Path

import pytest

from scripts_api.catalog import parse_script

ROOT = Path(__file__).resolve().parents[2]
PAGE = ROOT / "docs" / "writing-scripts.md"


def python_blocks() -> list[str]:
    return re.findall(r"```python\n(.*?)```", PAGE.read_text(), flags=re.DOTALL)


def ruff(*args: str, source: str | None = None) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "ruff", "check", "--no-cache", *args],
        cwd=ROOT,
        input=source,
        capture_output=True,
        text=True,
        timeout=60,
    )


@pytest.mark.parametrize("index", range(len(python_blocks())))
def test_each_example_is_published_by_the_catalog_and_passes_ruff(index, tmp_path):
    path = tmp_path / "example.py"
    path.write_text(python_blocks()[index])
    spec = parse_script(path)
    assert spec.params_schema["properties"]
    # Read as a file of scripts/, with the project's rules (pyproject.toml).
    result = ruff("--stdin-filename", "scripts/example.py", "-", source=python_blocks()[index])
    assert result.returncode == 0, result.stdout


def test_the_shipped_scripts_pass_ruff():
    result = ruff("scripts")
    assert result.returncode == 0, result.stdout
