"""Races that only row locks settle, run on real concurrent connections.

SQLite's in-memory test database cannot be shared by threads, so these run in the PostgreSQL
pass of CI (`.ci/run`); on SQLite the same services are serialised by IMMEDIATE transactions.
"""

import threading

import pytest
from django.db import connection

from tests.conftest import PASSWORD
from tests.threads import run_together
from users import services, sessions
from users.models import LoginSession, User
from users.roles import Level

pytestmark = pytest.mark.skipif(
    connection.vendor != "postgresql", reason="needs concurrent connections (PostgreSQL run)"
)


@pytest.mark.parametrize("attempt", range(5))
def test_two_owners_demoting_each_other_leave_one_owner(transactional_db, make_user, attempt):
    first, second = make_user(Level.OWNER), make_user(Level.OWNER)
    outcomes = run_together(
        lambda: services.user_update_by_admin(actor=first, target_pk=second.pk, level=4),
        lambda: services.user_update_by_admin(actor=second, target_pk=first.pk, level=4),
    )
    assert sum(isinstance(o, services.Conflict) for o in outcomes) == 1
    assert User.objects.filter(level=Level.OWNER, is_active=True).count() == 1


@pytest.mark.parametrize("attempt", range(3))
def test_a_refresh_token_raced_twice_is_used_once(transactional_db, make_user, attempt):
    user = make_user()
    issued = sessions.session_login(request=None, username=user.username, password=PASSWORD)
    raw = issued.refresh.raw
    outcomes = run_together(
        lambda: sessions.session_refresh(raw_refresh=raw),
        lambda: sessions.session_refresh(raw_refresh=raw),
    )
    assert sum(isinstance(o, sessions.IssuedTokens) for o in outcomes) == 1
    # The loser presented a token already used: the session is revoked as a replay.
    assert LoginSession.objects.get(pk=issued.session.pk).revoked_reason == "refresh_reuse"


def test_owners_demoting_each_other_over_http_get_200_and_409(
    transactional_db, make_user, bearer_client, monkeypatch
):
    """Both requests authenticate as owners before either writes: the second write is 409."""
    first, second = make_user(Level.OWNER), make_user(Level.OWNER)
    clients = bearer_client(first), bearer_client(second)
    both_authenticated = threading.Barrier(2)
    real_update = services.user_update_by_admin

    def update_after_both_authenticated(**kwargs):
        both_authenticated.wait(timeout=10)
        return real_update(**kwargs)

    monkeypatch.setattr(services, "user_update_by_admin", update_after_both_authenticated)
    responses = run_together(
        lambda: clients[0].patch(f"/api/users/{second.pk}/", {"level": 4}, format="json"),
        lambda: clients[1].patch(f"/api/users/{first.pk}/", {"level": 4}, format="json"),
    )
    assert sorted(r.status_code for r in responses) == [200, 409]
    conflict = next(r for r in responses if r.status_code == 409)
    assert conflict.json() == {"detail": "The last active owner cannot be demoted or deactivated."}
    assert User.objects.filter(level=Level.OWNER, is_active=True).count() == 1


@pytest.mark.parametrize("attempt", range(3))
def test_concurrent_run_requests_cannot_pass_the_active_limit_together(
    transactional_db, catalog, make_user, settings, attempt
):
    from scripts_api import services as script_services
    from scripts_api.models import Run, Script

    settings.MAX_ACTIVE_RUNS_PER_USER = 1
    user = make_user()
    script = Script.objects.get(slug="sleepy")
    outcomes = run_together(
        *[lambda: script_services.run_create(user=user, script=script, params={})] * 3
    )
    assert sum(isinstance(o, Run) for o in outcomes) == 1
    assert Run.objects.filter(user=user).count() == 1
