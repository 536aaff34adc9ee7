"""Schemathesis against a live server: every operation of docs/openapi.yaml, fuzzed as an owner
and as a read-only user, must answer as the schema says and never with a 5xx."""

from pathlib import Path

import pytest
import schemathesis
from hypothesis import HealthCheck
from hypothesis import settings as hypothesis_settings
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    response_schema_conformance,
    status_code_conformance,
)

from tests.conftest import PASSWORD
from users import sessions
from users.models import User
from users.roles import Level

SCHEMA = schemathesis.openapi.from_path(
    Path(__file__).resolve().parent.parent / "docs" / "openapi.yaml"
)
CHECKS = [
    not_a_server_error,
    status_code_conformance,
    content_type_conformance,
    response_schema_conformance,
]


@pytest.fixture
def fuzzers(transactional_db) -> dict[str, User]:
    return {
        "owner": User.objects.create_user(
            "fuzz-owner", "fuzz-owner@example.com", PASSWORD, level=Level.OWNER
        ),
        "read_only": User.objects.create_user(
            "fuzz-reader", "fuzz-reader@example.com", PASSWORD, level=Level.READ_ONLY
        ),
    }


@pytest.mark.parametrize("who", ["owner", "read_only"])
@SCHEMA.parametrize()
@hypothesis_settings(
    max_examples=10,
    deadline=None,
    derandomize=True,
    suppress_health_check=list(HealthCheck),
)
def test_the_api_answers_as_documented_and_never_with_a_server_error(
    case, who, fuzzers, live_server
):
    # A fresh session for every example: logout, password changes and deactivations that the
    # fuzzer itself makes must not leave the next examples without a valid token.
    user = User.objects.get(pk=fuzzers[who].pk)
    User.objects.filter(pk=user.pk).update(is_active=True)
    user.set_password(PASSWORD)
    user.save(update_fields=["password"])
    issued = sessions.session_login(request=None, username=user.username, password=PASSWORD)
    case.call_and_validate(
        base_url=live_server.url,
        headers={"Authorization": f"Bearer {issued.access.raw}"},
        checks=CHECKS,
    )
