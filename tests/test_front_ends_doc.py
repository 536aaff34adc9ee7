"""docs/front-ends.md runs as written: its curl block against a live server, and its JavaScript
is the front end that the browser tests run (tests/web/front_end/front_end.js)."""

import re
import shutil
import subprocess

import pytest

from tests.doc_blocks import marked_block
from tests.test_run_web import base_env
from tests.test_settings import ROOT
from users.models import LoginSession, User

DOC = ROOT / "docs" / "front-ends.md"


def test_the_javascript_of_the_page_is_the_tested_front_ends():
    front_end = (ROOT / "tests/web/front_end/front_end.js").read_text()
    blocks = re.findall(r"```js\n(.*?)```", DOC.read_text(), re.DOTALL)
    assert blocks
    assert [block for block in blocks if block not in front_end] == []


@pytest.mark.skipif(shutil.which("curl") is None, reason="the block needs curl")
def test_the_curl_block_runs_as_written(live_server):
    User.objects.create_user("sam", email="sam@example.com", password="a-long-passphrase-42")
    block = marked_block("docs/front-ends.md", "front-ends-curl")
    assert block.startswith("API=http://127.0.0.1:8000\n")
    block = block.replace("API=http://127.0.0.1:8000", f"API={live_server.url}", 1)
    result = subprocess.run(
        ["bash", "-c", "set -euo pipefail\n" + block],
        env=base_env(), capture_output=True, text=True, timeout=60,
    )  # fmt: skip
    output = result.stdout + result.stderr
    assert result.returncode == 0, output
    assert '"username":"sam"' in output
    assert output.rstrip().endswith('{"detail":"Session has ended."} 401')
    assert LoginSession.objects.get().revoked_reason == "logout"
