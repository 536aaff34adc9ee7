"""The page shells, rendered by the server (no browser needed)."""

import pytest
from django.test import Client
from django.urls import path


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


def broken_page(request):
    raise RuntimeError("a bug")


urlpatterns = [path("broken", broken_page)]
handler500 = "simple_rbas.errors.server_error"


def test_an_unknown_page_is_the_apps_own_not_found_page(db):
    response = Client().get("/no-such-page")
    assert response.status_code == 404
    page = response.content.decode()
    assert '<h1 id="state-title">Not found</h1>' in page
    assert 'href="/static/web/app.css"' in page and 'href="/"' in page
    assert "<script" not in page  # no page module: nothing to load
    assert "script-src 'self'" in response["Content-Security-Policy"]


def test_unknown_api_urls_stay_json(db):
    response = Client().get("/api/no-such-thing/")
    assert response.status_code == 404
    assert response.json() == {"detail": "Not found."}


@pytest.mark.urls(__name__)
def test_a_bug_in_a_page_shows_the_apps_error_page_without_details():
    client = Client(raise_request_exception=False)
    response = client.get("/broken")
    assert response.status_code == 500
    page = response.content.decode()
    assert "Something went wrong" in page and "a bug" not in page
