"""Routes of the notifications API."""

from django.urls import path

from notifications import views

urlpatterns = [
    path(
        "notifications/subscriptions/",
        views.SubscriptionListView.as_view(),
        name="notification-subscriptions",
    ),
    path(
        "notifications/subscriptions/<id:pk>/",
        views.SubscriptionDetailView.as_view(),
        name="notification-subscription",
    ),
    path(
        "notifications/deliveries/",
        views.DeliveryListView.as_view(),
        name="notification-deliveries",
    ),
]
