"""Routes of the account API and of the seed tutorial."""

from django.urls import path, register_converter

from simple_rbas.api import DatabaseIdConverter
from users import legacy, oidc_views, user_views, views

register_converter(DatabaseIdConverter, "id")

api_urlpatterns = [
    path("auth/signup/", views.SignupView.as_view(), name="signup"),
    path("auth/login/", views.LoginView.as_view(), name="login"),
    path("auth/refresh/", views.RefreshView.as_view(), name="refresh"),
    path("auth/logout/", views.LogoutView.as_view(), name="logout"),
    path("auth/logout-all/", views.LogoutAllView.as_view(), name="logout-all"),
    path("auth/me/", views.MeView.as_view(), name="me"),
    path("auth/password/", views.PasswordChangeView.as_view(), name="password"),
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
