"""Service behaviour that the HTTP tests cannot reach directly."""

import pytest
from rest_framework.exceptions import ValidationError

from users import services
from users.models import User


def test_a_username_taken_between_check_and_insert_is_a_400_not_a_500(make_user, monkeypatch):
    make_user(username="racer", email="first@example.com")
    # The other request inserts after this one checked: skip the first check to get there.
    real_check = services.check_unique
    calls = []

    def check_too_early(**kwargs):
        calls.append(kwargs)
        if len(calls) > 1:
            real_check(**kwargs)

    monkeypatch.setattr(services, "check_unique", check_too_early)
    with pytest.raises(ValidationError) as error:
        services.user_create(
            username="RACER", email="second@example.com", password="a-long-passphrase-42", level=4
        )
    assert "username" in error.value.detail
    assert User.objects.count() == 1
