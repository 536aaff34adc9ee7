"""Schedules a script file declares: read by the catalog without running the file, kept in
line with the file by `sync_scripts`, and edited through the API only by pausing them."""

import textwrap

import pytest

from schedules.models import Schedule, Source
from scripts_api.catalog import ScriptRejected, parse_script
from tests.scripts_api.test_sync_scripts import sync
from users.roles import Level

SCRIPT = '''
    """Weekly digest"""
    POLICY = "staff"
    {constants}

    def main(team: str, days: int = 7):
        return team
'''
GOOD = """
    SCHEDULE = "0 7 * * MON"
    SCHEDULE_PARAMS = {"team": "sales"}
    SCHEDULE_TIMEZONE = "Europe/Paris"
    SCHEDULE_AS = "reporter"
"""


def write(folder, constants: str) -> None:
    body = SCRIPT.format(constants=textwrap.indent(textwrap.dedent(constants), "    ").strip())
    (folder / "digest.py").write_text(textwrap.dedent(body))


@pytest.fixture
def folder(tmp_path, settings):
    settings.SCRIPTS_DIR = tmp_path
    return tmp_path


@pytest.fixture
def reporter(make_user):
    return make_user(Level.WRITE, username="reporter")


def test_the_catalog_reads_the_schedule_without_running_the_file(folder):
    write(folder, GOOD + "    raise SystemExit('never executed')\n")
    spec = parse_script(folder / "digest.py")
    assert spec.schedule == {
        "cron": "0 7 * * MON",
        "timezone": "Europe/Paris",
        "params": {"team": "sales"},
        "run_as": "reporter",
    }


@pytest.mark.parametrize(
    ("constants", "reason"),
    [
        (
            'SCHEDULE = "0 25 * * *"\nSCHEDULE_AS = "r"',
            "SCHEDULE: Invalid cron expression: Bad hour",
        ),
        ('SCHEDULE = "daily"\nSCHEDULE_AS = "r"', "SCHEDULE: A cron expression has five fields"),
        ('SCHEDULE = "0 7 * * *"', "SCHEDULE_AS is missing"),
        (
            'SCHEDULE = "0 7 * * *"\nSCHEDULE_AS = "r"\nSCHEDULE_TIMEZONE = "Paris"',
            "SCHEDULE_TIMEZONE: 'Paris' is not an IANA time zone",
        ),
        (
            'SCHEDULE = "0 7 * * *"\nSCHEDULE_AS = "r"\nSCHEDULE_PARAMS = {"days": 2}',
            "SCHEDULE_PARAMS: team: This parameter is required.",
        ),
        (
            'SCHEDULE = "0 7 * * *"\nSCHEDULE_AS = "r"\nSCHEDULE_PARAMS = {"team": 1}',
            "SCHEDULE_PARAMS: team: Must be a string.",
        ),
        ('SCHEDULE = make_cron()\nSCHEDULE_AS = "r"', "SCHEDULE must be a literal value"),
        ('SCHEDULE_PARAMS = {"team": "x"}', "SCHEDULE_PARAMS without SCHEDULE"),
    ],
)
def test_an_invalid_schedule_rejects_the_file_with_the_reason(folder, constants, reason):
    write(folder, constants)
    with pytest.raises(ScriptRejected) as rejected:
        parse_script(folder / "digest.py")
    assert reason in str(rejected.value)


def test_sync_rejects_an_invalid_schedule_with_exit_3(folder, db):
    write(folder, 'SCHEDULE = "0 25 * * *"\nSCHEDULE_AS = "reporter"')
    out = sync(expect_rejections=True)
    assert "rejected digest.py: SCHEDULE: Invalid cron expression: Bad hour" in out
    assert not Schedule.objects.exists()


def test_sync_creates_changes_and_removes_the_files_schedule(folder, db, reporter):
    write(folder, GOOD)
    sync()
    schedule = Schedule.objects.get()
    assert (schedule.source, schedule.cron, schedule.run_as) == (
        Source.FILE,
        "0 7 * * MON",
        reporter,
    )
    assert schedule.next_run_at.weekday() == 0
    write(folder, GOOD.replace("0 7 * * MON", "0 9 * * FRI"))
    sync()
    schedule = Schedule.objects.get()
    assert schedule.cron == "0 9 * * FRI" and schedule.next_run_at.weekday() == 4
    write(folder, "")
    sync()
    assert not Schedule.objects.exists()


def test_a_rejected_new_version_keeps_the_last_good_schedule(folder, db, reporter):
    write(folder, GOOD)
    sync()
    write(folder, GOOD.replace("0 7 * * MON", "0 7 * * NOPE"))
    sync(expect_rejections=True)
    assert Schedule.objects.get().cron == "0 7 * * MON"


def test_removing_the_file_removes_its_schedule(folder, db, reporter):
    write(folder, GOOD)
    sync()
    (folder / "digest.py").unlink()
    sync()
    assert not Schedule.objects.exists()


def test_an_unknown_run_as_user_sets_no_schedule(folder, db, caplog):
    write(folder, GOOD)
    out = sync()
    assert not Schedule.objects.exists()
    assert "schedule of digest not set: no user 'reporter'" in out
    assert "no user 'reporter'" in caplog.text


def test_the_api_only_pauses_and_resumes_a_files_schedule(folder, users, bearer_client, reporter):
    write(folder, GOOD)
    sync()
    pk = Schedule.objects.get().pk
    client = bearer_client(users[Level.OWNER])
    changed = client.patch(f"/api/schedules/{pk}/", {"cron": "* * * * *"}, format="json")
    assert changed.status_code == 400 and "script file" in str(changed.json())
    assert client.delete(f"/api/schedules/{pk}/").status_code == 400
    assert client.post(f"/api/schedules/{pk}/pause/").json()["paused"] is True
    assert (
        client.patch(f"/api/schedules/{pk}/", {"paused": False}, format="json").json()["paused"]
        is False
    )
    assert Schedule.objects.get().cron == "0 7 * * MON"
