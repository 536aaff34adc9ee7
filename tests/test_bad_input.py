"""Input the application cannot use answers 4xx with a clear message and creates nothing, never
500 (API.md): bodies too deeply nested or holding text the database cannot store (NUL, lone
surrogates), numbers out of range, repeated keys, integers beyond the database's and strings
with NUL in query strings, paths, tokens and cookies. Run on SQLite and on PostgreSQL."""

import io
import json
import uuid

import pytest
from django_tasks_db.models import DBTaskResult
from rest_framework.exceptions import ParseError, ValidationError

from scripts_api import services
from scripts_api.models import Run, Script
from simple_rbas.api import MAX_DATABASE_INTEGER, text_problem
from simple_rbas.parsers import MAX_DEPTH, JSONParser
from tests.conftest import PASSWORD
from users import sso
from users.models import LoginSession, SsoIdentity, User
from users.oidc import SsoError
from users.roles import Level
from users.tokens import ACCESS, REFRESH, encode_token

RUN = "/api/scripts/price-quote/runs/"
QUOTE = {"customer": "Acme", "plan": "team", "seats": 3, "start_date": "2025-01-01"}
NUL, SURROGATE = "\u0000", "\ud800"


def send(client, path: str, body: str | bytes, method: str = "POST", **extra):
    """Send `body` as it is: the test client's JSON encoder would refuse some of these."""
    data = body.encode("utf-8", "surrogatepass") if isinstance(body, str) else body
    return client.generic(method, path, data, content_type="application/json", **extra)


def as_json(value) -> str:
    """`value` as JSON text, non-ASCII escaped (`"\\u0000"`, `"\\ud800"`) as clients send it."""
    return json.dumps(value)


def assert_refused(response, *phrases: str, status: int = 400) -> None:
    assert response.status_code == status, response.content
    detail = response.json()["detail"]
    for phrase in phrases:
        assert phrase in detail, detail


def quote_with_seats(raw: str) -> str:
    """A price-quote run body whose `seats` is the raw JSON text `raw`."""
    others = {name: value for name, value in QUOTE.items() if name != "seats"}
    return as_json({"params": others})[:-2] + f', "seats": {raw}}}}}'


def nothing_queued() -> bool:
    return not Run.objects.exists() and not DBTaskResult.objects.exists()


@pytest.fixture
def owner(users):
    return users[Level.OWNER]


@pytest.fixture
def owner_client(owner, bearer_client):
    return bearer_client(owner)


# --- JSON bodies -----------------------------------------------------------------------------


def test_a_body_over_the_upload_limit_is_a_json_413_that_creates_nothing(
    catalog, owner_client, settings, api_client
):
    settings.DATA_UPLOAD_MAX_MEMORY_SIZE = 10_000
    body = json.dumps({"params": {"name": "x" * 20_000}})
    response = send(owner_client, RUN, body)
    assert response.status_code == 413
    assert response["Content-Type"] == "application/json"
    assert response.json() == {
        "detail": "The request body is too large.",
        "code": "request_too_large",
    }
    assert nothing_queued()
    # Anonymous too, before any credential is checked.
    login = json.dumps({"username": "u" * 20_000, "password": "p"})
    response = api_client.post("/api/auth/login/", login, content_type="application/json")
    assert response.status_code == 413 and response.json()["code"] == "request_too_large"


def test_pages_outside_the_api_keep_djangos_400_page(settings, client, db):
    settings.DATA_UPLOAD_MAX_MEMORY_SIZE = 10
    response = client.post("/admin/login/", {"username": "u" * 100, "password": "p"})
    assert response.status_code == 400
    assert response["Content-Type"].startswith("text/html")


def test_json_nested_five_thousand_levels_deep_is_refused_and_creates_nothing(
    catalog, owner_client
):
    body = '{"params": ' + "[" * 5000 + "]" * 5000 + "}"
    assert_refused(send(owner_client, RUN, body), f"nested deeper than {MAX_DEPTH} levels")
    assert nothing_queued()


def test_json_nested_past_the_limit_is_refused_though_python_could_parse_it(catalog, owner_client):
    nested = {"customer": "Acme"}
    for _ in range(MAX_DEPTH):
        nested = {"a": nested}
    assert_refused(send(owner_client, RUN, as_json({"params": nested})), "nested deeper")
    assert nothing_queued()


