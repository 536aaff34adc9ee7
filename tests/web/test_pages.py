"""The page shells, rendered by the server (no browser needed)."""

import pytest
from django.test import Client


@pytest.mark.parametrize(
    ("asked", "handed"),
    [
        ("/runs?status=failed", "/runs?status=failed"),
        ("/\\evil.example/", "/"),
        ("/x/\\evil.example/", "/"),
        ("//evil.example/", "/"),
        ("/\t/evil.example/", "/"),
        ("https://evil.example/", "/"),
        ("javascript:alert(1)", "/"),
    ],
)
def test_the_sign_in_page_is_handed_only_a_checked_next(db, asked, handed):
    page = Client().get("/login", {"next": asked}).content.decode()
    assert f'data-next="{handed}"' in page.replace("&amp;", "&")
