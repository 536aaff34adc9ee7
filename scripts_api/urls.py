"""Routes of the script catalog and runs."""

from django.urls import path, register_converter

from scripts_api import views
from scripts_api.versions import VersionConverter
from simple_rbas.api import StoredNameConverter

register_converter(StoredNameConverter, "name")
register_converter(VersionConverter, "version")

urlpatterns = [
    path("scripts/", views.ScriptListView.as_view(), name="script-list"),
    path("script-problems/", views.RejectedFileListView.as_view(), name="script-problems"),
    path("scripts/<slug:slug>/", views.ScriptDetailView.as_view(), name="script-detail"),
    path("scripts/<slug:slug>/runs/", views.ScriptRunView.as_view(), name="script-run"),
    path(
        "scripts/<slug:slug>/versions/",
        views.ScriptVersionListView.as_view(),
        name="script-versions",
    ),
    path(
        "scripts/<slug:slug>/versions/<version:version>/",
        views.ScriptVersionDetailView.as_view(),
        name="script-version",
    ),
    path("runs/", views.RunListView.as_view(), name="run-list"),
    path("runs/<uuid:pk>/", views.RunDetailView.as_view(), name="run-detail"),
    path("runs/<uuid:pk>/cancel/", views.RunCancelView.as_view(), name="run-cancel"),
    path("runs/<uuid:pk>/output/", views.RunOutputView.as_view(), name="run-output"),
    path(
        "runs/<uuid:pk>/artifacts/<name:name>",
        views.RunArtifactView.as_view(),
        name="run-artifact",
    ),
]
