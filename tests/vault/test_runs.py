"""Secrets reach the runs of the scripts that declare them, through real `db_worker` processes,
and nothing a run leaves behind (output, error, result, logs) holds their values."""

import logging
import textwrap
import time

import pytest
from cryptography.fernet import Fernet

from scripts_api.models import Run
from scripts_api.services import scripts_sync
from tests.conftest import wait_for
from users.roles import Level
from vault import services
from vault.models import Secret

KEY = Fernet.generate_key().decode()
VALUE = "s3cr3t-crm-token-7f1c9a"
OTHER = "another-value-for-the-erp-42"

LEAKY = '''
    """Leak a secret

    Prints it, writes it to stderr, returns it, and raises with it when asked.
    """
    import os
    import sys

    POLICY = "authenticated"
    SECRETS = ["CRM_TOKEN"]

    def main(fail: bool = False):
        token = os.environ["CRM_TOKEN"]
        print("the token is", token)
        print("stderr has", token, file=sys.stderr)
        if fail:
            raise RuntimeError(f"could not log in with {token}")
        return {"token": token, token: [token, f"x{token}x"], "erp": "ERP_TOKEN" in os.environ}
'''

NOSY = '''
    """Look for secrets

    Declares none, so sees none.
    """
    import os

    POLICY = "authenticated"

    def main():
        return sorted(os.environ)
'''


@pytest.fixture
def vault_catalog(catalog, settings, users):
    """The catalog plus a script declaring CRM_TOKEN and one declaring nothing; the secrets
    CRM_TOKEN (policy `authenticated`) and ERP_TOKEN, under one key shared with the workers."""
    settings.SECRETS_ENCRYPTION_KEYS = [KEY]
    (catalog / "leaky.py").write_text(textwrap.dedent(LEAKY))
    (catalog / "nosy.py").write_text(textwrap.dedent(NOSY))
    report = scripts_sync()
    assert not report.rejected, report.rejected
    owner = users[Level.OWNER]
    services.secret_create(actor=owner, name="CRM_TOKEN", value=VALUE, policy="authenticated")
    services.secret_create(actor=owner, name="ERP_TOKEN", value=OTHER)
    return catalog


def test_a_declared_secret_reaches_the_script_and_is_masked_everywhere_it_ends_up(
    vault_catalog, users, bearer_client, start_worker, caplog
):
    caplog.set_level(logging.DEBUG)
    worker = start_worker(SECRETS_ENCRYPTION_KEYS=KEY)
    client = bearer_client(users[Level.READ_ONLY])

    ok = client.post("/api/scripts/leaky/runs/?wait=20", {}, format="json")
    failed = client.post("/api/scripts/leaky/runs/?wait=20", {"params": {"fail": True}}, "json")

    assert ok.status_code == 200, ok.json()
    run = ok.json()
    assert run["status"] == "succeeded", run
    # The script saw the value (it built these from os.environ), and not the undeclared one.
    assert run["result"] == {
        "token": "[secret CRM_TOKEN]",
        "[secret CRM_TOKEN]": ["[secret CRM_TOKEN]", "x[secret CRM_TOKEN]x"],
        "erp": False,
    }
    assert run["stdout"] == "the token is [secret CRM_TOKEN]\n"
    assert "stderr has [secret CRM_TOKEN]" in run["stderr"]
    run = failed.json()
    assert run["status"] == "failed"
    assert run["error"] == "RuntimeError: could not log in with [secret CRM_TOKEN]"
    assert "could not log in with [secret CRM_TOKEN]" in run["stderr"]
    for stored in Run.objects.all():
        record = repr([stored.result, stored.stdout, stored.stderr, stored.error, stored.params])
        assert VALUE not in record
    assert VALUE not in worker.log_path.read_text()
    assert VALUE not in caplog.text
    assert VALUE not in ok.content.decode() + failed.content.decode()


