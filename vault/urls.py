"""Routes of the secrets API."""

from django.urls import path, register_converter

from vault import views


class SecretNameConverter:
    """`<secret:name>`: only what can name a secret matches; anything else is a 404."""

    regex = r"[A-Z][A-Z0-9_]{0,63}"

    def to_python(self, value: str) -> str:
        return value

    def to_url(self, value: str) -> str:
        return value


register_converter(SecretNameConverter, "secret")

urlpatterns = [
    path("secrets/", views.SecretListView.as_view(), name="secret-list"),
    path("secrets/<secret:name>/", views.SecretDetailView.as_view(), name="secret-detail"),
]
