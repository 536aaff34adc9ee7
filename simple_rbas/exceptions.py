"""API errors that Django REST framework has no class for."""

from rest_framework import exceptions, status


class Conflict(exceptions.APIException):
    """409: the change would break an invariant of the stored data."""

    status_code = status.HTTP_409_CONFLICT
    default_detail = "The request conflicts with the current state."
    default_code = "conflict"


class TooManyActive(exceptions.APIException):
    """429: the caller already has as much in progress as allowed."""

    status_code = status.HTTP_429_TOO_MANY_REQUESTS
    default_detail = "Too many requests in progress."
    default_code = "too_many_active"


class Gone(exceptions.APIException):
    """410: the resource existed and was removed for good."""

    status_code = status.HTTP_410_GONE
    default_detail = "This was removed."
    default_code = "gone"
