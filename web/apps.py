from django.apps import AppConfig


class WebConfig(AppConfig):
    """The web app for the people who run scripts: pages that use the JSON API."""

    name = "web"
