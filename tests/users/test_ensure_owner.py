"""The owner bootstrap that run_web.sh calls at every start."""

import pytest
from django.core.management import CommandError, call_command

from users.models import User
from users.roles import Level


def test_it_creates_the_owner_once_and_then_leaves_it_alone(db, monkeypatch, capsys):
    monkeypatch.setenv("DJANGO_SUPERUSER_USERNAME", "founder")
    monkeypatch.setenv("DJANGO_SUPERUSER_EMAIL", "founder@example.com")
    monkeypatch.setenv("DJANGO_SUPERUSER_PASSWORD", "a-founders-passphrase")
    call_command("ensure_owner")
    founder = User.objects.get(username="founder")
    assert founder.level == Level.OWNER and founder.is_superuser
    User.objects.filter(pk=founder.pk).update(first_name="Kept")
    call_command("ensure_owner")
    assert User.objects.filter(username__iexact="founder").count() == 1
    assert User.objects.get(pk=founder.pk).first_name == "Kept"
    assert "exists, left unchanged" in capsys.readouterr().out


def test_it_does_nothing_without_a_username(db, monkeypatch):
    monkeypatch.delenv("DJANGO_SUPERUSER_USERNAME", raising=False)
    call_command("ensure_owner")
    assert not User.objects.exists()


def test_it_refuses_a_username_without_a_password(db, monkeypatch):
    monkeypatch.setenv("DJANGO_SUPERUSER_USERNAME", "founder")
    monkeypatch.delenv("DJANGO_SUPERUSER_PASSWORD", raising=False)
    with pytest.raises(CommandError):
        call_command("ensure_owner")
    assert not User.objects.exists()
