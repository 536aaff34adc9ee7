"""Settings fail safe: unsafe configurations stop start-up with a clear message."""

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
PROBE = (
    "import json; from simple_rbas import settings as s; "
    "print(json.dumps({'DEBUG': s.DEBUG, 'JWT_SIGNING_KEY': s.JWT_SIGNING_KEY, "
    "'SECRET_KEY': s.SECRET_KEY, 'CORS': s.CORS_ALLOWED_ORIGINS, "
    "'CSRF': s.CSRF_TRUSTED_ORIGINS, 'HOSTS': s.ALLOWED_HOSTS}))"
)


def load_settings(**env: str) -> subprocess.CompletedProcess:
    """Import the settings module in a fresh interpreter with exactly `env` configured."""
    clean = {k: v for k, v in os.environ.items() if k in {"PATH", "HOME", "LANG"}}
    clean |= {"DJANGO_READ_DOT_ENV_FILE": "false", **env}
    return subprocess.run(
        [sys.executable, "-c", PROBE], cwd=ROOT, env=clean, capture_output=True, text=True
    )


def assert_refused(result: subprocess.CompletedProcess, message: str) -> None:
    assert result.returncode != 0
    assert "ImproperlyConfigured" in result.stderr
    assert message in result.stderr


def test_debug_is_off_unless_set():
    result = load_settings(SECRET_KEY="k" * 50)
    assert result.returncode == 0, result.stderr
    assert json.loads(result.stdout)["DEBUG"] is False


def test_missing_secret_key_outside_debug_refuses_to_start():
    assert_refused(load_settings(), "SECRET_KEY is not set")


def test_missing_secret_key_is_tolerated_in_debug():
    assert load_settings(DEBUG="true").returncode == 0


def test_samesite_none_without_secure_refuses_to_start():
    result = load_settings(SECRET_KEY="k" * 50, COOKIE_SAMESITE="None")
    assert_refused(result, "COOKIE_SAMESITE=None needs COOKIE_SECURE=true")


def test_samesite_none_with_secure_starts():
    result = load_settings(SECRET_KEY="k" * 50, COOKIE_SAMESITE="None", COOKIE_SECURE="true")
    assert result.returncode == 0, result.stderr


def test_short_jwt_signing_key_refuses_to_start():
    result = load_settings(SECRET_KEY="k" * 50, JWT_SIGNING_KEY="too-short")
    assert_refused(result, "JWT_SIGNING_KEY must be at least 256 bits")


def test_jwt_key_is_derived_from_the_secret_key_but_is_not_it():
    first = json.loads(load_settings(SECRET_KEY="a" * 50).stdout)
    second = json.loads(load_settings(SECRET_KEY="b" * 50).stdout)
    assert first["JWT_SIGNING_KEY"] != first["SECRET_KEY"]
    assert len(first["JWT_SIGNING_KEY"].encode()) >= 32
    assert first["JWT_SIGNING_KEY"] != second["JWT_SIGNING_KEY"]


def test_explicit_jwt_key_is_used():
    key = "s" * 40
    assert (
        json.loads(load_settings(SECRET_KEY="a" * 50, JWT_SIGNING_KEY=key).stdout)[
            "JWT_SIGNING_KEY"
        ]
        == key
    )


@pytest.mark.parametrize(
    ("env", "message"),
    [
        ({"DEFAULT_LEVEL": "owner"}, "DEFAULT_LEVEL"),
        ({"DEFAULT_LEVEL": "admin"}, "DEFAULT_LEVEL"),
        ({"SIGNUP_MODE": "maybe"}, "SIGNUP_MODE"),
        ({"SIGNUP_MODE": "domain"}, "SIGNUP_ALLOWED_DOMAINS"),
        ({"COOKIE_SAMESITE": "Sometimes"}, "COOKIE_SAMESITE"),
        ({"OIDC_PROVIDERS": "corp", "OIDC_CORP_CLIENT_ID": "id"}, "OIDC_CORP_CLIENT_SECRET"),
        ({"OIDC_PROVIDERS": "Corp/1"}, "not a lowercase name"),
        ({"OIDC_GOOGLE_CLIENT_ID": "id"}, "OIDC_GOOGLE_CLIENT_SECRET"),
        ({"OIDC_LEVEL_MAP": "staff=superuser"}, "OIDC_LEVEL_MAP"),
        ({"EMAIL_URL": ""}, "EMAIL_URL is empty"),
        ({"EMAIL_URL": "carrier-pigeon://coop"}, "email schema"),
        ({"DEFAULT_FROM_EMAIL": ""}, "DEFAULT_FROM_EMAIL"),
        ({"PUBLIC_URL": "rbas.example.com"}, "PUBLIC_URL"),
        ({"PUBLIC_URL": "javascript:alert(1)//"}, "PUBLIC_URL"),
        ({"INVITATION_DAYS": "0"}, "INVITATION_DAYS"),
    ],
)
def test_other_unsafe_settings_refuse_to_start(env, message):
    assert_refused(load_settings(SECRET_KEY="k" * 50, **env), message)


