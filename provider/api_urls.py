"""Routes of the application registration API, under /api/."""

from django.urls import path

from provider import api_views

urlpatterns = [
    path("oauth/applications/", api_views.ApplicationListView.as_view(), name="oauth-app-list"),
    path(
        "oauth/applications/<id:pk>/",
        api_views.ApplicationDetailView.as_view(),
        name="oauth-app-detail",
    ),
]
