"""Production settings: `check --deploy` is clean, HTTPS is enforced behind the proxy."""

import base64
import os
import secrets
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def manage(*args: str, **env: str) -> subprocess.CompletedProcess:
    base = {k: os.environ[k] for k in ("PATH", "HOME", "LANG") if k in os.environ}
    return subprocess.run(
        [sys.executable, "manage.py", *args],
        cwd=ROOT,
        env={**base, "DJANGO_READ_DOT_ENV_FILE": "false", **env},
        capture_output=True,
        text=True,
    )


def test_check_deploy_has_no_warnings_with_production_settings():
    result = manage(
        "check", "--deploy", "--fail-level", "WARNING",
        DEBUG="false", COOKIE_SECURE="true", SECRET_KEY=secrets.token_urlsafe(50),
        ALLOWED_HOSTS="rbas.example.com", PUBLIC_URL="https://rbas.example.com",
        EMAIL_URL="smtp+tls://rbas:secret@mail.example.com:587",
        SECRETS_ENCRYPTION_KEYS=base64.urlsafe_b64encode(secrets.token_bytes(32)).decode(),
        OIDC_RSA_PRIVATE_KEY=rsa_pem(),
    )  # fmt: skip
    assert result.returncode == 0, result.stdout + result.stderr
    assert "no issues" in result.stdout


def rsa_pem() -> str:
    from cryptography.hazmat.primitives import serialization
    from cryptography.hazmat.primitives.asymmetric import rsa

    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    return key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    ).decode()


def test_check_deploy_warns_when_id_tokens_are_signed_with_a_generated_key(tmp_path):
    key_file = tmp_path / "key.pem"
    result = manage(
        "check", "--deploy",
        DEBUG="false", COOKIE_SECURE="true", SECRET_KEY=secrets.token_urlsafe(50),
        ALLOWED_HOSTS="rbas.example.com", OIDC_RSA_PRIVATE_KEY_FILE=str(key_file),
    )  # fmt: skip
    output = result.stdout + result.stderr
    assert "provider.W001" in output and "OIDC_RSA_PRIVATE_KEY is not set" in output
    # Made on first use, not when settings load: `collectstatic` at image build bakes none in.
    assert not key_file.exists()


def test_check_deploy_warns_when_emails_would_not_reach_anyone():
    """The defaults of `make run` (links printed in the log, pointing at 127.0.0.1) are no
    production setup: the checks say so, naming the settings."""
    result = manage(
        "check", "--deploy",
        DEBUG="false", COOKIE_SECURE="true", SECRET_KEY=secrets.token_urlsafe(50),
        ALLOWED_HOSTS="rbas.example.com",
    )  # fmt: skip
    output = result.stdout + result.stderr
    assert "users.W001" in output and "EMAIL_URL" in output
    assert "users.W002" in output and "PUBLIC_URL=http://127.0.0.1:8000" in output


def test_check_deploy_does_warn_on_a_plain_http_setup():
    result = manage(
        "check", "--deploy", "--fail-level", "WARNING",
        DEBUG="false", SECRET_KEY=secrets.token_urlsafe(50),
    )  # fmt: skip
    assert result.returncode != 0
    assert "SECURE_HSTS_SECONDS" in result.stderr + result.stdout


def test_production_settings_refuse_to_start_without_a_secret_key():
    result = manage("check", DEBUG="false", COOKIE_SECURE="true")
    assert result.returncode != 0
    assert "SECRET_KEY is not set" in result.stderr


def test_plain_http_is_redirected_and_proxied_https_served(client, db, settings):
    settings.SECURE_SSL_REDIRECT = True
    settings.SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
    plain = client.get("/api/scripts/")
    assert plain.status_code == 301
    assert plain["Location"] == "https://testserver/api/scripts/"
    proxied = client.get("/api/scripts/", HTTP_X_FORWARDED_PROTO="https")
    assert proxied.status_code == 401  # served (and refused for want of a token)
    # Probes call the pod directly over plain HTTP.
    assert client.get("/healthz").status_code == 200
    assert client.get("/readyz").status_code == 200
