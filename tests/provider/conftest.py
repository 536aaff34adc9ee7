"""The browser fixtures of tests/web, for the provider's browser tests."""

from tests.web.conftest import browser, open_page

__all__ = ["browser", "open_page"]
