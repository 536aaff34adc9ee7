"""System checks of the email settings, for `manage.py check --deploy`."""

from urllib.parse import urlsplit

from django.conf import settings
from django.core.checks import Tags, Warning, register

LOCAL_HOSTS = {"localhost", "127.0.0.1", "[::1]", "::1"}


@register(Tags.security, deploy=True)
def check_email_settings(app_configs, **kwargs) -> list[Warning]:
    """Warn when emails would not reach anyone, or would carry links nobody can follow."""
    warnings = []
    if settings.EMAIL_BACKEND.endswith(("console.EmailBackend", "locmem.EmailBackend")):
        warnings.append(
            Warning(
                "Emails (invitations, verification and password reset links) are printed in "
                "the log, not sent.",
                hint="Set EMAIL_URL to your mail server, e.g. smtp+tls://user:pass@host:587.",
                id="users.W001",
            )
        )
    public = urlsplit(settings.PUBLIC_URL)
    if public.scheme != "https" or public.hostname in LOCAL_HOSTS:
        warnings.append(
            Warning(
                f"Links in emails start with PUBLIC_URL={settings.PUBLIC_URL}, which is not a "
                "public https address.",
                hint="Set PUBLIC_URL to the address users reach, e.g. https://rbas.example.com.",
                id="users.W002",
            )
        )
    return warnings
