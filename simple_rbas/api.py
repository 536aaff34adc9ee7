"""Small helpers every API view uses to read its input."""


def validated(serializer_class, data, **kwargs) -> dict:
    """Validate `data` with `serializer_class`, raising DRF's 400 on failure."""
    serializer = serializer_class(data=data, **kwargs)
    serializer.is_valid(raise_exception=True)
    return serializer.validated_data


def query_params(request) -> dict:
    """The query parameters, an empty one (`?level=`, as forms send it) meaning "not given"."""
    return {key: value for key, value in request.query_params.items() if value != ""}
