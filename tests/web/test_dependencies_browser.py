"""The script page shows a script's PEP 723 dependencies and their environment's state."""

import textwrap

from playwright.sync_api import expect

from scripts_api.dependencies import environment_prepare
from scripts_api.models import ScriptEnvironment
from scripts_api.services import scripts_sync
from tests.web.browser import needs_chromium, sign_in
from users.roles import Level

pytestmark = needs_chromium

SCRIPT = '''
    # /// script
    # requires-python = ">=3.11"
    # dependencies = ["rbas-not-on-this-index>=2"]
    # ///
    """Needs a package"""
    POLICY = "authenticated"

    def main() -> int:
        return 1
'''


def test_the_script_page_lists_the_packages_and_why_they_failed(
    page, users, catalog, settings, tmp_path, monkeypatch
):
    monkeypatch.setenv("UV_NO_INDEX", "1")
    monkeypatch.setenv("UV_FIND_LINKS", str(tmp_path))  # an index with nothing in it
    settings.SCRIPT_ENVIRONMENTS_DIR = tmp_path / "environments"
    settings.SCRIPT_UV_CACHE_DIR = tmp_path / "uv-cache"
    (catalog / "needs_package.py").write_text(textwrap.dedent(SCRIPT).lstrip())
    scripts_sync()
    assert environment_prepare(digest=ScriptEnvironment.objects.get().digest) == "failed"
    sign_in(page, users[Level.READ_ONLY], then="/scripts/needs-package")
    section = page.locator("#script-dependencies")
    expect(section.get_by_role("heading", name="Packages it uses")).to_be_visible()
    expect(section.get_by_role("listitem")).to_have_text(["rbas-not-on-this-index>=2"])
    expect(section).to_contain_text("could not be installed")
    expect(section).to_contain_text("Python >=3.11")
    expect(page.locator("#dependency-error")).to_contain_text("rbas-not-on-this-index")
    assert page.console_errors == []


def test_a_script_without_dependencies_shows_no_packages(page, users):
    sign_in(page, users[Level.READ_ONLY], then="/scripts/hello")
    expect(page.get_by_role("heading", name="Say hello")).to_be_visible()
    expect(page.locator("#script-dependencies")).to_be_hidden()


PROBE = '''
    # /// script
    # dependencies = ["rbas-probe>=1"]
    # ///
    """Use the probe

    Imports a package the server's environment does not have.
    """
    import rbas_probe

    POLICY = "authenticated"

    def main() -> int:
        return rbas_probe.VALUE
'''


def test_a_run_from_the_browser_imports_a_package_the_server_lacks(
    page, users, catalog, uv_index, start_worker
):
    import importlib.util
    import re

    assert importlib.util.find_spec("rbas_probe") is None  # not in the server's environment
    (catalog / "use_probe.py").write_text(textwrap.dedent(PROBE).lstrip())
    scripts_sync()
    start_worker(**uv_index)  # prepares the environment queued by the sync, then runs
    sign_in(page, users[Level.READ_ONLY], then="/scripts/use-probe")
    expect(page.locator("#script-dependencies").get_by_role("listitem")).to_have_text(
        ["rbas-probe>=1"]
    )
    page.get_by_role("button", name="Run").click()
    page.wait_for_url(re.compile(r"/runs/[0-9a-f-]+$"))
    expect(page.locator(".badge.succeeded")).to_be_visible(timeout=30_000)
    expect(page.locator("#result")).to_contain_text("42")
    assert ScriptEnvironment.objects.get().status == "ready"
    assert page.console_errors == []
