"""The examples of docs/writing-scripts.md and of the README are scripts the catalog publishes
and ruff passes, and so are the shipped examples in scripts/."""

import re
import subprocess
import sys
from pathlib import Path

import pytest

from scripts_api.catalog import parse_script

ROOT = Path(__file__).resolve().parents[2]
PAGES = [ROOT / "docs" / "writing-scripts.md", ROOT / "README.md"]


def python_blocks() -> list[str]:
    """Every whole script shown (a block with a `main`; the README's PEP 723 block is a part)."""
    blocks = []
    for page in PAGES:
        found = re.findall(r"```python\n(.*?)```", page.read_text(), flags=re.DOTALL)
        blocks += [block for block in found if "def main(" in block]
    return blocks


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
    assert spec.params_schema["type"] == "object"
    # Read as a file of scripts/, with the project's rules (pyproject.toml).
    result = ruff("--stdin-filename", "scripts/example.py", "-", source=python_blocks()[index])
    assert result.returncode == 0, result.stdout


def test_the_shipped_scripts_pass_ruff():
    result = ruff("scripts")
    assert result.returncode == 0, result.stdout
