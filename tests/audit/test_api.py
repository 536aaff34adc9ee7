"""The audit API: owners only, read only, filters, cursor pages and a JSON-lines export."""

import json
from datetime import timedelta

import pytest
from django.utils import timezone

from audit import services as audit
from audit.models import AuditEvent
from users.roles import Level

LIST = "/api/audit/"
EXPORT = "/api/audit/export/"


@pytest.fixture
def owner_client(users, bearer_client):
    return bearer_client(users[Level.OWNER])


def events(*names: str, actor=None, at=None) -> list[AuditEvent]:
    """Record `names` in order; `at`: as if recorded back then (inserted so, never updated)."""
    made = []
    for index, name in enumerate(names):
        target = {"target_type": "thing", "target_id": str(index)}
        if at is None:
            made.append(audit.record(name, actor=actor, target=("thing", index, "a thing")))
        else:
            made.append(AuditEvent.objects.create(created_at=at, event=name, **target))
    return made


@pytest.mark.parametrize("level", [Level.ADMIN, Level.WRITE, Level.READ_ONLY, Level.INVESTOR])
@pytest.mark.parametrize("path", [LIST, EXPORT])
def test_only_owners_read_the_log(users, bearer_client, level, path):
    assert bearer_client(users[level]).get(path).status_code == 403


@pytest.mark.parametrize("path", [LIST, EXPORT])
def test_anonymous_callers_get_401(api_client, db, path):
    assert api_client.get(path).status_code == 401


@pytest.mark.parametrize("method", ["put", "patch", "delete", "post"])
@pytest.mark.parametrize("path", [LIST, EXPORT])
def test_nothing_in_the_api_edits_or_deletes_events(owner_client, method, path):
    events("auth.login")
    before = list(AuditEvent.objects.values())
    response = getattr(owner_client, method)(path, {"event": "x"}, format="json")
    assert response.status_code == 405
    assert list(AuditEvent.objects.values()) == before


def test_an_owner_lists_events_newest_first(owner_client, users):
    owner = users[Level.OWNER]
    events("auth.login", "auth.login_failed", actor=owner)
    body = owner_client.get(LIST).json()
    names = [row["event"] for row in body["results"]]
    # bearer_client signed the owner in: that is recorded too.
    assert names[:2] == ["auth.login_failed", "auth.login"]
    first = body["results"][0]
    assert first["actor"] == owner.pk and first["actor_username"] == owner.username
    assert first["target_type"] == "thing"


def test_filters_by_event_prefix_actor_target_and_time(owner_client, users):
    reader = users[Level.READ_ONLY]
    old = timezone.now() - timedelta(days=3)
    events("token.created", "token.revoked", actor=reader)
    events("secret.created", at=old)

    def names(**params):
        return sorted(row["event"] for row in owner_client.get(LIST, params).json()["results"])

    assert names(event="token.") == ["token.created", "token.revoked"]
    assert names(event="token.created") == ["token.created"]
    assert names(event="token") == []  # exact unless it ends in a dot
    assert names(actor=reader.pk) == ["token.created", "token.revoked"]
    assert names(target_type="thing", target_id="1") == ["token.revoked"]
    assert names(until=(old + timedelta(seconds=1)).isoformat()) == ["secret.created"]
    assert "secret.created" not in names(since=(old + timedelta(seconds=1)).isoformat())


@pytest.mark.parametrize(
    "params",
    [{"actor": "me"}, {"since": "yesterday"}, {"event": "DROP TABLE"}, {"cursor": "garbage"},
     {"actor": "99999999999999999999999"}, {"page": "2"}],
)  # fmt: skip
def test_bad_filters_are_400(owner_client, params):
    assert owner_client.get(LIST, params).status_code == 400
    if "cursor" not in params and "page" not in params:
        assert owner_client.get(EXPORT, params).status_code == 400


def test_the_cursor_walks_every_event_once_both_ways(owner_client):
    made = {str(event.id) for event in events(*["run.started"] * 7)}
    seen, url, pages = [], f"{LIST}?event=run.started&page_size=3", []
    while url:
        body = owner_client.get(url).json()
        pages.append(body)
        seen += [row["id"] for row in body["results"]]
        url = body["next"]
    assert len(seen) == len(set(seen)) == 7 and set(seen) == made
    assert [len(page["results"]) for page in pages] == [3, 3, 1]
    back = owner_client.get(pages[-1]["previous"]).json()
    assert back["results"] == pages[1]["results"]


def test_the_export_is_json_lines_oldest_first_with_the_filters(owner_client):
    events("user.activated", "user.deactivated", "auth.login_failed")
    response = owner_client.get(EXPORT, {"event": "user."})
    assert response.status_code == 200
    assert response["Content-Type"] == "application/x-ndjson"
    assert response.streaming
    lines = b"".join(response.streaming_content).decode().splitlines()
    rows = [json.loads(line) for line in lines]
    assert [row["event"] for row in rows] == ["user.activated", "user.deactivated"]
    assert set(rows[0]) >= {"id", "created_at", "actor", "target_type", "client_address", "data"}
