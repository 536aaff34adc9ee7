"""Bring the database in line with the scripts folder and say what changed."""

from django.core.management.base import BaseCommand

from scripts_api.services import scripts_sync


class Command(BaseCommand):
    help = (
        "Publish new and changed scripts from SCRIPTS_DIR, unpublish removed or broken ones "
        "(their run history is kept), and report files that break the rules."
    )

    def handle(self, *args, **options):
        report = scripts_sync()
        for line in report.lines():
            self.stdout.write(line)