def test_json_nested_up_to_the_limit_is_parsed_and_one_level_more_is_not():
    body = "[" * MAX_DEPTH + "]" * MAX_DEPTH
    parsed = JSONParser().parse(io.BytesIO(body.encode()))
    for _ in range(MAX_DEPTH - 1):
        parsed = parsed[0]
    assert parsed == []
    with pytest.raises(ParseError, match="nested deeper"):
        JSONParser().parse(io.BytesIO(f"[{body}]".encode()))


def test_brackets_inside_strings_are_not_nesting():
    text = "[{" * MAX_DEPTH + '\\"'
    body = as_json({"note": text, "list": [[[]]]})
    assert JSONParser().parse(io.BytesIO(body.encode())) == {"note": text, "list": [[[]]]}


@pytest.mark.parametrize(
    ("char", "message"),
    [
        (NUL, "Null characters are not allowed."),
        (SURROGATE, "Surrogate characters are not allowed: U+D800."),
        ("\udfff", "Surrogate characters are not allowed: U+DFFF."),
    ],
)
def test_run_parameter_holding_text_the_database_cannot_store_is_refused_and_creates_nothing(
    catalog, owner_client, char, message
):
    body = as_json({"params": {**QUOTE, "customer": f"a{char}b"}})
    assert_refused(send(owner_client, RUN, body), "params.customer", message)
    assert nothing_queued()


def test_unstorable_text_is_found_at_any_depth_and_named_by_its_place(catalog, owner_client):
    body = as_json({"params": {**QUOTE, "addons": ["sso", f"audit{NUL}"]}})
    assert_refused(send(owner_client, RUN, body), "params.addons[1]", "Null characters")
    assert nothing_queued()


@pytest.mark.parametrize("char", [NUL, SURROGATE])
def test_a_key_holding_text_the_database_cannot_store_is_refused(catalog, owner_client, char):
    body = as_json({"params": {**QUOTE, f"note{char}": "x"}})
    assert_refused(send(owner_client, RUN, body), "a key in params")
    assert nothing_queued()


def test_a_surrogate_pair_is_one_ordinary_character_and_is_stored(catalog, owner_client):
    body = as_json({"params": {**QUOTE, "customer": "Acme \U0001f600"}})
    assert "\\ud83d\\ude00" in body
    response = send(owner_client, RUN, body)
    assert response.status_code == 202, response.content
    assert Run.objects.get().params["customer"] == "Acme \U0001f600"


@pytest.mark.parametrize(
    ("number", "message"),
    [
        ("1e999", "the number 1e999 is out of range"),
        ("-1e999", "the number -1e999 is out of range"),
        ("NaN", "NaN is not a JSON value"),
        ("Infinity", "Infinity is not a JSON value"),
        ("-Infinity", "-Infinity is not a JSON value"),
    ],
)
def test_a_number_beyond_a_float_or_not_in_json_is_refused(catalog, owner_client, number, message):
    assert_refused(send(owner_client, RUN, quote_with_seats(number)), message)
    assert nothing_queued()


def test_an_integer_too_long_to_convert_is_refused(catalog, owner_client):
    assert_refused(send(owner_client, RUN, quote_with_seats("9" * 5000)), "JSON parse error")
    assert nothing_queued()


def test_a_repeated_key_is_refused_rather_than_one_value_silently_winning(catalog, owner_client):
    body = as_json({"params": QUOTE})[:-2] + ', "customer": "Evil"}}'
    assert_refused(send(owner_client, RUN, body), 'the key "customer" appears twice')
    assert nothing_queued()


def test_a_body_not_in_its_charset_is_refused(catalog, owner_client):
    body = as_json({"params": QUOTE}).replace("Acme", "Acm\xe9").encode("latin-1")
    assert_refused(send(owner_client, RUN, body), "the body is not valid utf-8")
    assert nothing_queued()


def test_a_lone_surrogate_in_a_login_username_is_refused_not_a_server_error(api_client, owner):
    # It used to crash the per-username throttle, before any check of the credentials.
    body = as_json({"username": f"{owner.username}{SURROGATE}", "password": PASSWORD})
    assert_refused(send(api_client, "/api/auth/login/", body), "username", "Surrogate")
    assert not LoginSession.objects.exists()


@pytest.mark.parametrize("char", [NUL, SURROGATE])
@pytest.mark.parametrize("field", ["username", "email", "password", "first_name", "last_name"])
def test_signup_with_unstorable_text_in_any_field_is_refused_and_creates_no_user(
    db, api_client, field, char
):
    body = {
        "username": "newcomer",
        "email": "newcomer@example.com",
        "password": PASSWORD,
        "first_name": "New",
        "last_name": "Comer",
    }
    body[field] = f"{body[field]}{char}"
    assert_refused(send(api_client, "/api/auth/signup/", as_json(body)), field)
    assert not User.objects.exists()


