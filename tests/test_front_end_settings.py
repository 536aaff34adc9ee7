"""Settings of separate front ends: FRONTEND_ORIGINS, COOKIE_DOMAIN and CSRF_COOKIE_DOMAIN are
checked at start-up, and one FRONTEND_ORIGINS entry configures both CORS and CSRF."""

import json
import os
import re
import subprocess
import sys

import pytest

from tests.test_settings import ROOT, assert_refused

PROBE = (
    "import json; from simple_rbas import settings as s; "
    "print(json.dumps({'CORS': s.CORS_ALLOWED_ORIGINS, 'CSRF': s.CSRF_TRUSTED_ORIGINS, "
    "'FRONTEND_ORIGINS': s.FRONTEND_ORIGINS, 'COOKIE_DOMAIN': s.COOKIE_DOMAIN, "
    "'CSRF_COOKIE_DOMAIN': s.CSRF_COOKIE_DOMAIN}))"
)


def load(**env: str) -> subprocess.CompletedProcess:
    """Import the settings in a fresh interpreter with exactly `env` (and a secret key)."""
    clean = {k: v for k, v in os.environ.items() if k in {"PATH", "HOME", "LANG"}}
    clean |= {"DJANGO_READ_DOT_ENV_FILE": "false", "SECRET_KEY": "k" * 50, **env}
    return subprocess.run(
        [sys.executable, "-c", PROBE], cwd=ROOT, env=clean, capture_output=True, text=True
    )


def loaded(**env: str) -> dict:
    result = load(**env)
    assert result.returncode == 0, result.stderr
    return json.loads(result.stdout)


def test_nothing_is_shared_by_default():
    values = loaded()
    assert values["FRONTEND_ORIGINS"] == values["CORS"] == values["CSRF"] == []
    assert values["COOKIE_DOMAIN"] == ""
    assert values["CSRF_COOKIE_DOMAIN"] is None


def test_a_front_end_origin_is_trusted_for_cors_and_csrf_once():
    values = loaded(
        FRONTEND_ORIGINS="https://app.example.com,http://localhost:5173",
        CORS_ALLOWED_ORIGINS="https://app.example.com",
    )
    assert values["CORS"] == ["https://app.example.com", "http://localhost:5173"]
    assert values["CSRF"] == ["https://app.example.com", "http://localhost:5173"]


@pytest.mark.parametrize(
    "value",
    [
        "app.example.com",
        "https://app.example.com/",
        "https://app.example.com/app",
        "https://user@app.example.com",
        "ftp://app.example.com",
        "*",
        "https://*.example.com",
        "https://app.example.com?x=1",
        "https://app.example.com:99999",
    ],
)
def test_what_is_not_an_origin_refuses_to_start(value):
    assert_refused(load(FRONTEND_ORIGINS=value), "FRONTEND_ORIGINS")


@pytest.mark.parametrize(
    ("value", "canonical"),
    [
        ("https://App.Example.com", "https://app.example.com"),
        ("https://a.example:443", "https://a.example"),
    ],
)
def test_an_origin_not_written_as_browsers_send_it_is_refused_with_the_right_spelling(
    value, canonical
):
    assert_refused(
        load(FRONTEND_ORIGINS=value), f"write {value!r} as browsers send it: {canonical!r}"
    )


def test_the_cookie_domain_also_sets_the_csrf_cookie_domain():
    values = loaded(COOKIE_DOMAIN=".Example.com", ALLOWED_HOSTS="api.example.com")
    assert values["COOKIE_DOMAIN"] == values["CSRF_COOKIE_DOMAIN"] == "example.com"


def test_the_csrf_cookie_domain_may_differ():
    values = loaded(
        COOKIE_DOMAIN="example.com",
        CSRF_COOKIE_DOMAIN="api.example.com",
        ALLOWED_HOSTS="api.example.com",
    )
    assert values["CSRF_COOKIE_DOMAIN"] == "api.example.com"


@pytest.mark.parametrize(
    "domain",
    ["com", "localhost", "127.0.0.1", "https://example.com", "example.com:8000", "-x.example.com"],
)
def test_a_domain_browsers_refuse_for_cookies_refuses_to_start(domain):
    assert_refused(load(COOKIE_DOMAIN=domain, ALLOWED_HOSTS="*"), "COOKIE_DOMAIN")


def test_a_cookie_domain_that_covers_no_allowed_host_refuses_to_start():
    result = load(COOKIE_DOMAIN="example.com", ALLOWED_HOSTS="rbas.example.org,localhost")
    assert_refused(result, "COOKIE_DOMAIN=example.com covers none of ALLOWED_HOSTS")


def test_a_csrf_cookie_domain_that_covers_no_allowed_host_refuses_to_start():
    result = load(CSRF_COOKIE_DOMAIN="example.org", ALLOWED_HOSTS="api.example.com")
    assert_refused(result, "CSRF_COOKIE_DOMAIN=example.org covers none of ALLOWED_HOSTS")


def test_the_settings_shown_in_the_front_ends_page_start():
    page = (ROOT / "docs/front-ends.md").read_text()
    # Fenced blocks with no language: the settings of each setup.
    blocks = re.findall(r"^```(\w*)\n(.*?)^```$", page, re.DOTALL | re.MULTILINE)
    blocks = [text for language, text in blocks if not language]
    assert len(blocks) == 2
    for block in blocks:
        env = dict(line.split("=", 1) for line in block.strip().splitlines())
        assert "FRONTEND_ORIGINS" in env
        assert loaded(**env)["FRONTEND_ORIGINS"] == [env["FRONTEND_ORIGINS"]]
