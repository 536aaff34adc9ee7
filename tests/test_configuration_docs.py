"""Every environment variable the service reads is documented in .env.example and in
docs/configuration.md (the README links to it)."""

import re
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
# Set by the platform, not by an operator.
PLATFORM = {"KUBERNETES_SERVICE_HOST"}


def variables_read() -> set[str]:
    settings = (ROOT / "simple_rbas/settings.py").read_text()
    from_settings = set(re.findall(r"env(?:\.\w+)?\(\s*\"([A-Z_]+)\"", settings))
    run_web = (ROOT / "run_web.sh").read_text()
    from_script = set(re.findall(r"\$\{([A-Z_]+):-", run_web))
    commands = "".join(p.read_text() for p in ROOT.glob("*/management/commands/*.py"))
    commands += (ROOT / "gunicorn.conf.py").read_text()
    from_commands = set(re.findall(r"os\.environ\.get\(\s*[\"']([A-Z_]+)[\"']", commands))
    return (from_settings | from_script | from_commands) - PLATFORM


def test_the_scan_finds_the_variables():
    assert {"SECRET_KEY", "DATABASE_URL", "PORT", "DJANGO_SUPERUSER_PASSWORD"} <= variables_read()


def test_every_variable_is_in_env_example_with_a_comment():
    lines = (ROOT / ".env.example").read_text().splitlines()
    documented = {}
    for index, line in enumerate(lines):
        match = re.match(r"([A-Z_]+)=", line)
        if match:
            documented[match.group(1)] = lines[index - 1].startswith("#")
    missing = variables_read() - set(documented)
    assert missing == set()
    assert [name for name, commented in documented.items() if not commented] == []


def test_every_variable_is_in_the_configuration_page():
    page = (ROOT / "docs/configuration.md").read_text()
    assert sorted(v for v in variables_read() if v not in page) == []


def test_every_per_provider_setting_is_in_the_configuration_page():
    from django.conf import settings

    page = (ROOT / "docs/configuration.md").read_text()
    names = [f"OIDC_<NAME>_{key}" for key in settings.OIDC_PROVIDER_SETTINGS]
    assert [name for name in names if name not in page] == []
