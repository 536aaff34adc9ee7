"""The audit log's example in docs/operations.md runs as written against a live server."""

import os
import shutil
import subprocess

import pytest

from audit import services as audit
from tests.doc_blocks import marked_block
from users.personal_tokens import token_create
from users.roles import Level


def block(name: str) -> str:
    return marked_block("docs/operations.md", name)


@pytest.mark.skipif(shutil.which("curl") is None, reason="the example needs curl")
def test_the_export_example_runs_as_written(live_server, users, tmp_path):
    owner = users[Level.OWNER]
    _, raw = token_create(user=owner, levels=(owner.level,), name="audit export")
    audit.record("auth.login", actor=owner, target=owner, method="password")
    result = subprocess.run(
        ["bash", "-euo", "pipefail", "-c", block("audit-export")],
        cwd=tmp_path,
        env={"PATH": os.environ["PATH"], "RBAS_URL": live_server.url, "RBAS_TOKEN": raw},
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert result.stdout.strip() == "['auth.login']"
    assert raw not in (tmp_path / "audit.jsonl").read_text()
