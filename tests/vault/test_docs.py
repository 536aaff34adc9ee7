"""The examples of docs/secrets.md work as written."""

import json
import re
import textwrap
from pathlib import Path

from scripts_api.services import scripts_sync
from users.roles import Level

PAGE = (Path(__file__).resolve().parent.parent.parent / "docs/secrets.md").read_text()


def test_the_example_script_receives_its_secret_and_prints_it_masked(
    catalog, users, bearer_client, run_queued_tasks
):
    script = textwrap.dedent(re.search(r"```python\n(.*?)```", PAGE, re.S).group(1))
    (catalog / "count_contacts.py").write_text(script)
    assert not scripts_sync().rejected
    bodies = [json.loads(body) for body in re.findall(r"-d '(\{.*?\})'", PAGE)]
    owner = bearer_client(users[Level.OWNER])
    created = owner.post("/api/secrets/", bodies[0], format="json")
    assert created.status_code == 201, created.json()
    assert created.json()["declared_by"] == ["count-contacts"]

    writer = bearer_client(users[Level.WRITE])
    run_id = writer.post("/api/scripts/count-contacts/runs/").json()["id"]
    run_queued_tasks()
    run = writer.get(f"/api/runs/{run_id}/").json()
    assert run["status"] == "succeeded", run
    assert run["result"] == {"token_length": len("tok_live_123")}
    assert run["stdout"] == "calling the CRM with [secret CRM_TOKEN]\n"

    assert owner.patch("/api/secrets/CRM_TOKEN/", bodies[1], format="json").status_code == 200
    assert owner.delete("/api/secrets/CRM_TOKEN/").status_code == 204
