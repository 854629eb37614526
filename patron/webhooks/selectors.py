"""Every read of webhook configuration and the delivery log, through `.restrict()`."""

from __future__ import annotations

from typing import Any

from django.db.models import Count, OuterRef, QuerySet, Subquery
from django.db.models.functions import Coalesce

from patron.core.exceptions import PermissionDeniedError
from patron.core.permissions import can

from .models import MANAGE_PERMISSION, WebhookDelivery, WebhookEndpoint

OPEN_STATUSES = [WebhookDelivery.Status.PENDING, WebhookDelivery.Status.RETRYING]


def require_manage(user: Any) -> None:
    """Pages and API lists of the app answer 403 to a role without `webhook.manage`."""
    if not can(user, MANAGE_PERMISSION):
        raise PermissionDeniedError("Your role does not allow managing webhooks.")


def endpoints_visible(*, user: Any) -> QuerySet[WebhookEndpoint]:
    return WebhookEndpoint.objects.restrict(user, "view")


def endpoints_for_list(*, user: Any) -> list[WebhookEndpoint]:
    """Endpoints with their latest delivery's status and how many deliveries wait to be sent;
    one query however many endpoints and deliveries there are (subqueries on the log's
    indexes, never a join over the whole log)."""
    latest = WebhookDelivery.objects.filter(endpoint=OuterRef("pk")).order_by("-created_at", "-id")
    waiting = (
        WebhookDelivery.objects.filter(endpoint=OuterRef("pk"), status__in=OPEN_STATUSES)
        .order_by()
        .values("endpoint")
        .annotate(n=Count("*"))
        .values("n")
    )
    return list(
        endpoints_visible(user=user)
        .annotate(
            last_status=Subquery(latest.values("status")[:1]),
            last_delivery_at=Subquery(latest.values("created_at")[:1]),
            open_count=Coalesce(Subquery(waiting), 0),
        )
        .select_related("created_by")
        .order_by("url", "id")
    )


def endpoint_get(*, user: Any, pk: int) -> WebhookEndpoint:
    return endpoints_visible(user=user).select_related("created_by").get(pk=pk)


def deliveries_visible(*, user: Any) -> QuerySet[WebhookDelivery]:
    return WebhookDelivery.objects.restrict(user, "view").select_related("endpoint")


def delivery_get(*, user: Any, pk: int) -> WebhookDelivery:
    return deliveries_visible(user=user).select_related("redelivery_of").get(pk=pk)
