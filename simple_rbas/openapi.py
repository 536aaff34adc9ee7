"""Shared pieces of the OpenAPI description: error bodies and the responses that use them."""

from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, OpenApiResponse
from rest_framework import serializers


class DetailSerializer(serializers.Serializer):
    """A request-level error or refusal: `{"detail": "..."}`."""

    detail = serializers.CharField()


_MEANINGS = {
    400: "Invalid input: an object of field names to lists of messages.",
    401: "Not signed in, or the token is invalid, expired or revoked.",
    403: "Not allowed: the policy is not satisfied, or the CSRF check failed.",
    404: "Not found (or not visible to the caller).",
    409: "Conflicts with the current state.",
    410: "Existed, and was removed for good.",
    415: "Only application/json is accepted.",
    429: "Too many requests; see Retry-After.",
    503: "Not ready.",
}


def errors(*codes: int) -> dict:
    """The error responses `codes` for an `extend_schema(responses=...)`."""
    responses = {}
    for code in codes:
        schema = OpenApiTypes.OBJECT if code == 400 else DetailSerializer
        responses[code] = OpenApiResponse(schema, description=_MEANINGS[code])
    return responses


PAGE_PARAMETERS = [
    OpenApiParameter("page", int, description="Page number, from 1."),
    OpenApiParameter("page_size", int, description="Items per page (at most 100)."),
]
WAIT_PARAMETER = OpenApiParameter(
    "wait", int, description="Seconds (0-30) to wait for the run to finish before answering."
)
