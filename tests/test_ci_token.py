"""A CI job runs scripts with a personal token: the README's two blocks, as written, against a
real server and queue worker (run_web.sh)."""

import json
import shutil
import subprocess

import pytest
import requests

from tests.doc_blocks import marked_block
from tests.test_run_web import ROOT, base_env, database_url, free_port, start, stop, wait_until_up

__all__ = ["database_url"]  # the fixture, imported for this module's test
OWNER, PASSWORD = "ci-owner", "a-long-passphrase-42"


def readme_block(marker: str) -> str:
    """The ```sh block between the README's `<marker>-begin` and `<marker>-end` comments."""
    return marked_block("README.md", marker)


def run_block(block: str, tmp_path, **env: str) -> subprocess.CompletedProcess:
    return subprocess.run(
        ["bash", "-c", "set -euo pipefail\n" + block],
        cwd=tmp_path, env=base_env(**env), capture_output=True, text=True, timeout=120,
    )  # fmt: skip


@pytest.mark.skipif(shutil.which("curl") is None, reason="the README's blocks need curl")
def test_a_ci_job_runs_a_script_with_a_personal_token(database_url, tmp_path):
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    log = tmp_path / "server.log"
    env = base_env(
        PORT=str(port),
        DATABASE_URL=database_url,
        EMBEDDED_WORKERS="1",
        DJANGO_SUPERUSER_USERNAME=OWNER,
        DJANGO_SUPERUSER_PASSWORD=PASSWORD,
    )
    server = start([str(ROOT / "run_web.sh")], env, log)
    try:
        wait_until_up(server, url, log)
        created = run_block(
            readme_block("ci-token-create"),
            tmp_path,
            RBAS_URL=url,
            RBAS_USERNAME=OWNER,
            RBAS_PASSWORD=PASSWORD,
        )
        assert created.returncode == 0, created.stdout + created.stderr
        token = json.loads(created.stdout.strip().splitlines()[-1])
        assert token["name"] == "nightly report" and token["level"] == 4
        assert token["token"].startswith("rbas_pat_")

        job = run_block(
            readme_block("ci-token-run"), tmp_path, RBAS_URL=url, RBAS_TOKEN=token["token"]
        )
        assert job.returncode == 0, job.stdout + job.stderr
        assert json.loads(job.stdout.strip().splitlines()[-1]) == {"greeting": "Hello, CI."}

        # The token is narrowed to Read Only: a staff script is refused, though its user is owner.
        headers = {"Authorization": f"Bearer {token['token']}"}
        staff = requests.post(
            f"{url}/api/scripts/price-quote/runs/", json={}, headers=headers, timeout=10
        )
        assert staff.status_code == 403

        # Revoked (by the token itself), the same job fails on its first call.
        revoked = requests.delete(f"{url}/api/tokens/{token['id']}/", headers=headers, timeout=10)
        assert revoked.status_code == 204
        refused = run_block(
            readme_block("ci-token-run"), tmp_path, RBAS_URL=url, RBAS_TOKEN=token["token"]
        )
        assert refused.returncode != 0 and "401" in refused.stderr + refused.stdout
    finally:
        stop(server)
