"""System checks of the provider's settings, for `manage.py check --deploy`."""

from django.conf import settings
from django.core.checks import Tags, Warning, register


@register(Tags.security, deploy=True)
def check_signing_key(app_configs, **kwargs) -> list[Warning]:
    """Warn when ID tokens are signed with a key generated on this machine."""
    if settings.OIDC_RSA_PRIVATE_KEY:
        return []
    return [
        Warning(
            "OIDC_RSA_PRIVATE_KEY is not set: ID tokens are signed with a key generated into "
            f"{settings.OIDC_RSA_PRIVATE_KEY_FILE}, which each replica or new pod makes anew.",
            hint=(
                "Set OIDC_RSA_PRIVATE_KEY to a PEM RSA key, e.g. the output of "
                "`openssl genpkey -algorithm RSA -pkeyopt rsa_keygen_bits:2048`."
            ),
            id="provider.W001",
        )
    ]
