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
    path("account/tokens", PageView.as_view(page="tokens"), name="web-tokens"),
    path(
        "account/notifications",
        PageView.as_view(page="notifications"),
        name="web-notifications",
    ),
    path("users", PageView.as_view(page="users"), name="web-users"),
    path("secrets", PageView.as_view(page="secrets"), name="web-secrets"),
    path("schedules", PageView.as_view(page="schedules"), name="web-schedules"),
    path("applications", PageView.as_view(page="applications"), name="web-applications"),
    path("audit", PageView.as_view(page="audit"), name="web-audit"),
    # The pages that emailed links open: public, as their token is the credential.
    path("forgot-password", PageView.as_view(page="forgot-password"), name="web-forgot-password"),
    path("reset-password", PageView.as_view(page="reset-password"), name="web-reset-password"),
    path("verify-email", PageView.as_view(page="verify-email"), name="web-verify-email"),
    path("invitation", PageView.as_view(page="invitation"), name="web-invitation"),
]
