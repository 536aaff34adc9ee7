"""`sync_scripts`: the database follows the folder; run history survives unpublishing."""

import os
import subprocess
import sys
from io import StringIO
from pathlib import Path

import pytest
from django.core.management import call_command

from scripts_api.models import Run, Script
from users.roles import Level

ROOT = Path(__file__).resolve().parents[2]
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


def check(*args: str, **env: str) -> subprocess.CompletedProcess:
    """`sync_scripts --check` in a process of its own, its database somewhere nobody listens."""
    return subprocess.run(
        [sys.executable, "manage.py", "sync_scripts", "--check", *args],
        cwd=ROOT,
        env={
            "PATH": os.environ["PATH"],
            "DJANGO_READ_DOT_ENV_FILE": "false",
            "SECRET_KEY": "check-secret",
            "DATABASE_URL": "postgres://nobody@127.0.0.1:9/nowhere",
            **env,
        },
        capture_output=True,
        text=True,
        timeout=60,
    )


def test_check_lints_a_folder_without_a_database(tmp_path):
    (tmp_path / "alpha.py").write_text(SCRIPT.format(title="Alpha"))
    (tmp_path / "gamma.py").write_text('"""Gamma"""\ndef main(): pass\n')
    (tmp_path / "Bad-Name.py").write_text(SCRIPT.format(title="Bad"))
    result = check(str(tmp_path))
    assert result.returncode == 3, result.stderr
    assert result.stdout.splitlines() == [
        f"{tmp_path / 'Bad-Name.py'}: File names are lower-case letters, digits and underscores.",
        f"{tmp_path / 'gamma.py'}: POLICY is missing: name a policy or list level keys.",
        "1 ok, 2 rejected",
    ]
    (tmp_path / "gamma.py").unlink()
    (tmp_path / "Bad-Name.py").unlink()
    result = check(str(tmp_path))
    assert result.returncode == 0 and result.stdout == "1 ok, 0 rejected\n"


def test_check_without_a_folder_reads_scripts_dir_and_the_shipped_examples_pass(tmp_path):
    result = check()
    assert result.returncode == 0, result.stdout + result.stderr
    assert result.stdout.endswith(" ok, 0 rejected\n")
    (tmp_path / "gamma.py").write_text('"""Gamma"""\ndef main(): pass\n')
    assert check(SCRIPTS_DIR=str(tmp_path)).returncode == 3
    missing = check(str(tmp_path / "missing"))
    assert missing.returncode == 1 and "is not a folder" in missing.stderr


def test_sync_exits_3_only_when_a_file_was_rejected(folder, db):
    (folder / "alpha.py").write_text(SCRIPT.format(title="Alpha"))
    assert "1 added" in sync()
    (folder / "gamma.py").write_text('"""Gamma"""\ndef main(): pass\n')
    assert "rejected gamma.py" in sync(expect_rejections=True)
    assert not Script.objects.filter(slug="gamma").exists()  # a file that never parsed
