"""Webhooks API: endpoints, their secrets, the delivery log, redelivery and test events.

Administrators only (`webhook.manage`): a list or a create answers 403 to other roles, and
one endpoint or delivery answers 404, as records outside `.restrict()` do everywhere.
"""

from __future__ import annotations

from django.core.exceptions import ValidationError
from django.http import HttpRequest
from ninja import Query, Router, Status

from patron.core.models import User
from patron.core.schemas import ERRORS, WRITE_ERRORS
from patron.utils.cursor import paginate

from . import selectors, services
from .filters import DELIVERY_ORDERING, DeliveryFilterSet
from .models import EVENT_TYPES
from .schemas import (
    DeliveryDetailOut,
    DeliveryListParams,
    DeliveryOut,
    DeliveryPage,
    EndpointCreatedOut,
    EndpointIn,
    EndpointOut,
    EndpointPatch,
    SecretOut,
)

router = Router(tags=["Webhooks"])


def _actor(request: HttpRequest) -> User:
    return request.auth  # type: ignore[attr-defined,return-value]


@router.get("/webhooks/event-types", response={200: list[str], **ERRORS})
def event_type_list(request: HttpRequest):
    """The event types an endpoint may subscribe to."""
    selectors.require_manage(_actor(request))
    return list(EVENT_TYPES)


@router.get("/webhooks/endpoints", response={200: list[EndpointOut], **ERRORS})
def endpoint_list(request: HttpRequest):
    user = _actor(request)
    selectors.require_manage(user)
    return list(selectors.endpoints_visible(user=user).select_related("created_by"))


@router.post("/webhooks/endpoints", response={201: EndpointCreatedOut, **ERRORS})
def endpoint_create(request: HttpRequest, payload: EndpointIn):
    """Add an endpoint. The answer carries its signing secret (also readable later)."""
    endpoint = services.endpoint_create(actor=_actor(request), data=payload.model_dump())
    return Status(201, endpoint)


@router.get("/webhooks/endpoints/{endpoint_id}", response={200: EndpointOut, **ERRORS})
def endpoint_detail(request: HttpRequest, endpoint_id: int):
    return selectors.endpoint_get(user=_actor(request), pk=endpoint_id)


@router.patch("/webhooks/endpoints/{endpoint_id}", response={200: EndpointOut, **WRITE_ERRORS})
def endpoint_update(request: HttpRequest, endpoint_id: int, payload: EndpointPatch):
    """Change an endpoint; send the `version` you read (a stale one answers 409)."""
    user = _actor(request)
    endpoint = selectors.endpoint_get(user=user, pk=endpoint_id)
    data = payload.model_dump(exclude_unset=True, exclude={"version"})
    return services.endpoint_update(
        actor=user, endpoint=endpoint, expected_version=payload.version, data=data
    )


@router.delete("/webhooks/endpoints/{endpoint_id}", response={204: None, **ERRORS})
def endpoint_delete(request: HttpRequest, endpoint_id: int):
    """Delete an endpoint and its delivery log."""
    user = _actor(request)
    services.endpoint_delete(actor=user, endpoint=selectors.endpoint_get(user=user, pk=endpoint_id))
    return Status(204, None)


@router.get("/webhooks/endpoints/{endpoint_id}/secret", response={200: SecretOut, **ERRORS})
def endpoint_secret(request: HttpRequest, endpoint_id: int):
    """The endpoint's signing secret, for the receiver to verify signatures with."""
    return selectors.endpoint_get(user=_actor(request), pk=endpoint_id)


@router.post("/webhooks/endpoints/{endpoint_id}/secret/rotate", response={200: SecretOut, **ERRORS})
def endpoint_rotate_secret(request: HttpRequest, endpoint_id: int):
    """A new secret; the old one keeps signing too for 24 hours."""
    user = _actor(request)
    endpoint = selectors.endpoint_get(user=user, pk=endpoint_id)
    return services.endpoint_rotate_secret(actor=user, endpoint=endpoint)


@router.post("/webhooks/endpoints/{endpoint_id}/test", response={202: DeliveryOut, **ERRORS})
def endpoint_send_test(request: HttpRequest, endpoint_id: int):
    """Queue a `webhook.test` event to the endpoint; follow it in the delivery log."""
    user = _actor(request)
    endpoint = selectors.endpoint_get(user=user, pk=endpoint_id)
    return Status(202, services.endpoint_send_test(actor=user, endpoint=endpoint))


@router.get("/webhooks/deliveries", response={200: DeliveryPage, **ERRORS})
def delivery_list(request: HttpRequest, params: Query[DeliveryListParams]):
    """The delivery log, newest first; filter by endpoint, status, event type or message."""
    user = _actor(request)
    selectors.require_manage(user)
    filterset = DeliveryFilterSet(request.GET, queryset=selectors.deliveries_visible(user=user))
    known = set(filterset.filters) | {"cursor", "limit"}
    unknown = sorted(set(request.GET) - known)
    if unknown:
        raise ValidationError({name: ["Unknown parameter."] for name in unknown})
    queryset = filterset.filtered()
    try:
        page = paginate(
            queryset, ordering=DELIVERY_ORDERING, cursor=params.cursor, limit=params.limit
        )
    except (ValidationError, ValueError, TypeError) as exc:
        if isinstance(exc, ValidationError) and hasattr(exc, "error_dict"):
            raise  # already names the cursor
        # A well-formed cursor whose values do not fit this ordering (hand-made, or copied
        # from another list).
        raise ValidationError(
            {"cursor": ["This cursor is not valid; start from the first page."]}
        ) from exc
    return {
        "results": page.items,
        "next_cursor": page.next_cursor,
        "previous_cursor": page.previous_cursor,
    }


@router.get("/webhooks/deliveries/{delivery_id}", response={200: DeliveryDetailOut, **ERRORS})
def delivery_detail(request: HttpRequest, delivery_id: int):
    """One delivery with every attempt: request headers, answer excerpt, error."""
    return selectors.delivery_get(user=_actor(request), pk=delivery_id)


@router.post("/webhooks/deliveries/{delivery_id}/redeliver", response={202: DeliveryOut, **ERRORS})
def delivery_redeliver(request: HttpRequest, delivery_id: int):
    """Send the message again (same `webhook-id` and body) as a new delivery."""
    user = _actor(request)
    delivery = selectors.delivery_get(user=user, pk=delivery_id)
    return Status(202, services.delivery_redeliver(actor=user, delivery=delivery))
