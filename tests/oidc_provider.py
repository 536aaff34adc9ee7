"""A real OpenID Connect provider for the tests (tests/oidc/provider.mjs, the npm package
`oidc-provider`), and a user agent that signs in through its pages."""

import json
import os
import re
import shutil
import socket
import subprocess
import time
from html import unescape
from pathlib import Path
from urllib.parse import urljoin

import pytest
import requests

PROVIDER_DIR = Path(__file__).resolve().parent / "oidc"
CLIENT_ID = "rbas-tests"
CLIENT_SECRET = "rbas-tests-client-secret"


def missing_node() -> str | None:
    """Why the provider cannot run here (None when it can): the tests that need it skip."""
    if shutil.which("node") is None:
        return "the OpenID Connect provider needs Node.js (apt-get install nodejs npm)"
    if not (PROVIDER_DIR / "node_modules" / "oidc-provider").is_dir():
        return "the OpenID Connect provider is not installed: npm ci --prefix tests/oidc"
    return None


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


class OidcProvider:
    """One `oidc-provider` process on loopback, with accounts kept in a JSON file."""

    def __init__(self, tmp_dir: Path, redirect_uris: list[str], port: int | None = None):
        reason = missing_node()
        if reason:
            pytest.skip(reason)
        self.port = port or free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.redirect_uris = redirect_uris
        self.accounts_file = tmp_dir / f"accounts-{self.port}.json"
        self.accounts: dict[str, dict] = {}
        self.save_accounts()
        self.process: subprocess.Popen | None = None

    def save_accounts(self) -> None:
        """Write `accounts` where the provider reads them at every sign-in."""
        self.accounts_file.write_text(json.dumps(self.accounts))

    def add(self, login: str, email: str, verified: bool = True, **claims) -> str:
        """Add an account (its `sub` is `login`) and return the login."""
        self.accounts[login] = {"email": email, "email_verified": verified, **claims}
        self.save_accounts()
        return login

    def start(self, key_id: str = "key-1", rogue_jwks: bool = False) -> "OidcProvider":
        env = {
            **os.environ,
            "PORT": str(self.port),
            "CLIENTS": json.dumps(
                [
                    {
                        "client_id": CLIENT_ID,
                        "client_secret": CLIENT_SECRET,
                        "redirect_uris": self.redirect_uris,
                    }
                ]
            ),
            "ACCOUNTS_FILE": str(self.accounts_file),
            "KEY_ID": key_id,
            "ROGUE_JWKS": "1" if rogue_jwks else "0",
        }
        self.process = subprocess.Popen(
            ["node", "provider.mjs"],
            cwd=PROVIDER_DIR,
            env=env,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
        )
        deadline = time.monotonic() + 20
        while time.monotonic() < deadline:
            line = self.process.stdout.readline()
            if line.startswith("listening"):
                return self
            if not line and self.process.poll() is not None:
                break
        raise RuntimeError(f"the OIDC provider did not start (exit {self.process.poll()})")

    def stop(self) -> None:
        if self.process is not None:
            self.process.terminate()
            self.process.wait(timeout=10)
            self.process.stdout.close()
            self.process = None

    def settings(self, **overrides) -> dict:
        """settings.OIDC_PROVIDERS naming this provider `test`."""
        return {
            "test": {
                "client_id": CLIENT_ID,
                "client_secret": CLIENT_SECRET,
                "issuer": self.url,
                "title": "Test IdP",
                "scopes": "openid email profile groups",
                **overrides,
            }
        }


def _form_action(page: requests.Response) -> str:
    match = re.search(r'<form[^>]*action="([^"]+)"', page.text)
    assert match, f"no form on the provider's page: {page.text[:300]}"
    return urljoin(page.url, unescape(match.group(1)))


class ProviderAgent:
    """A browser's side of the provider: follows its redirects, fills in its pages, and stops
    at the redirect back to the application (whose URL it returns)."""

    def __init__(self, provider: OidcProvider):
        self.provider = provider
        self.http = requests.Session()

    def _follow(self, response: requests.Response) -> requests.Response | str:
        while response.is_redirect:
            location = urljoin(response.url, response.headers["Location"])
            if not location.startswith(self.provider.url):
                return location  # back to the application
            response = self.http.get(location, allow_redirects=False, timeout=10)
        response.raise_for_status()
        return response

    def sign_in(self, authorize_url: str, login: str, consent: bool = True) -> str:
        """Sign in as `login` and answer the consent page; return the callback URL."""
        page = self._follow(self.http.get(authorize_url, allow_redirects=False, timeout=10))
        while not isinstance(page, str):
            if 'name="login"' in page.text:
                data = {"prompt": "login", "login": login, "password": "any"}
            elif consent:
                data = {"prompt": "consent"}
            else:  # the page's "Cancel" link
                abort = re.search(r'href="([^"]*/abort)"', page.text)
                url = urljoin(page.url, unescape(abort.group(1)))
                page = self._follow(self.http.get(url, allow_redirects=False, timeout=10))
                continue
            response = self.http.post(
                _form_action(page), data=data, allow_redirects=False, timeout=10
            )
            page = self._follow(response)
        return page
