#!/usr/bin/env python
"""Django's command-line utility for administrative tasks."""

import os
import sys


def main() -> None:
    """Run administrative tasks."""
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "simple_rbas.settings")
    from django.conf import settings
    from django.core.exceptions import ImproperlyConfigured
    from django.core.management import execute_from_command_line

    try:
        settings.INSTALLED_APPS  # noqa: B018 - Django would hide this error behind a later one
    except ImproperlyConfigured as error:
        sys.exit(f"manage.py: the settings are refused: {error}")
    execute_from_command_line(sys.argv)


if __name__ == "__main__":
    main()
