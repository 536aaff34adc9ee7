"""Routes of the web app's pages."""

from django.urls import path

from web.views import LoginPageView, PageView

urlpatterns = [
    path("", PageView.as_view(page="catalog"), name="web-catalog"),
    path("login", LoginPageView.as_view(), name="web-login"),
    path("scripts/<slug:slug>", PageView.as_view(page="script"), name="web-script"),
    path("runs", PageView.as_view(page="runs"), name="web-runs"),
    path("runs/<uuid:pk>", PageView.as_view(page="run"), name="web-run"),
    path("account", PageView.as_view(page="account"), name="web-account"),
    path("users", PageView.as_view(page="users"), name="web-users"),
]