@pytest.mark.parametrize("char", [NUL, SURROGATE])
def test_an_admin_creating_a_user_with_unstorable_text_creates_no_user(owner_client, char):
    body = {"username": f"new{char}", "email": "new@example.com", "password": PASSWORD}
    assert_refused(send(owner_client, "/api/users/", as_json(body)), "username")
    assert not User.objects.filter(email="new@example.com").exists()


@pytest.mark.parametrize("char", [NUL, SURROGATE])
def test_unstorable_text_in_profile_changes_changes_nothing(owner, owner_client, users, char):
    target = users[Level.READ_ONLY]
    body = as_json({"first_name": f"x{char}"})
    assert_refused(send(owner_client, "/api/auth/me/", body, "PATCH"), "first_name")
    assert_refused(send(owner_client, f"/api/users/{target.pk}/", body, "PATCH"), "first_name")
    owner.refresh_from_db()
    target.refresh_from_db()
    assert owner.first_name == target.first_name == ""


def test_unstorable_text_in_a_new_password_changes_nothing(owner, owner_client):
    body = as_json({"old_password": PASSWORD, "new_password": f"{PASSWORD}{NUL}"})
    assert_refused(send(owner_client, "/api/auth/password/", body), "new_password")
    owner.refresh_from_db()
    assert owner.check_password(PASSWORD)


@pytest.mark.parametrize("char", [NUL, SURROGATE])
def test_run_create_refuses_unstorable_parameters_even_from_callers_other_than_the_api(
    catalog, owner, char
):
    script = Script.objects.get(slug="price-quote")
    params = {**QUOTE, "addons": [f"sso{char}"]}
    with pytest.raises(ValidationError) as refused:
        services.run_create(user=owner, script=script, params=params)
    assert refused.value.detail["params"]["addons"] == [
        f"Item 0: {text_problem(params['addons'][0])}"
    ]
    assert nothing_queued()


# --- Tokens ----------------------------------------------------------------------------------


def present(client, token_type: str, raw: str):
    if token_type == ACCESS:
        return client.get("/api/auth/me/", HTTP_AUTHORIZATION=f"Bearer {raw}")
    return send(client, "/api/auth/refresh/", as_json({"refresh": raw}))


@pytest.mark.parametrize("token_type", [ACCESS, REFRESH])
def test_a_signed_token_naming_a_user_id_beyond_the_database_is_a_401(db, api_client, token_type):
    # Only the signing key can make one; it used to overflow SQLite's integers in the lookup.
    raw = encode_token(user_id=10**30, session_id=uuid.uuid4(), token_type=token_type).raw
    response = present(api_client, token_type, raw)
    assert response.status_code == 401, response.content
    assert response.json()["detail"] == "Token is invalid or expired."


@pytest.mark.parametrize("token_type", [ACCESS, REFRESH])
def test_a_token_naming_the_largest_possible_user_id_is_looked_up(db, api_client, token_type):
    raw = encode_token(
        user_id=MAX_DATABASE_INTEGER, session_id=uuid.uuid4(), token_type=token_type
    ).raw
    response = present(api_client, token_type, raw)
    assert response.status_code == 401, response.content
    assert response.json()["detail"] in {"Session not found.", "Session has ended."}


# --- Paths -----------------------------------------------------------------------------------


@pytest.mark.parametrize("user_id", [10**30, MAX_DATABASE_INTEGER + 1, MAX_DATABASE_INTEGER])
def test_a_user_id_no_row_can_have_is_a_404_and_changes_nothing(owner_client, users, user_id):
    path = f"/api/users/{user_id}/"
    assert owner_client.get(path).status_code == 404
    response = send(owner_client, path, as_json({"first_name": "Changed"}), "PATCH")
    assert response.status_code == 404, response.content
    assert response.json() == {"detail": "Not found."}
    assert not User.objects.filter(first_name="Changed").exists()


@pytest.fixture
def owner_run(catalog, owner):
    script = Script.objects.get(slug="price-quote")
    return Run.objects.create(script=script, script_version=script.version, user=owner, params={})


