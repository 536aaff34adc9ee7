"""The committed Postman collection runs green with newman against a live server."""

import json
import shutil
import subprocess

import pytest
import requests

from tests.test_run_web import ROOT, base_env, database_url, free_port, start, stop, wait_until_up

__all__ = ["database_url"]  # the fixture, imported for this module's test
NEWMAN = ["npx", "--yes", "newman@6.2.2"]


def count_requests(node: dict) -> int:
    if "request" in node:
        return 1
    return sum(count_requests(child) for child in node.get("item", []))


def owner_view(url: str, password: str) -> tuple[str, set[str]]:
    """The owner's first name and the usernames of the active users, as the owner sees them."""
    login = requests.post(
        f"{url}/api/auth/login/", json={"username": "pm-owner", "password": password}, timeout=10
    )
    login.raise_for_status()
    auth = {"Authorization": f"Bearer {login.json()['access_token']}"}
    me = requests.get(f"{url}/api/auth/me/", headers=auth, timeout=10).json()
    users = requests.get(
        f"{url}/api/users/?is_active=true&page_size=100", headers=auth, timeout=10
    ).json()
    requests.post(f"{url}/api/auth/logout/", headers=auth, timeout=10)
    return me["first_name"], {user["username"] for user in users["results"]}


@pytest.mark.skipif(shutil.which("npx") is None, reason="newman needs Node.js (npx)")
def test_the_postman_collection_passes_against_a_live_server(database_url, tmp_path):
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    log = tmp_path / "server.log"
    password = "a-postman-owner-passphrase"
    env = base_env(
        PORT=str(port),
        DATABASE_URL=database_url,
        EMBEDDED_WORKERS="1",
        DJANGO_SUPERUSER_USERNAME="pm-owner",
        DJANGO_SUPERUSER_EMAIL="pm-owner@example.com",
        DJANGO_SUPERUSER_PASSWORD=password,
    )
    server = start([str(ROOT / "run_web.sh")], env, log)
    try:
        wait_until_up(server, url, log)
        before = owner_view(url, password)
        result = subprocess.run(
            [*NEWMAN, "run", "docs/postman_collection.json",
             "--environment", "docs/postman_environment.json",
             "--env-var", f"baseUrl={url}", "--env-var", "username=pm-owner",
             "--env-var", f"password={password}", "--bail", "--color", "off"],
            cwd=ROOT, capture_output=True, text=True, timeout=600,
        )  # fmt: skip
        after = owner_view(url, password) if result.returncode == 0 else None
    finally:
        stop(server)
    assert result.returncode == 0, result.stdout[-4000:] + result.stderr[-2000:]
    summary = {
        line.split("│")[1].strip(): line.split("│")[2:4]
        for line in result.stdout.splitlines()
        if line.count("│") >= 4
    }
    executed, failed = (int(value) for value in summary["assertions"])
    assert executed >= 30 and failed == 0, summary
    # The run cleans up after itself: the owner's name as it was, its own users deactivated.
    assert after == before == ("", {"pm-owner"})
    assert int(summary["requests"][0]) == count_requests(
        json.loads((ROOT / "docs" / "postman_collection.json").read_text())
    )
