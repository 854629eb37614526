"""The one filter definition of the delivery log, shared by the endpoint page and the API."""

from __future__ import annotations

import django_filters
from django.core.exceptions import ValidationError

from .models import EVENT_TYPES, TEST_EVENT_TYPE, WebhookDelivery

DELIVERY_ORDERING = ["-created_at", "-id"]


class DeliveryFilterSet(django_filters.FilterSet):
    endpoint = django_filters.NumberFilter(field_name="endpoint_id", label="Endpoint id")
    status = django_filters.MultipleChoiceFilter(
        choices=WebhookDelivery.Status.choices, label="Status"
    )
    event_type = django_filters.ChoiceFilter(
        choices=[(t, t) for t in (*EVENT_TYPES, TEST_EVENT_TYPE)], label="Event type"
    )
    message_id = django_filters.CharFilter(label="Message id (webhook-id)")

    class Meta:
        model = WebhookDelivery
        fields: list[str] = []

    def filtered(self):
        """The filtered queryset, or a ValidationError naming every bad parameter."""
        if not self.is_valid():
            raise ValidationError({k: list(v) for k, v in self.errors.items()})
        return self.qs