def test_an_artifact_name_holding_nul_is_a_404(owner_run, owner_client):
    # PostgreSQL refused the lookup with a ValueError (500).
    response = owner_client.get(f"/api/runs/{owner_run.pk}/artifacts/report%00.csv")
    assert response.status_code == 404, response.content
    assert owner_client.get(f"/api/runs/{owner_run.pk}/artifacts/report.csv").status_code == 404


@pytest.mark.parametrize("path", ["/api/access/admin%00/", "/api/auth/oidc/test%00/login/"])
def test_a_name_holding_nul_in_other_paths_is_a_404(owner_client, path):
    assert owner_client.get(path).status_code == 404


# --- Query strings ---------------------------------------------------------------------------

HUGE = "1" + "0" * 30


@pytest.mark.parametrize(
    ("query", "field"),
    [
        ("/api/users/?search=a%00b", "search"),
        (f"/api/users/?level={HUGE}", "level"),
        ("/api/users/?level=%00", "level"),
        ("/api/users/?is_active=%00", "is_active"),
        ("/api/runs/?script=a%00b", "script"),
        ("/api/runs/?status=%00", "status"),
    ],
)
def test_a_filter_the_database_cannot_compare_is_a_400_naming_it(owner_client, query, field):
    response = owner_client.get(query)
    assert response.status_code == 400, response.content
    assert field in response.json()


def test_a_user_filter_beyond_the_database_is_a_400(owner_client):
    response = owner_client.get(f"/api/runs/?user={HUGE}")
    assert response.status_code == 400, response.content
    assert "user" in response.json()


@pytest.mark.parametrize("wait", [HUGE, "%00"])
def test_a_wait_that_is_no_small_integer_is_a_400(owner_run, owner_client, wait):
    response = owner_client.get(f"/api/runs/{owner_run.pk}/?wait={wait}")
    assert response.status_code == 400, response.content
    assert "wait" in response.json()


@pytest.mark.parametrize("page", [HUGE, "%00"])
def test_a_page_that_cannot_exist_is_drfs_404(owner_client, page):
    response = owner_client.get(f"/api/users/?page={page}")
    assert response.status_code == 404, response.content
    assert response.json() == {"detail": "Invalid page."}


@pytest.mark.parametrize("page_size", [HUGE, "%00"])
def test_a_page_size_beyond_the_limit_or_unreadable_falls_back_as_documented(
    owner_client, page_size
):
    response = owner_client.get(f"/api/users/?page_size={page_size}")
    assert response.status_code == 200, response.content


# --- Cookies ---------------------------------------------------------------------------------

# Django's cookie parser decodes the octal escape of a quoted value into a NUL.
NUL_SESSION_COOKIE = 'sessionid="abcdefgh\\000ijklmnop"'


def test_a_session_cookie_holding_nul_is_no_session_on_the_single_sign_on_callback(
    db, settings, client
):
    # PostgreSQL refused the session lookup with a ValueError (500).
    settings.OIDC_PROVIDERS = {
        "test": {
            "client_id": "rbas",
            "client_secret": "secret",
            "issuer": "http://127.0.0.1:9",
            "title": "Test",
            "scopes": "openid email",
        }
    }
    response = client.get(
        "/api/auth/oidc/test/callback/",
        {"state": "abc", "code": "xyz"},
        HTTP_COOKIE=NUL_SESSION_COOKIE,
    )
    assert response.status_code == 302
    assert response["Location"] == "/login?sso_error=state"
    assert not LoginSession.objects.exists()


def test_a_session_cookie_holding_nul_is_no_session_on_the_admin(db, client):
    response = client.get("/admin/", HTTP_COOKIE=NUL_SESSION_COOKIE)
    assert response.status_code == 302
    assert response["Location"].startswith("/admin/login/")


# --- Single sign-on claims -------------------------------------------------------------------


@pytest.mark.parametrize("char", [NUL, SURROGATE])
@pytest.mark.parametrize("claim", sso.STORED_CLAIMS)
def test_provider_claims_holding_unstorable_text_refuse_the_sign_in_and_create_nothing(
    db, settings, claim, char
):
    # A provider's user may choose their own names; PostgreSQL refused them with a 500.
    settings.SIGNUP_MODE = "open"
    claims = {
        "sub": "subject-1",
        "email": "sso-user@example.com",
        "email_verified": True,
        "given_name": "Sso",
        "family_name": "User",
    }
    claims[claim] = f"{char}{claims[claim]}"
    with pytest.raises(SsoError) as refused:
        sso.sso_sign_in(provider="test", claims=claims)
    assert refused.value.code == "token"
    assert not User.objects.exists()
    assert not SsoIdentity.objects.exists()
