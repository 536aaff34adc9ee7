"""Notification endpoints: a user's subscriptions, and the delivery log."""

from drf_spectacular.utils import extend_schema
from rest_framework import exceptions, status
from rest_framework.generics import GenericAPIView
from rest_framework.response import Response
from rest_framework.views import APIView

from notifications import selectors, services
from notifications.serializers import (
    DeliverySerializer,
    SubscriptionCreatedSerializer,
    SubscriptionCreateSerializer,
    SubscriptionSerializer,
)
from simple_rbas.api import validated
from simple_rbas.openapi import PAGE_PARAMETERS, errors
from users import roles


class SubscriptionListView(GenericAPIView):
    """List your subscriptions, or subscribe to a script's runs."""

    required_policy = "authenticated"
    serializer_class = SubscriptionSerializer

    @extend_schema(
        tags=["notifications"],
        summary="Your notification subscriptions",
        parameters=PAGE_PARAMETERS,
        responses={200: SubscriptionSerializer(many=True), **errors(401, 403, 404)},
    )
    def get(self, request):
        page = self.paginate_queryset(selectors.subscription_list(user=request.user))
        return self.get_paginated_response(SubscriptionSerializer(page, many=True).data)

    @extend_schema(
        tags=["notifications"],
        summary="Subscribe to the end (or failure) of a script's runs, by email or webhook",
        request=SubscriptionCreateSerializer,
        responses={201: SubscriptionCreatedSerializer, **errors(400, 401, 403, 415)},
    )
    def post(self, request):
        data = validated(SubscriptionCreateSerializer, request.data)
        subscription, secret = services.subscription_create(
            user=request.user, levels=roles.request_levels(request), **data
        )
        subscription.secret = secret
        return Response(
            SubscriptionCreatedSerializer(subscription).data, status=status.HTTP_201_CREATED
        )


class SubscriptionDetailView(APIView):
    """Delete one of your subscriptions."""

    required_policy = "authenticated"

    @extend_schema(
        tags=["notifications"],
        summary="Unsubscribe",
        responses={204: None, **errors(401, 403, 404)},
    )
    def delete(self, request, pk: int):
        subscription = selectors.subscription_get(user=request.user, pk=pk)
        if subscription is None:
            raise exceptions.NotFound("No such subscription.")
        services.subscription_delete(subscription=subscription)
        return Response(status=status.HTTP_204_NO_CONTENT)


class DeliveryListView(GenericAPIView):
    """The delivery log: your notifications, or everyone's for the `admin` policy."""

    required_policy = "authenticated"
    serializer_class = DeliverySerializer

    @extend_schema(
        tags=["notifications"],
        summary="Notifications sent: channel, target, status, attempts, last error",
        parameters=PAGE_PARAMETERS,
        responses={200: DeliverySerializer(many=True), **errors(401, 403, 404)},
    )
    def get(self, request):
        deliveries = selectors.delivery_list(
            user=request.user, levels=roles.request_levels(request)
        )
        page = self.paginate_queryset(deliveries)
        return self.get_paginated_response(DeliverySerializer(page, many=True).data)
