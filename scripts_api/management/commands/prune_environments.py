"""`manage.py prune_environments`: remove this host's script environments unused for a while."""

from django.conf import settings
from django.core.management.base import BaseCommand

from scripts_api.environments import prune


class Command(BaseCommand):
    help = (
        "Remove the script environments of this host (SCRIPT_ENVIRONMENTS_DIR) that no run used "
        "for SCRIPT_ENVIRONMENTS_RETENTION_DAYS; those in use are kept."
    )

    def add_arguments(self, parser) -> None:
        parser.add_argument(
            "--days",
            type=float,
            default=None,
            help="Unused for this many days (default SCRIPT_ENVIRONMENTS_RETENTION_DAYS); 0: all.",
        )

    def handle(self, *args, days, **options):
        removed = prune(days=days)
        self.stdout.write(
            f"Removed {len(removed)} environments from {settings.SCRIPT_ENVIRONMENTS_DIR}."
        )