def test_origins_and_hosts_come_from_the_environment():
    result = load_settings(
        SECRET_KEY="k" * 50,
        ALLOWED_HOSTS="rbas.example",
        CSRF_TRUSTED_ORIGINS="https://app.example",
        CORS_ALLOWED_ORIGINS="https://app.example,https://other.example",
    )
    loaded = json.loads(result.stdout)
    assert loaded["HOSTS"] == ["rbas.example"]
    assert loaded["CSRF"] == ["https://app.example"]
    assert loaded["CORS"] == ["https://app.example", "https://other.example"]


def test_cors_allows_credentials_for_listed_origins(api_client, db, settings):
    settings.CORS_ALLOWED_ORIGINS = ["https://app.example"]
    allowed = api_client.options(
        "/api/auth/login/",
        HTTP_ORIGIN="https://app.example",
        HTTP_ACCESS_CONTROL_REQUEST_METHOD="POST",
    )
    assert allowed["Access-Control-Allow-Origin"] == "https://app.example"
    assert allowed["Access-Control-Allow-Credentials"] == "true"
    refused = api_client.options(
        "/api/auth/login/",
        HTTP_ORIGIN="https://evil.example",
        HTTP_ACCESS_CONTROL_REQUEST_METHOD="POST",
    )
    assert "Access-Control-Allow-Origin" not in refused


def probe(expression: str, **env: str):
    """The value of `expression` over the settings module `s`, loaded with `env`."""
    clean = {k: v for k, v in os.environ.items() if k in {"PATH", "HOME", "LANG"}}
    clean |= {"DJANGO_READ_DOT_ENV_FILE": "false", "SECRET_KEY": "k" * 50, **env}
    code = f"import json; from simple_rbas import settings as s; print(json.dumps({expression}))"
    result = subprocess.run(
        [sys.executable, "-c", code], cwd=ROOT, env=clean, capture_output=True, text=True
    )
    assert result.returncode == 0, result.stderr
    return json.loads(result.stdout)


def test_a_google_workspace_needs_three_variables():
    loaded = probe(
        "[s.OIDC_PROVIDERS, s.SIGNUP_MODE, s.SIGNUP_ALLOWED_DOMAINS]",
        OIDC_GOOGLE_CLIENT_ID="1234.apps.googleusercontent.com",
        OIDC_GOOGLE_CLIENT_SECRET="GOCSPX-secret",
        SIGNUP_ALLOWED_DOMAINS="Example.com",
    )
    assert loaded == [
        {
            "google": {
                "client_id": "1234.apps.googleusercontent.com",
                "client_secret": "GOCSPX-secret",
                "issuer": "https://accounts.google.com",
                "title": "Google",
                "scopes": "openid email profile",
            }
        },
        "domain",
        ["example.com"],
    ]


def test_any_provider_is_configured_by_its_name():
    providers = probe(
        "s.OIDC_PROVIDERS",
        OIDC_PROVIDERS="corp",
        OIDC_CORP_CLIENT_ID="rbas",
        OIDC_CORP_CLIENT_SECRET="secret",
        OIDC_CORP_ISSUER="https://login.corp.example/",
        OIDC_CORP_TITLE="Corp SSO",
    )
    assert providers == {
        "corp": {
            "client_id": "rbas",
            "client_secret": "secret",
            "issuer": "https://login.corp.example",
            "title": "Corp SSO",
            "scopes": "openid email profile",
        }
    }


def test_single_sign_on_is_off_and_signup_open_by_default():
    assert probe("[s.OIDC_PROVIDERS, s.SIGNUP_MODE]") == [{}, "open"]
    # As written in .env.example: empty values mean the defaults.
    assert probe("[s.OIDC_PROVIDERS, s.SIGNUP_MODE]", OIDC_PROVIDERS="", SIGNUP_MODE="") == [
        {},
        "open",
    ]


def test_the_level_map_keeps_its_order():
    level_map = probe("list(s.OIDC_LEVEL_MAP.items())", OIDC_LEVEL_MAP="b=admin,a=write")
    assert level_map == [["b", "admin"], ["a", "write"]]


def test_throttle_counts_are_shared_by_all_processes_by_default():
    probe = (
        "from simple_rbas import settings as s; c = s.CACHES['default']; "
        "print(c['BACKEND'], c['OPTIONS']['MAX_ENTRIES'])"
    )
    clean = {k: v for k, v in os.environ.items() if k in {"PATH", "HOME", "LANG"}}
    clean |= {"DJANGO_READ_DOT_ENV_FILE": "false", "SECRET_KEY": "k" * 50}
    result = subprocess.run(
        [sys.executable, "-c", probe], cwd=ROOT, env=clean, capture_output=True, text=True
    )
    assert result.returncode == 0, result.stderr
    # A table in the service's database: every gunicorn process (and pod) counts in it.
    # Far more entries than Django's 300, which a flood of made-up usernames overflowed.
    assert result.stdout.split() == ["django.core.cache.backends.db.DatabaseCache", "20000"]
