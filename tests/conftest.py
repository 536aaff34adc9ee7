"""Shared fixtures: a user per role, and clients signed in by Bearer header or by cookie."""

import pytest
from django.core.cache import cache
from rest_framework.test import APIClient

from users import sessions
from users.models import User
from users.roles import LEVEL_KEYS, Level

PASSWORD = "correct-horse-battery-staple"


@pytest.fixture(autouse=True)
def _fast_password_hasher(settings):
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]


@pytest.fixture(autouse=True)
def _fresh_throttle_counts():
    cache.clear()
    yield
    cache.clear()


@pytest.fixture
def api_client() -> APIClient:
    """An anonymous client that enforces CSRF checks, as browsers are held to them."""
    return APIClient(enforce_csrf_checks=True)


@pytest.fixture
def make_user(db):
    """Create a user at a level; the password is `PASSWORD`."""

    def make(level: Level = Level.READ_ONLY, username: str | None = None, **fields) -> User:
        username = username or f"{LEVEL_KEYS[Level(level)]}-{User.objects.count() + 1}"
        fields.setdefault("email", f"{username}@example.com")
        return User.objects.create_user(username, password=PASSWORD, level=level, **fields)

    return make


@pytest.fixture
def users(make_user) -> dict[Level, User]:
    """One user at each of the five levels."""
    return {level: make_user(level) for level in Level}


@pytest.fixture
def bearer_client():
    """A client signed in as `user` through the Authorization header."""

    def make(user: User) -> APIClient:
        issued = sessions.session_login(request=None, username=user.username, password=PASSWORD)
        client = APIClient(enforce_csrf_checks=True)
        client.credentials(HTTP_AUTHORIZATION=f"Bearer {issued.access.raw}")
        client.issued = issued
        return client

    return make


@pytest.fixture
def cookie_client():
    """A client signed in as `user` through the login endpoint, holding the cookies only."""

    def make(user: User) -> APIClient:
        client = APIClient(enforce_csrf_checks=True)
        response = client.post(
            "/api/auth/login/", {"username": user.username, "password": PASSWORD}, format="json"
        )
        assert response.status_code == 200, response.content
        client.csrf = response.cookies["csrftoken"].value
        return client

    return make