def test_a_script_that_declares_no_secret_sees_none(
    vault_catalog, users, bearer_client, start_worker
):
    start_worker(SECRETS_ENCRYPTION_KEYS=KEY)
    run = bearer_client(users[Level.OWNER]).post("/api/scripts/nosy/runs/?wait=20").json()
    assert run["status"] == "succeeded", run
    assert "CRM_TOKEN" not in run["result"] and "ERP_TOKEN" not in run["result"]
    assert set(run["result"]) <= {"PATH", "LANG", "HOME", "TMPDIR", "RBAS_OUTPUT_DIR", "PWD"}


def test_a_read_only_user_cannot_run_a_script_reading_an_admin_secret(
    vault_catalog, users, bearer_client
):
    Secret.objects.filter(name="CRM_TOKEN").update(policy="admin")
    response = bearer_client(users[Level.READ_ONLY]).post("/api/scripts/leaky/runs/")
    assert response.status_code == 403
    assert "CRM_TOKEN" in response.json()["detail"]
    assert "admin" in response.json()["detail"]
    assert not Run.objects.exists()


def test_a_run_queued_before_its_secret_was_restricted_fails_instead_of_receiving_it(
    vault_catalog, users, bearer_client, start_worker
):
    client = bearer_client(users[Level.READ_ONLY])
    run_id = client.post("/api/scripts/leaky/runs/").json()["id"]
    Secret.objects.filter(name="CRM_TOKEN").update(policy="owner")
    start_worker(SECRETS_ENCRYPTION_KEYS=KEY)
    run = client.get(f"/api/runs/{run_id}/?wait=20").json()
    assert run["status"] == "failed"
    assert "CRM_TOKEN" in run["error"] and "'owner' policy" in run["error"]
    assert run["stdout"] == ""


def test_a_secret_no_key_decrypts_fails_the_run_with_a_clear_error(
    vault_catalog, users, bearer_client, start_worker
):
    worker = start_worker(SECRETS_ENCRYPTION_KEYS=Fernet.generate_key().decode())
    client = bearer_client(users[Level.READ_ONLY])
    response = client.post("/api/scripts/leaky/runs/?wait=20")
    run = response.json()
    assert response.status_code == 200 and run["status"] == "failed", run
    assert "CRM_TOKEN cannot be decrypted" in run["error"]
    assert "SECRETS_ENCRYPTION_KEYS" in run["error"]
    wait_for(lambda: worker.log_path.exists())
    assert VALUE not in worker.log_path.read_text()


def test_a_missing_declared_secret_refuses_the_run_with_409(vault_catalog, users, bearer_client):
    Secret.objects.filter(name="CRM_TOKEN").delete()
    response = bearer_client(users[Level.OWNER]).post("/api/scripts/leaky/runs/")
    assert response.status_code == 409
    assert "CRM_TOKEN" in response.json()["detail"]
    assert not Run.objects.exists()


def test_the_script_shows_the_names_it_declares_and_the_secret_the_scripts_declaring_it(
    vault_catalog, users, bearer_client
):
    client = bearer_client(users[Level.OWNER])
    assert client.get("/api/scripts/leaky/").json()["secrets"] == ["CRM_TOKEN"]
    assert client.get("/api/scripts/nosy/").json()["secrets"] == []
    assert client.get("/api/secrets/CRM_TOKEN/").json()["declared_by"] == ["leaky"]
    listed = {s["name"]: s["declared_by"] for s in client.get("/api/secrets/").json()["results"]}
    assert listed == {"CRM_TOKEN": ["leaky"], "ERP_TOKEN": []}


HOLDER = '''
    """Hold a secret

    Keeps CRM_TOKEN in its environment for a few seconds.
    """
    import time

    POLICY = "authenticated"
    SECRETS = ["CRM_TOKEN"]

    def main():
        time.sleep(4)
        return "done"
'''

