"""What a script produces that no database stores as text (NUL, lone surrogates): the run ends
at once, saying why, instead of hanging `running` until its lease expires."""

import textwrap

import pytest

from scripts_api.execution import run_execute
from scripts_api.services import scripts_sync
from users.roles import Level


@pytest.fixture
def script(catalog):
    def write(name: str, body: str) -> str:
        source = f'"""{name}"""\nPOLICY = "authenticated"\n' + textwrap.dedent(body)
        (catalog / f"{name}.py").write_text(source)
        scripts_sync()
        return name.replace("_", "-")

    return write


@pytest.mark.parametrize("value", ["'a\\x00b'", "'lone \\ud800'", "{'k\\x00': 1}", "[['x\\x00']]"])
def test_a_result_no_database_stores_fails_the_run_at_once_saying_why(
    script, users, bearer_client, value
):
    slug = script("unstorable", f"def main():\n    return {value}\n")
    client = bearer_client(users[Level.READ_ONLY])
    run_id = client.post(f"/api/scripts/{slug}/runs/", {}, format="json").json()["id"]
    assert run_execute(run_id=run_id) == "failed"
    run = client.get(f"/api/runs/{run_id}/").json()
    assert run["status"] == "failed"
    assert run["error"] == (
        "The result holds text no database can store (a NUL or a lone surrogate)."
    )
    assert run["result"] is None


def test_printed_nul_characters_are_kept_as_replacement_characters(script, users, bearer_client):
    slug = script("printer", "def main():\n    print('a\\x00b')\n    return 'done'\n")
    client = bearer_client(users[Level.READ_ONLY])
    run_id = client.post(f"/api/scripts/{slug}/runs/", {}, format="json").json()["id"]
    assert run_execute(run_id=run_id) == "succeeded"
    run = client.get(f"/api/runs/{run_id}/").json()
    assert (run["result"], run["stdout"]) == ("done", "a\ufffdb\n")
