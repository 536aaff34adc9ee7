"""DRF authentication from the access-token cookie or an `Authorization: Bearer` header."""

import threading

from django.db import connections, router
from django.db.models.sql import Query
from django.middleware.csrf import CsrfViewMiddleware
from rest_framework import exceptions
from rest_framework.authentication import BaseAuthentication

from users.cookies import read_token_cookie
from users.models import LoginSession, User
from users.tokens import ACCESS, TokenClaims, decode_token

BEARER = "bearer"
WWW_AUTHENTICATE = 'Bearer realm="api"'
# Bearer tokens of RBAS's other kinds (`rbas_pat_`, `rbas_oat_`) are never JWTs.
OTHER_TOKENS_PREFIX = "rbas_"


class _CSRFCheck(CsrfViewMiddleware):
    """Django's CSRF check, returning the failure reason instead of a response."""

    def _reject(self, request, reason):
        return reason


def enforce_csrf(request) -> None:
    """Refuse (403) an unsafe request that lacks a valid CSRF token or comes from a foreign
    origin, exactly as DRF's `SessionAuthentication.enforce_csrf` does."""
    check = _CSRFCheck(lambda req: None)
    check.process_request(request)
    reason = check.process_view(request, None, (), {})
    if reason:
        raise exceptions.PermissionDenied(f"CSRF Failed: {reason}", code="csrf_failed")


class _SessionUserQuery:
    """`LoginSession` joined with its `User`, found by session id and user id: the one query
    an authenticated request makes. The ORM would build and compile the same SELECT again on
    every request (half the CPU of authenticating one); this writes it once per database, from
    the models' own tables and columns, and reads the row with the ORM's own converters."""

    def __init__(self, connection):
        quote = connection.ops.quote_name
        self.session_fields = LoginSession._meta.concrete_fields
        self.user_fields = User._meta.concrete_fields
        session_table, user_table = LoginSession._meta.db_table, User._meta.db_table
        user_column = LoginSession._meta.get_field("user").column
        columns = [
            f"{quote(field.model._meta.db_table)}.{quote(field.column)}"
            for field in (*self.session_fields, *self.user_fields)
        ]
        # Only the models' own table and column names, quoted; the values are parameters.
        self.sql = (
            f"SELECT {', '.join(columns)} FROM {quote(session_table)}"  # noqa: S608
            f" INNER JOIN {quote(user_table)}"
            f" ON {quote(session_table)}.{quote(user_column)}"
            f" = {quote(user_table)}.{quote(User._meta.pk.column)}"
            f" WHERE {quote(session_table)}.{quote(LoginSession._meta.pk.column)} = %s"
            f" AND {quote(session_table)}.{quote(user_column)} = %s"
        )
        compiler = Query(LoginSession).get_compiler(connection=connection)
        self.converters = compiler.get_converters(
            [field.get_col(field.model._meta.db_table) for field in self.session_fields]
            + [field.get_col(field.model._meta.db_table) for field in self.user_fields]
        )
        self.session_names = [field.attname for field in self.session_fields]
        self.user_names = [field.attname for field in self.user_fields]
        self.connection = connection

    def run(self, session_id, user_id) -> LoginSession | None:
        connection = self.connection
        params = (
            LoginSession._meta.pk.get_db_prep_value(session_id, connection, prepared=False),
            User._meta.pk.get_db_prep_value(user_id, connection, prepared=False),
        )
        with connection.cursor() as cursor:
            cursor.execute(self.sql, params)
            row = cursor.fetchone()
        if row is None:
            return None
        values = list(row)
        for index, (converters, expression) in self.converters.items():
            for converter in converters:
                values[index] = converter(values[index], expression, connection)
        split = len(self.session_fields)
        session = LoginSession.from_db(connection.alias, self.session_names, values[:split])
        user = User.from_db(connection.alias, self.user_names, values[split:])
        LoginSession.user.field.set_cached_value(session, user)
        return session


# Per thread, like Django's connections: a query holds its connection and its converters.
_queries = threading.local()


def find_session(session_id, user_id) -> LoginSession | None:
    """The login session `session_id` of user `user_id`, with its user, or `None`."""
    connection = connections[router.db_for_read(LoginSession)]
    query = getattr(_queries, connection.alias, None)
    if query is None or query.connection is not connection:
        query = _SessionUserQuery(connection)
        setattr(_queries, connection.alias, query)
    return query.run(session_id, user_id)


def user_for_claims(claims: TokenClaims) -> tuple[User, LoginSession]:
    """Load the user and their login session in one query, refusing anything no longer valid."""
    session = find_session(claims.session_id, claims.user_id)
    if session is None:
        raise exceptions.AuthenticationFailed("Session not found.", code="session_not_found")
    if not session.is_usable:
        raise exceptions.AuthenticationFailed("Session has ended.", code="session_revoked")
    if not session.user.is_active:
        raise exceptions.AuthenticationFailed("User is inactive.", code="user_inactive")
    return session.user, session


class JWTCookieAuthentication(BaseAuthentication):
    """Authenticate by `Authorization: Bearer <jwt>`, else by the HTTP-only access cookie.

    Cookie-authenticated unsafe requests must pass Django's CSRF check (token and origin); a
    header cannot be sent by another site, so header-authenticated requests need none.
    `request.auth` is the token's `TokenClaims`.
    """

    def authenticate(self, request):
        """Return `(user, claims)`, `None` when no credential was sent, or raise a 401."""
        raw = self.get_header_token(request)
        if raw is not None and raw.startswith(OTHER_TOKENS_PREFIX):
            return None  # a personal or OAuth token: the class for it claims it
        from_cookie = raw is None
        if from_cookie:
            raw = read_token_cookie(request, ACCESS)
            if raw is None:
                return None
        claims = decode_token(raw, token_type=ACCESS)
        user, _session = user_for_claims(claims)
        if from_cookie:
            enforce_csrf(request)
        return user, claims

    def get_header_token(self, request) -> str | None:
        """Return the token of a Bearer `Authorization` header, `None` for other schemes."""
        header = request.META.get("HTTP_AUTHORIZATION", "")
        parts = header.split()
        if not parts:
            return None
        if parts[0].lower() != BEARER:
            if header.lower().startswith(BEARER):
                # "Bearer<token>" with no space: a broken header, not another scheme.
                raise exceptions.AuthenticationFailed(
                    "Malformed Authorization header.", code="bad_authorization_header"
                )
            return None
        if len(parts) != 2:
            raise exceptions.AuthenticationFailed(
                "Malformed Authorization header.", code="bad_authorization_header"
            )
        return parts[1]

    def authenticate_header(self, request) -> str:
        """The `WWW-Authenticate` value that turns refusals of anonymous callers into 401."""
        return WWW_AUTHENTICATE
