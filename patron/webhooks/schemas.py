"""Shapes of the webhooks API. Parsing only; every change goes through `services`."""

from __future__ import annotations

import datetime
from typing import Any, Literal

from ninja import Field, Schema

from patron.core.schemas import InputSchema, PageParams, UserRef

EventType = Literal[
    "contact.created",
    "contact.updated",
    "contact.deleted",
    "contact.merged",
    "account.created",
    "account.updated",
    "account.deleted",
    "account.merged",
]
DeliveryStatus = Literal["pending", "retrying", "succeeded", "failed"]


class EndpointIn(InputSchema):
    url: str = Field(..., max_length=500, description="An http:// or https:// address.")
    description: str = Field("", max_length=200)
    event_types: list[EventType] = Field(
        [], description="The events to send; an empty list sends all of them."
    )
    is_active: bool = True


class EndpointPatch(InputSchema):
    """Change an endpoint; `version` is the one you read (a stale one answers 409).

    Fields left out stay as they are. Turning an endpoint on clears its failure streak."""

    version: int
    url: str = Field(None, max_length=500)  # type: ignore[assignment]
    description: str = Field(None, max_length=200)  # type: ignore[assignment]
    event_types: list[EventType] = Field(None)  # type: ignore[assignment, arg-type]
    is_active: bool = Field(None)  # type: ignore[assignment]


class EndpointOut(Schema):
    id: int
    version: int
    url: str
    description: str
    event_types: list[str]
    is_active: bool
    disabled_reason: str
    consecutive_failures: int
    failing_since: datetime.datetime | None
    created_by: UserRef | None
    created_at: datetime.datetime
    updated_at: datetime.datetime


class SecretOut(Schema):
    secret: str = Field(..., description="The signing secret, `whsec_<base64>`.")
    previous_secret_expires_at: datetime.datetime | None = Field(
        None, description="Until then requests are also signed with the previous secret."
    )


class EndpointCreatedOut(EndpointOut):
    secret: str = Field(..., description="The signing secret, `whsec_<base64>`.")


class AttemptOut(Schema):
    number: int
    attempted_at: datetime.datetime
    request_headers: dict[str, str]
    response_status_code: int | None
    response_body: str
    error: str
    duration_ms: int | None
    succeeded: bool


class DeliveryOut(Schema):
    id: int
    endpoint: int = Field(..., alias="endpoint_id")
    message_id: str
    event_type: str
    status: DeliveryStatus
    attempt_count: int
    next_attempt_at: datetime.datetime | None
    last_attempt_at: datetime.datetime | None
    response_status_code: int | None
    response_body: str
    error: str
    duration_ms: int | None
    redelivery_of: int | None = Field(None, alias="redelivery_of_id")
    created_at: datetime.datetime
    completed_at: datetime.datetime | None
    payload: dict[str, Any]


class DeliveryDetailOut(DeliveryOut):
    attempts: list[AttemptOut]

    @staticmethod
    def resolve_attempts(obj: Any) -> list[Any]:
        return list(obj.attempts.all())


class DeliveryPage(Schema):
    results: list[DeliveryOut]
    next_cursor: str | None
    previous_cursor: str | None


class DeliveryListParams(PageParams):
    endpoint: int | None = Field(None, description="Only deliveries to this endpoint.")
    status: list[DeliveryStatus] = Field([], description="Only these statuses (repeat).")
    event_type: str | None = Field(None, description="Only this event type.")
    message_id: str | None = Field(None, description="Only this message (`webhook-id`).")
