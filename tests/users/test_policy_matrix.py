"""Every level against every policy, through the tutorial's routes and /api/access/<policy>/."""

import pytest
from django.core.management import call_command

from tests.conftest import PASSWORD
from users.models import User
from users.roles import POLICIES, Level

# API.md's table, typed again on purpose: the code's table must match the contract.
CONTRACT = {
    "authenticated": {0, 1, 2, 3, 4},
    "staff": {0, 2, 3},
    "admin": {0, 2},
    "investor": {0, 1},
    "owner": {0},
}
LEGACY_ROUTES = {
    "authenticated": "/authenticated-user/",
    "staff": "/only-staff/",
    "admin": "/only-admin/",
    "investor": "/only-investor-owner/",
    "owner": "/only-owner/",
}
LEGACY_REFUSALS = {
    "staff": "Only Staff or Owner Users can access this endpoint.",
    "admin": "Only Admin Staff or Owner Users can access this endpoint.",
    "investor": "Only Investors or Owners can access this endpoint.",
    "owner": "Only Owners can access this endpoint.",
}
MATRIX = [(level, policy) for level in Level for policy in CONTRACT]


def test_policy_table_matches_the_contract():
    assert {name: {int(level) for level in levels} for name, levels in POLICIES.items()} == (
        CONTRACT
    )


@pytest.mark.parametrize(("level", "policy"), MATRIX)
@pytest.mark.parametrize("method", ["get", "post"])
def test_legacy_route_follows_the_policy(users, bearer_client, level, policy, method):
    client = bearer_client(users[level])
    response = getattr(client, method)(LEGACY_ROUTES[policy], format="json")
    if int(level) in CONTRACT[policy]:
        assert response.status_code == 200
        body = response.json()
        assert body["success"] is True
        assert body["user"]["id"] == users[level].pk
    else:
        assert response.status_code == 403
        assert response.json() == {"detail": LEGACY_REFUSALS[policy]}


@pytest.mark.parametrize(("level", "policy"), MATRIX)
def test_access_endpoint_follows_the_policy(users, bearer_client, level, policy):
    response = bearer_client(users[level]).get(f"/api/access/{policy}/")
    if int(level) in CONTRACT[policy]:
        assert response.status_code == 200
        assert response.json() == {"policy": policy, "allowed": True}
    else:
        assert response.status_code == 403
        assert policy in response.json()["detail"]


@pytest.mark.parametrize(("level", "policy"), MATRIX)
def test_cookie_post_with_csrf_header_follows_the_policy(users, cookie_client, level, policy):
    client = cookie_client(users[level])
    response = client.post(LEGACY_ROUTES[policy], HTTP_X_CSRFTOKEN=client.csrf)
    assert response.status_code == (200 if int(level) in CONTRACT[policy] else 403)


@pytest.mark.parametrize(
    "path", [*LEGACY_ROUTES.values(), *(f"/api/access/{p}/" for p in CONTRACT)]
)
@pytest.mark.parametrize("method", ["get", "post"])
def test_anonymous_caller_gets_401_with_www_authenticate(api_client, db, path, method):
    response = getattr(api_client, method)(path)
    assert response.status_code == 401
    assert response["WWW-Authenticate"] == 'Bearer realm="api"'


@pytest.mark.parametrize("method", ["get", "post"])
def test_all_user_route_answers_anyone(api_client, db, method):
    response = getattr(api_client, method)("/all-user/")
    assert response.status_code == 200
    assert response.json() == {
        "user": None,
        "message": "Every User can visit this url, even unsigned users",
        "success": True,
    }


def test_unknown_policy_is_404(users, bearer_client):
    assert bearer_client(users[Level.OWNER]).get("/api/access/superuser/").status_code == 404


def test_superuser_created_by_the_command_is_an_owner(db, bearer_client, monkeypatch):
    monkeypatch.setenv("DJANGO_SUPERUSER_PASSWORD", PASSWORD)
    call_command(
        "createsuperuser",
        interactive=False,
        username="boss",
        email="boss@example.com",
        verbosity=0,
    )
    boss = User.objects.get(username="boss")
    assert boss.level == Level.OWNER
    assert bearer_client(boss).get("/only-owner/").status_code == 200


class _TTY:
    def isatty(self) -> bool:
        return True


def test_interactive_createsuperuser_makes_an_owner(db, monkeypatch):
    answers = iter(["chief", "chief@example.com"])
    monkeypatch.setattr("builtins.input", lambda prompt="": next(answers))
    monkeypatch.setattr("getpass.getpass", lambda prompt="": PASSWORD)
    call_command("createsuperuser", interactive=True, stdin=_TTY(), verbosity=0)
    assert User.objects.get(username="chief").level == Level.OWNER
