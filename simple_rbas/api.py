"""Small helpers every API view uses to read its input, and the limits of what the database can
store: text without NUL or unpaired surrogates (neither PostgreSQL nor SQLite's driver takes
them), and integers within 64 bits (SQLite's INTEGER, PostgreSQL's bigint)."""

from django.urls.converters import IntConverter, StringConverter

from simple_rbas.database import UNSTORABLE_TEXT

MAX_DATABASE_INTEGER = 2**63 - 1


def validated(serializer_class, data, **kwargs) -> dict:
    """Validate `data` with `serializer_class`, raising DRF's 400 on failure."""
    serializer = serializer_class(data=data, **kwargs)
    serializer.is_valid(raise_exception=True)
    return serializer.validated_data


def query_params(request) -> dict:
    """The query parameters, an empty one (`?level=`, as forms send it) meaning "not given"."""
    return {key: value for key, value in request.query_params.items() if value != ""}


def text_problem(text: str) -> str | None:
    """Why the database cannot store `text`, in the words of DRF's `CharField`, or None.

    Decoded JSON is the only way a lone surrogate gets in (`"\\ud800"`): UTF-8 request bodies,
    query strings and paths cannot carry one, and a surrogate pair decodes to one character.
    """
    found = UNSTORABLE_TEXT.search(text)
    if found is None:
        return None
    if found.group() == "\x00":
        return "Null characters are not allowed."
    return f"Surrogate characters are not allowed: U+{ord(found.group()):X}."


class DatabaseIdConverter(IntConverter):
    """`<id:pk>`: an `<int:>` that only matches ids the database can hold, so a larger one is
    a 404 like any other id that names no row (rather than an overflow in the query)."""

    def to_python(self, value: str) -> int:
        number = int(value)
        if number > MAX_DATABASE_INTEGER:
            raise ValueError("beyond the database's integer range")
        return number


class StoredNameConverter(StringConverter):
    """`<name:...>`: a `<str:>` that does not match text no stored name holds (a NUL from
    `%00`), so the lookup is a 404 instead of a database error."""

    def to_python(self, value: str) -> str:
        if text_problem(value):
            raise ValueError("not a name the database can hold")
        return value
