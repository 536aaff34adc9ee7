"""Routes of the OAuth2 / OpenID Connect provider, under /o/."""

from django.urls import path

from provider import views

# The names are DOT's, in its namespace, so its views and metadata find each other.
app_name = "oauth2_provider"

urlpatterns = [
    path("authorize/", views.AuthorizationView.as_view(), name="authorize"),
    path("token/", views.TokenView.as_view(), name="token"),
    path("revoke_token/", views.RevokeTokenView.as_view(), name="revoke-token"),
    path("introspect/", views.IntrospectTokenView.as_view(), name="introspect"),
    path("userinfo/", views.UserInfoView.as_view(), name="user-info"),
    path(
        ".well-known/openid-configuration",
        views.ConnectDiscoveryInfoView.as_view(),
        name="oidc-connect-discovery-info",
    ),
    path(".well-known/jwks.json", views.JwksInfoView.as_view(), name="jwks-info"),
]
