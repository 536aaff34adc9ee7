"""Helpers of the provider tests: PKCE pairs, registered applications, the browser's part of
an authorization (GET the consent page, POST Allow with its CSRF token)."""

import base64
import hashlib
import re
import secrets
from urllib.parse import parse_qs, urlencode, urlsplit

from oauth2_provider.models import Application

from provider import services

REDIRECT_URI = "http://127.0.0.1:9999/callback"


def pkce_pair() -> tuple[str, str]:
    """A code verifier and its S256 challenge."""
    verifier = secrets.token_urlsafe(48)
    digest = hashlib.sha256(verifier.encode()).digest()
    return verifier, base64.urlsafe_b64encode(digest).rstrip(b"=").decode()


def web_app(owner, *, name="Wiki", redirect_uri=REDIRECT_URI, client_type="confidential"):
    """A registered authorization-code application and its client secret."""
    return services.application_create(
        actor=owner,
        name=name,
        client_type=client_type,
        authorization_grant_type=Application.GRANT_AUTHORIZATION_CODE,
        redirect_uris=[redirect_uri],
    )


def authorize_query(app, challenge: str, scope="openid profile email rbas", **extra) -> str:
    """The query string of an authorization request."""
    return urlencode(
        {
            "response_type": "code",
            "client_id": app.client_id,
            "redirect_uri": REDIRECT_URI,
            "scope": scope,
            "state": "state-1",
            "nonce": "nonce-1",
            "code_challenge": challenge,
            "code_challenge_method": "S256",
            **extra,
        }
    )


def consent(client, query: str, allow=True):
    """Open the consent page as the client's user, then submit Allow (or Deny); returns the
    final response (the redirect to the application)."""
    page = client.get(f"/o/authorize/?{query}")
    assert page.status_code == 200, page.content
    html = page.content.decode()
    fields = dict(re.findall(r'<input type="hidden" name="([^"]+)" value="([^"]*)"', html))
    fields = {name: value.replace("&amp;", "&") for name, value in fields.items()}
    if allow:
        fields["allow"] = "on"
    return client.post(
        f"/o/authorize/?{query}", fields, HTTP_X_CSRFTOKEN=client.cookies["csrftoken"].value
    )


def code_of(response) -> str:
    """The authorization code in the redirect to the application."""
    assert response.status_code == 302, response.content
    location = urlsplit(response["Location"])
    assert f"{location.scheme}://{location.netloc}{location.path}" == REDIRECT_URI
    return parse_qs(location.query)["code"][0]


def exchange(client, app, secret: str, code: str, verifier: str):
    """POST the code to the token endpoint, as the application."""
    return client.post(
        "/o/token/",
        {
            "grant_type": "authorization_code",
            "code": code,
            "redirect_uri": REDIRECT_URI,
            "code_verifier": verifier,
            "client_id": app.client_id,
            "client_secret": secret,
        },
    )
