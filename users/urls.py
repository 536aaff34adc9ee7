"""Routes of the account API and of the seed tutorial."""

from django.urls import path, register_converter

from simple_rbas.api import DatabaseIdConverter
from users import (
    email_views,
    invitation_views,
    legacy,
    oidc_views,
    token_views,
    user_views,
    views,
)

register_converter(DatabaseIdConverter, "id")

api_urlpatterns = [
    path("auth/signup/", views.SignupView.as_view(), name="signup"),
    path("auth/login/", views.LoginView.as_view(), name="login"),
    path("auth/refresh/", views.RefreshView.as_view(), name="refresh"),
    path("auth/csrf/", views.CsrfView.as_view(), name="csrf"),
    path("auth/logout/", views.LogoutView.as_view(), name="logout"),
    path("auth/logout-all/", views.LogoutAllView.as_view(), name="logout-all"),
    path("auth/me/", views.MeView.as_view(), name="me"),
    path("auth/password/", views.PasswordChangeView.as_view(), name="password"),
    path("auth/password-reset/", email_views.PasswordResetView.as_view(), name="password-reset"),
    path(
        "auth/password-reset/confirm/",
        email_views.PasswordResetConfirmView.as_view(),
        name="password-reset-confirm",
    ),
    path("auth/verify-email/", email_views.EmailVerifyView.as_view(), name="verify-email"),
    path(
        "auth/verify-email/resend/",
        email_views.EmailVerificationResendView.as_view(),
        name="verify-email-resend",
    ),
    path("auth/oidc/", oidc_views.ProviderListView.as_view(), name="oidc-providers"),
    path(
        "auth/oidc/<str:provider>/login/", oidc_views.ProviderLoginView.as_view(), name="oidc-login"
    ),
    path(
        "auth/oidc/<str:provider>/callback/",
        oidc_views.ProviderCallbackView.as_view(),
        name="oidc-callback",
    ),
    path("access/<str:policy>/", views.AccessView.as_view(), name="access"),
    path("users/", user_views.UserListView.as_view(), name="user-list"),
    path("users/<id:pk>/", user_views.UserDetailView.as_view(), name="user-detail"),
    path("tokens/", token_views.PersonalTokenListView.as_view(), name="token-list"),
    path("tokens/<id:pk>/", token_views.PersonalTokenDetailView.as_view(), name="token-detail"),
    path("invitations/", invitation_views.InvitationListView.as_view(), name="invitation-list"),
    path(
        "invitations/preview/",
        invitation_views.InvitationPreviewView.as_view(),
        name="invitation-preview",
    ),
    path(
        "invitations/accept/",
        invitation_views.InvitationAcceptView.as_view(),
        name="invitation-accept",
    ),
    path(
        "invitations/<id:pk>/",
        invitation_views.InvitationDetailView.as_view(),
        name="invitation-detail",
    ),
    path(
        "invitations/<id:pk>/resend/",
        invitation_views.InvitationResendView.as_view(),
        name="invitation-resend",
    ),
    path(
        "invitations/<id:pk>/revoke/",
        invitation_views.InvitationRevokeView.as_view(),
        name="invitation-revoke",
    ),
]

legacy_urlpatterns = [
    path("user-auth/", legacy.LegacyLoginView.as_view(), name="user-login"),
    path("user-signup/", legacy.LegacySignupView.as_view(), name="user-signup"),
    *(
        path(
            route,
            legacy.LegacyPolicyView.as_view(
                required_policy=policy, message=message, policy_denied_message=denied
            ),
            name=route.rstrip("/"),
        )
        for route, policy, message, denied in legacy.LEGACY_POLICY_ROUTES
    ),
]
