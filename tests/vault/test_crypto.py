"""Values at rest: encrypted in the database, rotated to a new key, refused clearly when no
key opens them."""

import os
import subprocess
import sys
from pathlib import Path

import pytest
from cryptography.fernet import Fernet
from django.core.management import call_command
from django.core.management.base import CommandError
from django.db import connection

from users.roles import Level
from vault import crypto, services
from vault.models import Secret

ROOT = Path(__file__).resolve().parent.parent.parent
VALUE = "plain-text-value-9d2e"


def raw_column(name: str) -> str:
    with connection.cursor() as cursor:
        cursor.execute("SELECT encrypted_value FROM vault_secret WHERE name = %s", [name])
        return cursor.fetchone()[0]


@pytest.fixture
def owner(users):
    return users[Level.OWNER]


def test_the_database_column_holds_a_fernet_token_not_the_value(owner, settings):
    key = Fernet.generate_key()
    settings.SECRETS_ENCRYPTION_KEYS = [key.decode()]
    services.secret_create(actor=owner, name="CRM_TOKEN", value=VALUE)
    stored = raw_column("CRM_TOKEN")
    assert VALUE not in stored
    assert Fernet(key).decrypt(stored.encode()).decode() == VALUE


def test_without_keys_the_key_is_derived_from_secret_key(owner, settings):
    settings.SECRETS_ENCRYPTION_KEYS = []
    services.secret_create(actor=owner, name="CRM_TOKEN", value=VALUE)
    derived = crypto.derived_key(settings.SECRET_KEY)
    assert Fernet(derived).decrypt(raw_column("CRM_TOKEN").encode()).decode() == VALUE
    assert derived != crypto.derived_key(settings.SECRET_KEY + "x")


def test_rotation_re_encrypts_every_value_with_the_first_key(owner, settings):
    old, new = Fernet.generate_key().decode(), Fernet.generate_key().decode()
    settings.SECRETS_ENCRYPTION_KEYS = [old]
    services.secret_create(actor=owner, name="CRM_TOKEN", value=VALUE)
    services.secret_create(actor=owner, name="ERP_TOKEN", value="other")
    settings.SECRETS_ENCRYPTION_KEYS = [new, old]
    call_command("rotate_secrets", stdout=open(os.devnull, "w"))  # noqa: SIM115
    settings.SECRETS_ENCRYPTION_KEYS = [new]  # the old key dropped
    values = services.secrets_for_run(user=owner, names=["CRM_TOKEN", "ERP_TOKEN"])
    assert values == {"CRM_TOKEN": VALUE, "ERP_TOKEN": "other"}
    assert Fernet(new.encode()).decrypt(raw_column("CRM_TOKEN").encode()).decode() == VALUE


def test_rotation_names_the_secrets_no_key_opens_and_rotates_the_others(owner, settings):
    lost, kept = Fernet.generate_key().decode(), Fernet.generate_key().decode()
    settings.SECRETS_ENCRYPTION_KEYS = [lost]
    services.secret_create(actor=owner, name="LOST_TOKEN", value=VALUE)
    settings.SECRETS_ENCRYPTION_KEYS = [kept]
    services.secret_create(actor=owner, name="KEPT_TOKEN", value="kept")
    with pytest.raises(CommandError, match="LOST_TOKEN") as raised:
        call_command("rotate_secrets", stdout=open(os.devnull, "w"))  # noqa: SIM115
    assert VALUE not in str(raised.value)
    assert services.secrets_for_run(user=owner, names=["KEPT_TOKEN"]) == {"KEPT_TOKEN": "kept"}


def test_a_value_no_key_opens_is_a_clear_error_naming_the_secret_not_the_value(owner, settings):
    settings.SECRETS_ENCRYPTION_KEYS = [Fernet.generate_key().decode()]
    services.secret_create(actor=owner, name="CRM_TOKEN", value=VALUE)
    settings.SECRETS_ENCRYPTION_KEYS = [Fernet.generate_key().decode()]
    with pytest.raises(services.SecretUnavailable, match="CRM_TOKEN cannot be decrypted") as e:
        services.secrets_for_run(user=owner, names=["CRM_TOKEN"])
    assert VALUE not in str(e.value)


def test_a_tampered_token_is_refused_like_a_wrong_key(owner, settings):
    settings.SECRETS_ENCRYPTION_KEYS = [Fernet.generate_key().decode()]
    secret = services.secret_create(actor=owner, name="CRM_TOKEN", value=VALUE)
    Secret.objects.filter(pk=secret.pk).update(encrypted_value="gAAAAAnot-a-token")
    with pytest.raises(services.SecretUnavailable, match="CRM_TOKEN"):
        services.secrets_for_run(user=owner, names=["CRM_TOKEN"])


def manage(*args: str, **env: str) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "manage.py", *args],
        cwd=ROOT,
        env={"PATH": os.environ["PATH"], "DJANGO_READ_DOT_ENV_FILE": "false", **env},
        capture_output=True,
        text=True,
    )


def test_a_key_that_is_not_a_fernet_key_stops_start_up_without_echoing_it():
    result = manage("check", SECRET_KEY="x" * 50, SECRETS_ENCRYPTION_KEYS="not-a-real-key-123")
    assert result.returncode != 0
    assert "SECRETS_ENCRYPTION_KEYS holds a value that is not a Fernet key" in result.stderr
    assert "not-a-real-key-123" not in result.stderr


def test_check_deploy_warns_when_the_key_is_derived_from_secret_key():
    result = manage("check", "--deploy", SECRET_KEY="x" * 50)
    assert "vault.W001" in result.stdout + result.stderr
    key = Fernet.generate_key().decode()
    result = manage("check", "--deploy", SECRET_KEY="x" * 50, SECRETS_ENCRYPTION_KEYS=key)
    assert "vault.W001" not in result.stdout + result.stderr


def test_new_key_prints_a_usable_key():
    result = manage("rotate_secrets", "--new-key", SECRET_KEY="x" * 50)
    assert result.returncode == 0, result.stderr
    Fernet(result.stdout.strip().encode())


def test_from_derived_moves_values_off_the_key_derived_from_secret_key(owner, settings):
    settings.SECRETS_ENCRYPTION_KEYS = []
    services.secret_create(actor=owner, name="CRM_TOKEN", value=VALUE)
    new = Fernet.generate_key().decode()
    settings.SECRETS_ENCRYPTION_KEYS = [new]
    with pytest.raises(CommandError, match="CRM_TOKEN"):
        call_command("rotate_secrets", stdout=open(os.devnull, "w"))  # noqa: SIM115
    call_command("rotate_secrets", "--from-derived", stdout=open(os.devnull, "w"))  # noqa: SIM115
    settings.SECRET_KEY = "a-new-secret-key"  # the derived key changes: nothing depends on it
    assert services.secrets_for_run(user=owner, names=["CRM_TOKEN"]) == {"CRM_TOKEN": VALUE}
