"""`manage.py prune_artifacts`: remove artifacts past their retention or over the total cap."""

from django.core.management.base import BaseCommand

from scripts_api.artifacts import artifacts_prune


class Command(BaseCommand):
    help = (
        "Remove stored artifacts older than RUN_ARTIFACTS_RETENTION_DAYS and, oldest runs first, "
        "those over RUN_ARTIFACTS_TOTAL_MAX_BYTES. The runs' records are kept."
    )

    def handle(self, *args, **options):
        pruned = artifacts_prune()
        self.stdout.write(f"Removed {pruned} artifacts.")
