"""Create the owner named by DJANGO_SUPERUSER_* once; later runs change nothing."""

import os

from django.core.management.base import BaseCommand, CommandError

from users.models import User


class Command(BaseCommand):
    help = (
        "Create an owner from DJANGO_SUPERUSER_USERNAME, DJANGO_SUPERUSER_EMAIL and "
        "DJANGO_SUPERUSER_PASSWORD unless that user exists (idempotent; used by run_web.sh)."
    )

    def handle(self, *args, **options):
        username = os.environ.get("DJANGO_SUPERUSER_USERNAME", "")
        if not username:
            self.stdout.write("DJANGO_SUPERUSER_USERNAME is not set: no owner to create.")
            return
        if User.objects.filter(username__iexact=User.normalize_username(username)).exists():
            self.stdout.write(f"Owner bootstrap: user '{username}' exists, left unchanged.")
            return
        password = os.environ.get("DJANGO_SUPERUSER_PASSWORD", "")
        if not password:
            raise CommandError("DJANGO_SUPERUSER_PASSWORD must be set with the username.")
        User.objects.create_superuser(
            username=username,
            email=os.environ.get("DJANGO_SUPERUSER_EMAIL", ""),
            password=password,
        )
        self.stdout.write(f"Owner bootstrap: created owner '{username}'.")
