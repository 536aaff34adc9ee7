"""The client address of the request being served, for events recorded deep in a service."""

import contextvars

from rest_framework.throttling import BaseThrottle

client_address: contextvars.ContextVar[str | None] = contextvars.ContextVar(
    "client_address", default=None
)


def address_of(request) -> str:
    """The client's address under DRF's `NUM_PROXIES` rule, as throttling sees it."""
    return BaseThrottle().get_ident(request) or ""


class ClientAddressMiddleware:
    """Remember the client's address while the request is served."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        token = client_address.set(address_of(request))
        try:
            return self.get_response(request)
        finally:
            client_address.reset(token)
