"""The OpenID Connect protocol, through Authlib: providers from settings, the redirect to the
provider and the verified claims of its answer.

Authlib does the protocol: discovery, the Authorization Code flow with PKCE, `state` and
`nonce` kept in Django's session (single use), the code exchange, and the ID token's
signature against the provider's JWKS (fetched again when an unknown key id appears, which is
how providers rotate keys) with `iss`, `aud`, `exp`, `iat` and `nonce` checked.
"""

import functools
from dataclasses import dataclass

import requests
from authlib.common.errors import AuthlibBaseError
from authlib.integrations.base_client import MismatchingStateError, OAuthError
from authlib.integrations.django_client import DjangoOAuth2App, OAuth
from django.conf import settings
from django.http import Http404, HttpRequest, HttpResponseRedirect
from django.urls import reverse
from joserfc.errors import JoseError


@dataclass(frozen=True)
class Provider:
    """One configured OpenID Connect provider (settings.OIDC_PROVIDERS)."""

    name: str
    title: str
    issuer: str
    client_id: str
    client_secret: str
    scopes: str

    @property
    def discovery_url(self) -> str:
        return f"{self.issuer}/.well-known/openid-configuration"


class SsoError(Exception):
    """A sign-in that cannot go on; `code` picks the message the sign-in page shows."""

    def __init__(self, code: str, reason: str = ""):
        super().__init__(reason or code)
        self.code = code


def providers() -> dict[str, Provider]:
    """The enabled providers, by name, in configuration order."""
    return {name: Provider(name=name, **conf) for name, conf in settings.OIDC_PROVIDERS.items()}


def provider_get(name: str) -> Provider:
    """The enabled provider called `name`, else 404."""
    provider = providers().get(name)
    if provider is None:
        raise Http404("No such sign-in provider.")
    return provider


@functools.cache
def _client(provider: Provider) -> DjangoOAuth2App:
    # One client per configuration: it caches the discovery document and the JWKS.
    return OAuth().register(
        provider.name,
        client_id=provider.client_id,
        client_secret=provider.client_secret,
        server_metadata_url=provider.discovery_url,
        client_kwargs={
            "scope": provider.scopes,
            "code_challenge_method": "S256",
            "default_timeout": settings.OIDC_TIMEOUT_SECONDS,
        },
    )


def _metadata(provider: Provider) -> dict:
    """The provider's discovery document, which must be about the configured issuer."""
    try:
        metadata = _client(provider).load_server_metadata()
    except (requests.RequestException, ValueError) as error:
        raise SsoError("unavailable", f"discovery failed: {error}") from error
    if metadata.get("issuer", "").rstrip("/") != provider.issuer:
        raise SsoError("unavailable", f"discovery names issuer {metadata.get('issuer')!r}")
    return metadata


def callback_url(request: HttpRequest, provider: Provider) -> str:
    """The redirect URI to register at the provider for this site."""
    return request.build_absolute_uri(reverse("oidc-callback", args=[provider.name]))


def authorization_redirect(
    request: HttpRequest, provider: Provider, *, next_path: str, **params: str
) -> HttpResponseRedirect:
    """Redirect to the provider's sign-in, remembering state, nonce, PKCE verifier and next."""
    _metadata(provider)
    client = _client(provider)
    redirect_uri = callback_url(request, provider)
    try:
        authorization = client.create_authorization_url(redirect_uri, **params)
    except (requests.RequestException, RuntimeError) as error:
        raise SsoError("unavailable", str(error)) from error
    client.save_authorize_data(
        request, redirect_uri=redirect_uri, next_path=next_path, **authorization
    )
    return HttpResponseRedirect(authorization["url"])


def pending_next(request: HttpRequest, provider: Provider) -> str:
    """The `next` path saved when the sign-in this callback answers was started ("/" if none)."""
    client = _client(provider)
    state = request.GET.get("state", "")
    saved = client.framework.get_state_data(request.session, state) if state else None
    return (saved or {}).get("next_path", "/")


def authorization_complete(request: HttpRequest, provider: Provider) -> dict:
    """Finish the flow at the callback and return the verified claims.

    The claims are the ID token's, completed by the userinfo endpoint's for the same `sub`
    (some providers put email or groups only there).
    """
    client = _client(provider)
    try:
        token = client.authorize_access_token(request)
        id_claims = token.get("userinfo")
        if not id_claims:
            raise SsoError("token", "the token response has no ID token")
        claims = dict(id_claims)
        if _metadata(provider).get("userinfo_endpoint"):
            extra = client.userinfo(token=token)
            if extra.get("sub") != id_claims["sub"]:
                raise SsoError("token", "userinfo is about another subject")
            claims = {**extra, **id_claims}
    except SsoError:
        raise
    except MismatchingStateError as error:
        raise SsoError("state", "unknown or used state") from error
    except OAuthError as error:
        # An `error` the provider sent back (denied consent) or a refused code exchange.
        if error.error == "access_denied":
            raise SsoError("cancelled", error.description or "") from error
        raise SsoError("token", f"{error.error}: {error.description}") from error
    except requests.RequestException as error:
        raise SsoError("unavailable", str(error)) from error
    except (AuthlibBaseError, JoseError, ValueError, KeyError) as error:
        raise SsoError("token", f"{type(error).__name__}: {error}") from error
    return claims
