"""Ended login sessions are purged; usable ones and recent revocations stay."""

from datetime import timedelta

from django.core.management import call_command
from django.utils import timezone

from users.models import LoginSession


def test_it_deletes_only_sessions_that_ended_long_enough_ago(users):
    user = next(iter(users.values()))
    now = timezone.now()

    def session(**fields):
        return LoginSession.objects.create(
            user=user, refresh_jti="j", expires_at=fields.pop("expires_at", now + timedelta(1)),
            **fields,
        )  # fmt: skip

    usable = session()
    expired = session(expires_at=now - timedelta(seconds=1))
    recently_revoked = session(revoked_at=now - timedelta(days=1))
    long_revoked = session(revoked_at=now - timedelta(days=31))
    call_command("purge_login_sessions", verbosity=0)
    remaining = set(LoginSession.objects.values_list("pk", flat=True))
    assert remaining == {usable.pk, recently_revoked.pk}
    assert expired.pk not in remaining and long_revoked.pk not in remaining