SNOOP = '''
    """Snoop

    Looks for other runs' environments in /proc while they run.
    """
    import os
    import time

    POLICY = "authenticated"

    def main(value: str):
        found, readable = [], 0
        deadline = time.monotonic() + 3
        while time.monotonic() < deadline:
            try:
                pids = [p for p in os.listdir("/proc") if p.isdigit()]
            except OSError:
                pids = []
            for pid in pids:
                try:
                    with open(f"/proc/{pid}/environ", "rb") as handle:
                        data = handle.read()
                except OSError:
                    continue
                readable += 1
                if value.encode() in data:
                    found.append(pid)
            time.sleep(0.05)
        return {"found": found, "readable": readable}
'''


def test_another_run_cannot_read_a_running_secret_from_proc(
    vault_catalog, users, bearer_client, start_worker
):
    from scripts_api import landlock

    if not landlock.abi_version():
        pytest.skip("without Landlock, runs of one uid can read each other's /proc/<pid>/environ")
    (vault_catalog / "holder.py").write_text(textwrap.dedent(HOLDER))
    (vault_catalog / "snoop.py").write_text(textwrap.dedent(SNOOP))
    assert not scripts_sync().rejected
    start_worker(SECRETS_ENCRYPTION_KEYS=KEY)
    start_worker(SECRETS_ENCRYPTION_KEYS=KEY)
    client = bearer_client(users[Level.READ_ONLY])
    holder = client.post("/api/scripts/holder/runs/").json()["id"]
    wait_for(lambda: Run.objects.get(pk=holder).status == "running")
    # The attacker knows the value here only so that the test can look for it.
    snoop = client.post("/api/scripts/snoop/runs/?wait=20", {"params": {"value": VALUE}}, "json")
    run = snoop.json()
    assert run["status"] == "succeeded", run
    assert run["result"]["found"] == [], run["result"]
    assert client.get(f"/api/runs/{holder}/?wait=20").json()["status"] == "succeeded"


SLOW_LEAK = '''
    """Leak a secret slowly

    Prints the secret's first half, waits, then the rest; reports progress with it too.
    """
    import os
    import sys
    import time

    import rbas

    POLICY = "authenticated"
    SECRETS = ["CRM_TOKEN"]

    def main():
        token = os.environ["CRM_TOKEN"]
        half = len(token) // 2
        print("token:", token, flush=True)
        rbas.progress(0.5, f"using {token}")
        sys.stdout.write(token[:half])
        sys.stdout.flush()
        time.sleep(3)
        print(token[half:], "done")
'''


def test_live_output_masks_a_secret_even_when_it_is_printed_in_two_writes(
    vault_catalog, users, bearer_client, start_worker
):
    (vault_catalog / "slow_leak.py").write_text(textwrap.dedent(SLOW_LEAK))
    scripts_sync()
    start_worker(SECRETS_ENCRYPTION_KEYS=KEY)
    client = bearer_client(users[Level.READ_ONLY])
    run_id = client.post("/api/scripts/slow-leak/runs/", {}, format="json").json()["id"]

    def progressed():
        body = client.get(f"/api/runs/{run_id}/").json()
        return body if body["progress_message"] else None

    assert wait_for(progressed, timeout=15)["progress_message"] == "using [secret CRM_TOKEN]"
    time.sleep(1.5)  # the first half is written; the live store runs twice a second
    body = client.get(f"/api/runs/{run_id}/").json()
    assert body["status"] == "running"
    # The first half could be a secret's start: the record holds it back until it is whole.
    assert body["stdout"] == "token: [secret CRM_TOKEN]\n"
    output = client.get(f"/api/runs/{run_id}/output/?stdout_after=0").json()
    assert output["stdout"] == "token: [secret CRM_TOKEN]\n"

    finished = client.get(f"/api/runs/{run_id}/?wait=15").json()
    assert finished["status"] == "succeeded", finished
    assert finished["stdout"] == "token: [secret CRM_TOKEN]\n[secret CRM_TOKEN] done\n"
    assert finished["progress_message"] == "using [secret CRM_TOKEN]"
