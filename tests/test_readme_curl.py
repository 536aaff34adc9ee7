"""The README's curl block runs as written, in order, against a real server (run_web.sh)."""

import shutil
import subprocess

import pytest

from tests.doc_blocks import marked_block
from tests.test_run_web import ROOT, base_env, database_url, free_port, start, stop, wait_until_up

__all__ = ["database_url"]  # the fixture, imported for this module's test


def readme_curl_block() -> str:
    """The ```sh block between the README's readme-curl markers."""
    return marked_block("README.md", "readme-curl")


def test_the_block_talks_to_make_runs_address_and_reads_links_from_server_log():
    block = readme_curl_block()
    assert block.startswith("API=http://127.0.0.1:8000\n")
    assert "server.log" in block and block.count("$(link ") == 2


@pytest.mark.skipif(shutil.which("curl") is None, reason="the README's block needs curl")
def test_the_readme_curl_block_runs_in_order_against_a_live_server(database_url, tmp_path):
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    # Where the README's reader keeps `make run`'s log: server.log, in the folder curl runs in.
    log = tmp_path / "server.log"
    env = base_env(PORT=str(port), DATABASE_URL=database_url, EMBEDDED_WORKERS="1")
    server = start([str(ROOT / "run_web.sh")], env, log)
    try:
        wait_until_up(server, url, log)
        # The one change to the block: the server's port (the README's is make run's, 8000).
        block = readme_curl_block().replace("API=http://127.0.0.1:8000", f"API={url}", 1)
        result = subprocess.run(
            ["bash", "-c", "set -euo pipefail\n" + block],
            cwd=tmp_path, env=base_env(), capture_output=True, text=True, timeout=180,
        )  # fmt: skip
    finally:
        stop(server)
    output = result.stdout + result.stderr
    assert result.returncode == 0, output[-4000:]
    # The two calls meant to be refused were refused, and the script ran.
    assert output.count('"}} 403\n') + output.count('"} 403\n') == 2, output[-4000:]
    assert '"status":"succeeded"' in output and '"greeting":"Hello, Sam!"' in output
