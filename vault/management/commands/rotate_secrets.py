"""Re-encrypt every secret with the first key of SECRETS_ENCRYPTION_KEYS."""

from django.core.management.base import BaseCommand, CommandError

from vault import crypto, services


class Command(BaseCommand):
    help = (
        "Re-encrypt every stored secret with the first key of SECRETS_ENCRYPTION_KEYS (put the "
        "new key first, run this, then remove the old key). --new-key prints a fresh key."
    )

    def add_arguments(self, parser):
        parser.add_argument(
            "--new-key", action="store_true", help="Print a new random key and change nothing."
        )
        parser.add_argument(
            "--from-derived",
            action="store_true",
            help="Also open values encrypted with the key derived from SECRET_KEY (the default "
            "before SECRETS_ENCRYPTION_KEYS was set).",
        )

    def handle(self, *args, new_key: bool = False, from_derived: bool = False, **options):
        if new_key:
            self.stdout.write(crypto.new_key())
            return
        rotated, failed = services.secrets_rotate(from_derived=from_derived)
        self.stdout.write(f"{rotated} secrets re-encrypted with the first key.")
        if failed:
            raise CommandError(
                f"No key in SECRETS_ENCRYPTION_KEYS decrypts {', '.join(failed)}: keep the key "
                "that encrypted them, or set their values again."
            )
