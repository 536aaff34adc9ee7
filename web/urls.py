"""Routes of the web app's pages."""

from django.urls import path

from web.views import PageView

urlpatterns = [
    path("", PageView.as_view(page="catalog"), name="web-catalog"),
    path("login", PageView.as_view(page="login"), name="web-login"),
    path("scripts/<slug:slug>", PageView.as_view(page="script"), name="web-script"),
    path("runs/<uuid:pk>", PageView.as_view(page="run"), name="web-run"),
]
