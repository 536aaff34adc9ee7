"""Single sign-on through a real OpenID Connect provider leaves its audit events."""

from audit.models import AuditEvent
from tests.users.test_sso import idp, provider, sign_in  # noqa: F401 - the provider fixtures
from users.roles import Level


def test_a_first_sso_sign_in_links_the_account_and_signs_in(idp, make_user):  # noqa: F811
    alice = make_user(Level.WRITE, username="alice", email="alice@example.com", email_verified=True)
    idp.add("alice-sub", "alice@example.com")
    sign_in(idp, "alice-sub")
    linked = AuditEvent.objects.get(event="sso.linked")
    assert (linked.actor_id, linked.target_id) == (alice.pk, str(alice.pk))
    assert linked.data == {"provider": "test", "subject": "alice-sub"}
    assert linked.request_id and linked.client_address == "127.0.0.1"
    login = AuditEvent.objects.get(event="auth.login")
    assert (login.actor_id, login.data) == (alice.pk, {"method": "sso:test"})
    assert login.request_id == linked.request_id  # the same callback request

    sign_in(idp, "alice-sub")  # a second sign-in links nothing new
    assert AuditEvent.objects.filter(event="sso.linked").count() == 1
    assert AuditEvent.objects.filter(event="auth.login").count() == 2


def test_a_refused_sso_sign_in_is_a_failed_sign_in(idp, make_user):  # noqa: F811
    make_user(username="victim", email="victim@example.com")
    idp.add("attacker", "victim@example.com", verified=False)
    sign_in(idp, "attacker")
    failed = AuditEvent.objects.get(event="auth.login_failed")
    assert failed.actor_id is None
    assert failed.data == {"method": "sso:test", "reason": "email_unverified"}
    assert not AuditEvent.objects.filter(event__in=["auth.login", "sso.linked"]).exists()
