"""System checks of the encryption keys, for `manage.py check --deploy`."""

from django.conf import settings
from django.core.checks import Tags, Warning, register


@register(Tags.security, deploy=True)
def check_keys_are_set(app_configs, **kwargs) -> list[Warning]:
    """Warn when the key is derived from SECRET_KEY: changing that would lose every secret."""
    if any(key.strip() for key in settings.SECRETS_ENCRYPTION_KEYS):
        return []
    return [
        Warning(
            "Secrets are encrypted with a key derived from SECRET_KEY: a new SECRET_KEY makes "
            "every stored secret unreadable, and one leaked key opens both.",
            hint="Set SECRETS_ENCRYPTION_KEYS to a key of its own, made with "
            "`python manage.py rotate_secrets --new-key`.",
            id="vault.W001",
        )
    ]
