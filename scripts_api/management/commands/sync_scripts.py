"""Bring the database in line with the scripts folder and say what changed; or, with `--check`,
only lint a folder of scripts."""

from pathlib import Path

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError

from scripts_api import catalog
from scripts_api.services import scripts_sync

# The exit status when a file was rejected (1 stays "the command itself failed"): run_web.sh
# starts the service anyway, CI stops the deploy.
REJECTED_EXIT_CODE = 3


class Command(BaseCommand):
    help = (
        "Publish new and changed scripts from SCRIPTS_DIR and unpublish removed ones (their run "
        "history is kept). A published script whose file is now rejected keeps its last good "
        "version, with the rejection as its problem. Exits with status 3 when a file was "
        "rejected. --check [DIR] only lints a folder (default SCRIPTS_DIR), without a database."
    )

    def add_arguments(self, parser):
        parser.add_argument(
            "--check",
            nargs="?",
            const="",
            metavar="DIR",
            help="Lint the scripts in DIR (default SCRIPTS_DIR) and print `file: reason` for each "
            "rejected one; the database is not touched.",
        )

    def execute(self, *args, **options):
        if options.get("check") is not None:
            options["skip_checks"] = True  # the system checks are the service's, not the lint's
        return super().execute(*args, **options)

    def handle(self, *args, check=None, **options):
        if check is not None:
            rejected = self._check(Path(check or settings.SCRIPTS_DIR))
        else:
            report = scripts_sync()
            for line in report.lines():
                self.stdout.write(line)
            rejected = bool(report.rejected)
        if rejected:
            raise SystemExit(REJECTED_EXIT_CODE)

    def _check(self, directory: Path) -> bool:
        if not directory.is_dir():
            raise CommandError(f"{directory} is not a folder.")
        found = catalog.scan(directory)
        for name, reason in found.rejected.items():
            self.stdout.write(f"{directory / name}: {reason}")
        self.stdout.write(f"{len(found.scripts)} ok, {len(found.rejected)} rejected")
        return bool(found.rejected)
