"""The run list's cursor pagination: order, ties, filters, page size, bad cursors, privacy."""

import base64
import uuid
from datetime import UTC, datetime, timedelta

import pytest

from scripts_api.models import Run, RunStatus, Script
from users.roles import Level

T0 = datetime(2026, 1, 1, tzinfo=UTC)


def make_runs(user, count: int, *, slug="hello", status=RunStatus.SUCCEEDED, at=None):
    """`count` runs of `user`, one a second from T0 (or all at `at`: ties on created_at)."""
    script = Script.objects.get(slug=slug)
    runs = [
        Run(
            script=script,
            user=user,
            status=status,
            created_at=at or T0 + timedelta(seconds=i, microseconds=7),
        )
        for i in range(count)
    ]
    Run.objects.bulk_create(runs)
    return runs


def walk(client, url: str, link: str = "next") -> list[list[str]]:
    """The ids of every page, following `link` from `url` to the end."""
    pages = []
    while url:
        response = client.get(url)
        assert response.status_code == 200, response.content
        body = response.json()
        assert "count" not in body and set(body) == {"next", "previous", "results"}
        pages.append([run["id"] for run in body["results"]])
        url = body[link]
    return pages


def flat(pages: list[list[str]]) -> list[str]:
    return [run_id for page in pages for run_id in page]


def listed(client, url: str) -> list[str]:
    """The ids of every run listed from `url` on, page after page."""
    return flat(walk(client, url))


def expected_order(runs) -> list[str]:
    """Newest first, ties by id (as the database orders them)."""
    ids = Run.objects.filter(pk__in=[r.pk for r in runs]).order_by("-created_at", "-id")
    return [str(pk) for pk in ids.values_list("pk", flat=True)]


def test_pages_follow_each_other_newest_first_and_back(catalog, users, bearer_client):
    owner = users[Level.WRITE]
    runs = make_runs(owner, 45)
    client = bearer_client(owner)
    pages = walk(client, "/api/runs/?page_size=20")
    assert [len(page) for page in pages] == [20, 20, 5]
    assert flat(pages) == expected_order(runs)
    first = client.get("/api/runs/?page_size=20").json()
    assert first["previous"] is None
    last = client.get(client.get(first["next"]).json()["next"]).json()
    assert last["next"] is None
    # Back from the last page: the same pages, in reverse, ending at the first (no previous).
    back = walk(client, last["previous"], link="previous")
    assert back == pages[1::-1]


def test_ties_on_created_at_are_neither_skipped_nor_repeated(catalog, users, bearer_client):
    owner = users[Level.WRITE]
    runs = make_runs(owner, 25, at=T0) + make_runs(owner, 3, at=T0 + timedelta(seconds=1))
    client = bearer_client(owner)
    pages = walk(client, "/api/runs/?page_size=4")
    assert flat(pages) == expected_order(runs)
    assert len(set(flat(pages))) == 28
    last = client.get("/api/runs/?page_size=4")
    for _ in range(len(pages) - 1):
        last = client.get(last.json()["next"])
    assert walk(client, last.json()["previous"], link="previous") == pages[-2::-1]


def test_filters_apply_on_every_page(catalog, users, bearer_client):
    owner, other = users[Level.OWNER], users[Level.WRITE]
    hello = make_runs(owner, 7)
    make_runs(owner, 5, slug="sleepy")
    queued = make_runs(owner, 4, slug="sleepy", status=RunStatus.QUEUED)
    theirs = make_runs(other, 6)
    client = bearer_client(users[Level.ADMIN])
    assert listed(client, "/api/runs/?script=hello&page_size=2") == expected_order(hello + theirs)
    assert listed(client, "/api/runs/?status=queued&page_size=3") == expected_order(queued)
    assert listed(client, f"/api/runs/?user={other.pk}&page_size=4") == expected_order(theirs)
    assert len(listed(client, "/api/runs/?page_size=5")) == 22
    make_runs(other, 2, slug="sleepy")
    mine = bearer_client(other)  # not an admin: only their own
    assert listed(mine, "/api/runs/?script=hello&page_size=3") == expected_order(theirs)


def test_page_size_is_capped_at_100(catalog, users, bearer_client):
    owner = users[Level.WRITE]
    make_runs(owner, 130)
    client = bearer_client(owner)
    assert len(client.get("/api/runs/?page_size=1000").json()["results"]) == 100
    assert len(client.get("/api/runs/").json()["results"]) == 20  # the default


@pytest.mark.parametrize(
    "cursor",
    [
        "not-base64!",
        base64.urlsafe_b64encode(b"garbage").decode(),
        base64.urlsafe_b64encode(b"x|1|" + str(uuid.uuid4()).encode()).decode(),
        base64.urlsafe_b64encode(b"n|abc|" + str(uuid.uuid4()).encode()).decode(),
        base64.urlsafe_b64encode(b"n|1|not-a-uuid").decode(),
        base64.urlsafe_b64encode(
            b"n|" + str(10**30).encode() + b"|" + str(uuid.uuid4()).encode()
        ).decode(),
        "%00",
    ],
)
def test_a_bad_cursor_is_a_400(catalog, users, bearer_client, cursor):
    response = bearer_client(users[Level.WRITE]).get(f"/api/runs/?cursor={cursor}")
    assert response.status_code == 400
    assert "cursor" in response.json()


def test_page_numbers_are_refused_with_a_pointer_to_next(catalog, users, bearer_client):
    response = bearer_client(users[Level.WRITE]).get("/api/runs/?page=2")
    assert response.status_code == 400
    assert "next" in response.json()["page"][0]


def test_a_crafted_cursor_shows_no_one_elses_runs(catalog, users, bearer_client):
    owner, stranger = users[Level.WRITE], users[Level.READ_ONLY]
    theirs = make_runs(owner, 5)
    make_runs(stranger, 2, at=T0 - timedelta(days=1))
    client = bearer_client(stranger)
    # A cursor naming one of the owner's runs, in both directions, and one far in the future.
    for run in theirs:
        micros = (run.created_at - datetime.fromtimestamp(0, UTC)) // timedelta(microseconds=1)
        for direction in ("n", "p"):
            text = f"{direction}|{micros}|{run.pk}".encode()
            cursor = base64.urlsafe_b64encode(text).decode()
            for url in (
                f"/api/runs/?cursor={cursor}",
                f"/api/runs/?cursor={cursor}&user={owner.pk}",
            ):
                ids = {r["id"] for r in client.get(url).json()["results"]}
                assert not ids & {str(r.pk) for r in theirs}
    far = base64.urlsafe_b64encode(f"n|{4 * 10**15}|{uuid.uuid4()}".encode()).decode()
    results = client.get(f"/api/runs/?cursor={far}").json()["results"]
    assert {r["user"] for r in results} == {stranger.pk}
