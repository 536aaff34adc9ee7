"""Routes of the schedules API."""

from django.urls import path

from schedules import views

urlpatterns = [
    path("schedules/", views.ScheduleListView.as_view(), name="schedule-list"),
    path("schedules/<int:pk>/", views.ScheduleDetailView.as_view(), name="schedule-detail"),
    path("schedules/<int:pk>/pause/", views.SchedulePauseView.as_view(), name="schedule-pause"),
    path("schedules/<int:pk>/resume/", views.ScheduleResumeView.as_view(), name="schedule-resume"),
]
