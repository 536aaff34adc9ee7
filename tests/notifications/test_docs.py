"""The receiver's check in docs/notifications.md works as written, on a real webhook."""

import importlib.util
import re
import time
from pathlib import Path

import pytest

from users.roles import Level

PAGE = (Path(__file__).resolve().parent.parent.parent / "docs/notifications.md").read_text()


def test_the_documented_check_accepts_a_real_webhook_and_refuses_forgeries_and_replays(
    users,
    bearer_client,
    finish_run,
    run_queued_tasks,
    local_webhooks,
    receivers,
    monkeypatch,
    tmp_path,
):
    (tmp_path / "receiver_check.py").write_text(re.search(r"```python\n(.*?)```", PAGE, re.S)[1])
    spec = importlib.util.spec_from_file_location("receiver_check", tmp_path / "receiver_check.py")
    check = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(check)
    verify = check.verify
    receiver = receivers()
    user = users[Level.WRITE]
    created = bearer_client(user).post(
        "/api/notifications/subscriptions/",
        {"script": "hello", "on": "finish", "channel": "webhook", "url": receiver.url},
        format="json",
    )
    secret = created.json()["secret"]
    run = finish_run(user)
    run_queued_tasks()
    request = receiver.wait_for()
    signature = request.headers["x-rbas-signature"]
    assert verify(secret, request.body, signature)["run"]["id"] == str(run.pk)
    with pytest.raises(ValueError, match="bad signature"):
        verify("a guessed secret", request.body, signature)
    with pytest.raises(ValueError, match="bad signature"):
        verify(secret, request.body.replace(b"failed", b"succeeded"), signature)
    later = time.time() + 3600
    monkeypatch.setattr(check.time, "time", lambda: later)
    with pytest.raises(ValueError, match="too old"):
        verify(secret, request.body, signature)
