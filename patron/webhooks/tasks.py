"""Background jobs that send webhooks. Each fetches what it needs, calls a service, and is
safe to run twice (a finished delivery is never sent again)."""

from __future__ import annotations

from django.tasks import task

from patron.core import context

from . import services
from .models import WebhookDelivery


@task
def deliveries_send(delivery_ids: list[int]) -> None:
    """First attempt of new deliveries, queued when the change that made them commits."""
    with context.bind(origin="job"):
        for pk in delivery_ids:
            services.delivery_attempt(WebhookDelivery(pk=pk), expected_attempt_count=0)


@task
def delivery_retry(delivery_id: int, attempt_count: int) -> None:
    """A retry, queued to run at the delivery's `next_attempt_at`; a no-op if another worker
    (or `deliveries_send_due`) has made that attempt already."""
    with context.bind(origin="job"):
        services.delivery_attempt(
            WebhookDelivery(pk=delivery_id), expected_attempt_count=attempt_count
        )
