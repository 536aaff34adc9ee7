"""`sync_scripts`: the database follows the folder; run history survives unpublishing."""

from io import StringIO

import pytest
from django.core.management import call_command

from scripts_api.models import Run, Script
from users.roles import Level

SCRIPT = '"""{title}"""\nPOLICY = "authenticated"\ndef main(name: str = "x"):\n    return name\n'


@pytest.fixture
def folder(tmp_path, settings):
    settings.SCRIPTS_DIR = tmp_path
    return tmp_path


def sync(expect_rejections: bool = False) -> str:
    """Run `sync_scripts`; it exits with status 3 exactly when a file was rejected."""
    out = StringIO()
    if expect_rejections:
        with pytest.raises(SystemExit) as exited:
            call_command("sync_scripts", stdout=out)
        assert exited.value.code == 3
    else:
        call_command("sync_scripts", stdout=out)
    return out.getvalue()


def test_it_adds_updates_unpublishes_and_reports(folder, db, make_user):
    (folder / "alpha.py").write_text(SCRIPT.format(title="Alpha"))
    (folder / "beta.py").write_text(SCRIPT.format(title="Beta"))
    assert "added alpha" in sync()
    alpha = Script.objects.get(slug="alpha")
    first_version = alpha.version
    run = Run.objects.create(
        script=alpha, script_version=first_version, user=make_user(Level.OWNER)
    )

    assert "0 added, 0 updated, 0 unpublished" in sync()  # nothing changed

    (folder / "alpha.py").write_text(SCRIPT.format(title="Alpha two"))
    (folder / "beta.py").unlink()
    (folder / "gamma.py").write_text('"""Gamma"""\ndef main(): pass\n')
    output = sync(expect_rejections=True)
    assert "updated alpha" in output
    assert "unpublished beta" in output
    assert "rejected gamma.py: POLICY is missing" in output
    alpha.refresh_from_db()
    assert alpha.title == "Alpha two" and alpha.version != first_version
    beta = Script.objects.get(slug="beta")
    assert not beta.is_published and beta.rejection == "The file was removed."
    assert Run.objects.get(pk=run.pk).script_version == first_version  # history kept

    (folder / "beta.py").write_text(SCRIPT.format(title="Beta"))
    (folder / "gamma.py").unlink()
    assert "updated beta" in sync()
    assert Script.objects.get(slug="beta").is_published


def test_an_unchanged_file_read_differently_by_a_newer_catalog_is_updated(folder, db):
    (folder / "alpha.py").write_text(SCRIPT.format(title="Alpha"))
    sync()
    # As an older catalog stored it: the parameter's raw name as its title.
    Script.objects.filter(slug="alpha").update(
        params_schema={
            "type": "object",
            "properties": {"name": {"title": "name", "type": "string", "default": "x"}},
            "required": [],
            "additionalProperties": False,
        }
    )
    assert "updated alpha" in sync()
    schema = Script.objects.get(slug="alpha").params_schema
    assert schema["properties"]["name"]["title"] == "Name"
    assert "0 added, 0 updated" in sync()


def test_a_script_that_becomes_invalid_keeps_its_last_good_version(folder, db):
    (folder / "alpha.py").write_text(SCRIPT.format(title="Alpha"))
    sync()
    good = Script.objects.get(slug="alpha").version
    (folder / "alpha.py").write_text('"""Alpha"""\nPOLICY = "nobody"\ndef main(): pass\n')
    output = sync(expect_rejections=True)
    assert "unpublished alpha" not in output
    assert f"kept alpha at its last good version {good}" in output
    alpha = Script.objects.get(slug="alpha")
    assert alpha.is_published and alpha.version == good and alpha.title == "Alpha"
    [problem] = alpha.problems
    assert "not a policy" in problem["message"]


def test_a_file_nested_too_deeply_for_python_is_reported_and_the_others_published(folder, db):
    (folder / "alpha.py").write_text(SCRIPT.format(title="Alpha"))
    deep = '"""Deep"""\nPOLICY = "authenticated"\nx = 1' + " + 1" * 200_000
    (folder / "deep.py").write_text(deep)
    report = sync(expect_rejections=True)
    assert "added alpha" in report
    assert "rejected deep.py: Python cannot parse the file: it is nested too deeply." in report
    assert Script.objects.filter(slug="alpha", is_published=True).exists()
