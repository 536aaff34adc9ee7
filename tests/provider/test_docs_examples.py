"""docs/oauth-provider.md's client-credentials block runs as written against a live server
(its relying party runs in tests/web/test_provider_browser.py)."""

import json
import os
import shutil
import subprocess

import pytest
from oauth2_provider.models import Application

from provider import services
from tests.doc_blocks import marked_block
from users.roles import Level


def block(name: str) -> str:
    return marked_block("docs/oauth-provider.md", name)


@pytest.mark.skipif(shutil.which("curl") is None, reason="the block needs curl")
def test_the_client_credentials_block_runs_as_the_service_account(live_server, users):
    app, secret = services.application_create(
        actor=users[Level.OWNER],
        name="CI",
        client_type=Application.CLIENT_CONFIDENTIAL,
        authorization_grant_type=Application.GRANT_CLIENT_CREDENTIALS,
        redirect_uris=[],
        level=Level.WRITE,
    )
    env = {**os.environ, "RBAS_URL": live_server.url, "CLIENT_ID": app.client_id}
    env["CLIENT_SECRET"] = secret
    result = subprocess.run(
        ["bash", "-euo", "pipefail", "-c", block("client-credentials")],
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode == 0, result.stderr
    me = json.loads(result.stdout)
    assert me["username"] == app.service_account.user.username
    assert me["level"] == Level.WRITE
