"""`SECRETS = [...]` in a script: read without executing it, refused with a reason when wrong."""

import textwrap

import pytest

from scripts_api.catalog import ScriptRejected, parse_script
from scripts_api.models import Script
from scripts_api.services import scripts_sync

SCRIPT = '''
    """Declares secrets"""
    POLICY = "authenticated"
    SECRETS = {secrets}

    def main():
        return 1
'''


def write(tmp_path, secrets: str):
    path = tmp_path / "declares.py"
    path.write_text(textwrap.dedent(SCRIPT.format(secrets=secrets)))
    return path


def test_declared_names_are_read_in_order_without_duplicates(tmp_path):
    spec = parse_script(write(tmp_path, '["CRM_TOKEN", "ERP_KEY", "CRM_TOKEN"]'))
    assert spec.secrets == ("CRM_TOKEN", "ERP_KEY")


def test_no_declaration_means_no_secrets(tmp_path):
    path = tmp_path / "plain.py"
    path.write_text('"""Plain"""\nPOLICY = "authenticated"\ndef main():\n    return 1\n')
    assert parse_script(path).secrets == ()


@pytest.mark.parametrize(
    "secrets, reason",
    [
        ('"CRM_TOKEN"', "SECRETS must be a list"),
        ("[1]", "SECRETS must be a list"),
        ("[os.environ]", "SECRETS must be a literal"),
        ('["crm_token"]', "upper-case letter"),
        ('["PATH"]', "PATH is reserved"),
        ('["RBAS_OUTPUT_DIR"]', "RBAS_OUTPUT_DIR is reserved"),
        ('["LD_PRELOAD"]', "LD_PRELOAD is reserved"),
    ],
)
def test_a_bad_declaration_rejects_the_file_with_a_reason(tmp_path, secrets, reason):
    with pytest.raises(ScriptRejected, match=reason):
        parse_script(write(tmp_path, secrets))


def test_sync_stores_the_names_and_updates_them_when_the_file_changes(db, tmp_path, settings):
    settings.SCRIPTS_DIR = tmp_path
    write(tmp_path, '["CRM_TOKEN"]')
    scripts_sync()
    assert Script.objects.get(slug="declares").secrets == ["CRM_TOKEN"]
    write(tmp_path, '["ERP_KEY"]')
    assert scripts_sync().updated == ["declares"]
    assert Script.objects.get(slug="declares").secrets == ["ERP_KEY"]
