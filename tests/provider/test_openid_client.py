"""A real relying party (`openid-client` from npm, tests/oidc/relying_party.mjs) against the
real server: discovery, authorization code + PKCE, the ID token checked against the JWKS,
userinfo, refresh and its reuse, introspection, revocation and client credentials."""

import json
import os
import re
import shutil
import subprocess
from html import unescape
from pathlib import Path

import pytest
import requests
from oauth2_provider.models import Application

from provider import services
from tests.conftest import PASSWORD
from users.roles import Level

OIDC_DIR = Path(__file__).resolve().parent.parent / "oidc"
pytestmark = pytest.mark.skipif(
    shutil.which("node") is None or not (OIDC_DIR / "node_modules" / "openid-client").is_dir(),
    reason="needs Node.js and `npm ci --prefix tests/oidc`",
)
REDIRECT_PATH = "/relying-party/callback"


def relying_party(step: str, **environment) -> dict:
    """Run one step of the relying party and return what it printed."""
    result = subprocess.run(
        ["node", "relying_party.mjs", step],
        cwd=OIDC_DIR,
        env={**os.environ, **environment},
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode == 0, result.stderr
    return json.loads(result.stdout)


def browser_consents(base_url: str, user, authorization_url: str) -> str:
    """The user's browser: sign in to RBAS (its cookie), open the consent page, Allow; return
    the URL the browser is sent back to."""
    browser = requests.Session()
    login = browser.post(
        f"{base_url}/api/auth/login/",
        json={"username": user.username, "password": PASSWORD},
        timeout=10,
    )
    assert login.status_code == 200
    page = browser.get(authorization_url, allow_redirects=False, timeout=10)
    assert page.status_code == 200, page.text
    fields = {
        name: unescape(value)
        for name, value in re.findall(
            r'<input type="hidden" name="([^"]+)" value="([^"]*)"', page.text
        )
    }
    answer = browser.post(
        authorization_url,
        data={**fields, "allow": "on"},
        headers={"X-CSRFToken": browser.cookies["csrftoken"]},
        allow_redirects=False,
        timeout=10,
    )
    assert answer.status_code == 302, answer.text
    return answer.headers["Location"]


def api_status(live_server, access_token: str) -> int:
    headers = {"Authorization": f"Bearer {access_token}"}
    return requests.get(f"{live_server.url}/api/auth/me/", headers=headers, timeout=10).status_code


@pytest.fixture
def issuer(live_server, settings):
    settings.OAUTH2_PROVIDER = {
        **settings.OAUTH2_PROVIDER,
        "OIDC_ISS_ENDPOINT": f"{live_server.url}/o",
    }
    return f"{live_server.url}/o"


def test_openid_client_signs_a_user_in_and_reads_their_level(live_server, issuer, users):
    owner, user = users[Level.OWNER], users[Level.ADMIN]
    redirect_uri = f"{live_server.url}{REDIRECT_PATH}"
    app, secret = services.application_create(
        actor=owner,
        name="Wiki",
        client_type=Application.CLIENT_CONFIDENTIAL,
        authorization_grant_type=Application.GRANT_AUTHORIZATION_CODE,
        redirect_uris=[redirect_uri],
    )
    service, service_secret = services.application_create(
        actor=owner,
        name="Nightly report",
        client_type=Application.CLIENT_CONFIDENTIAL,
        authorization_grant_type=Application.GRANT_CLIENT_CREDENTIALS,
        redirect_uris=[],
        level=Level.READ_ONLY,
    )
    rp = {
        "ISSUER": issuer,
        "CLIENT_ID": app.client_id,
        "CLIENT_SECRET": secret,
        "REDIRECT_URI": redirect_uri,
    }
    first = relying_party("start", **rp)
    assert first["metadata"]["issuer"] == issuer
    assert first["metadata"]["code_challenge_methods_supported"] == ["S256"]
    second = relying_party("start", **rp)
    done = relying_party(
        "finish",
        **rp,
        CALLBACK_URL=browser_consents(live_server.url, user, first["url"]),
        VERIFIER=first["verifier"],
        STATE=first["state"],
        NONCE=first["nonce"],
        SECOND_CALLBACK_URL=browser_consents(live_server.url, user, second["url"]),
        SECOND_VERIFIER=second["verifier"],
        SECOND_STATE=second["state"],
        SECOND_NONCE=second["nonce"],
        SERVICE_CLIENT_ID=service.client_id,
        SERVICE_CLIENT_SECRET=service_secret,
        API_URL=f"{live_server.url}/api/auth/me/",
    )

    claims = done["claims"]
    assert claims["iss"] == issuer
    assert claims["aud"] == app.client_id
    assert claims["sub"] == str(user.pk)
    assert (claims["level"], claims["level_name"]) == (Level.ADMIN, "Admin")
    assert claims["policies"] == ["authenticated", "staff", "admin"]
    assert claims["preferred_username"] == user.username
    assert done["userinfo"]["level"] == Level.ADMIN
    assert done["userinfo"]["email"] == user.email

    assert done["me"]["status"] == 200
    assert done["me"]["body"]["username"] == user.username

    assert done["refreshed"]["refresh_token"] != done["refresh_token"]
    assert done["refreshed"]["refresh_token"].startswith("rbas_ort_")
    assert done["reuse"] == {
        "ok": False,
        "error": "invalid_grant",
        "message": done["reuse"]["message"],
    }
    assert done["afterReuse"]["ok"] is False

    assert done["introspected"]["active"] is True
    assert done["introspected"]["username"] == user.username
    assert done["introspectedAfterRevocation"]["active"] is False
    assert api_status(live_server, done["revoked_access_token"]) == 401
    # The refresh token's reuse ended its chain: the access token issued with it is dead too.
    assert api_status(live_server, done["refreshed"]["access_token"]) == 401

    assert done["service_scope"] == "rbas"
    assert done["serviceMe"]["status"] == 200
    service_me = done["serviceMe"]["body"]
    assert service_me["username"] == service.service_account.user.username
    assert service_me["level"] == Level.READ_ONLY
    assert done["refused"]["ok"] is False
    assert done["refused"]["error"] == "invalid_client"
