"""Outbound webhooks: the endpoints that receive change events, and every delivery to them."""

from __future__ import annotations

import json
from typing import Any

from django.conf import settings
from django.db import models
from django.utils import timezone

from patron.core.permissions import ACTIONS, can

# The one permission of this app: administrators have it through "*"; another role gets it by
# listing "webhook.manage" (or "webhook.*").
MANAGE_PERMISSION = "webhook.manage"

OBJECT_TYPES = ("contact", "account")
VERBS = ("created", "updated", "deleted", "merged")
EVENT_TYPES = tuple(f"{obj}.{verb}" for obj in OBJECT_TYPES for verb in VERBS)
TEST_EVENT_TYPE = "webhook.test"  # sent by "Send test event", whatever the subscription


class WebhookQuerySet(models.QuerySet):
    """`.restrict(user, action)` for webhook configuration: all of it for a user whose role
    grants `webhook.manage`, none of it otherwise (a hidden endpoint answers 404)."""

    def restrict(self, user: Any, action: str = "view") -> WebhookQuerySet:
        if action not in ACTIONS:
            raise ValueError(f"Unknown action {action!r}")
        return self if can(user, MANAGE_PERMISSION) else self.none()


class WebhookEndpoint(models.Model):
    """A URL that receives signed change events about contacts and accounts."""

    url = models.URLField(max_length=500)
    description = models.CharField(max_length=200, blank=True)
    # Event types such as "contact.updated"; an empty list subscribes to all of them.
    event_types = models.JSONField(default=list, blank=True)
    # Standard Webhooks form, "whsec_<base64>": the key of the HMAC-SHA256 signatures.
    secret = models.CharField(max_length=100, editable=False)
    # After a rotation the old secret also signs, until `previous_secret_expires_at`, so a
    # receiver can switch without losing messages.
    previous_secret = models.CharField(max_length=100, blank=True, editable=False)
    previous_secret_expires_at = models.DateTimeField(null=True, blank=True, editable=False)
    is_active = models.BooleanField(default=True)
    disabled_reason = models.CharField(max_length=200, blank=True)
    # Health: failed attempts in a row and when that streak began (reset by a success).
    consecutive_failures = models.PositiveIntegerField(default=0, editable=False)
    failing_since = models.DateTimeField(null=True, blank=True, editable=False)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    version = models.PositiveIntegerField(default=1, editable=False)
    created_at = models.DateTimeField(default=timezone.now, editable=False)
    updated_at = models.DateTimeField(default=timezone.now, editable=False)

    objects = WebhookQuerySet.as_manager()

    class Meta:
        ordering = ["url", "id"]

    def __str__(self) -> str:
        return self.url

    def subscribes_to(self, event_type: str) -> bool:
        return not self.event_types or event_type in self.event_types


class WebhookDelivery(models.Model):
    """One message to one endpoint, sent until it succeeds or its retries run out.

    Written in the transaction of the change it reports (a transactional outbox), so an
    event is never lost nor sent for a change that was rolled back. `body` is the exact JSON
    sent, byte for byte, on every attempt.
    """

    class Status(models.TextChoices):
        PENDING = "pending", "Pending"
        RETRYING = "retrying", "Retrying"
        SUCCEEDED = "succeeded", "Succeeded"
        FAILED = "failed", "Failed"

    endpoint = models.ForeignKey(
        WebhookEndpoint, on_delete=models.CASCADE, related_name="deliveries"
    )
    # The Standard Webhooks `webhook-id`: one per event, shared by its deliveries to several
    # endpoints and by redeliveries, so that receivers can ignore a message seen before.
    message_id = models.CharField(max_length=40, db_index=True)
    event_type = models.CharField(max_length=50)
    body = models.TextField()
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.PENDING)
    attempt_count = models.PositiveSmallIntegerField(default=0)
    next_attempt_at = models.DateTimeField(null=True, blank=True)
    last_attempt_at = models.DateTimeField(null=True, blank=True)
    response_status_code = models.PositiveSmallIntegerField(null=True, blank=True)
    response_body = models.TextField(blank=True)  # the first characters only
    error = models.TextField(blank=True)
    duration_ms = models.PositiveIntegerField(null=True, blank=True)
    redelivery_of = models.ForeignKey(
        "self", null=True, blank=True, on_delete=models.SET_NULL, related_name="redeliveries"
    )
    created_at = models.DateTimeField(default=timezone.now, editable=False)
    completed_at = models.DateTimeField(null=True, blank=True)

    objects = WebhookQuerySet.as_manager()

    class Meta:
        ordering = ["-created_at", "-id"]
        verbose_name_plural = "webhook deliveries"
        indexes = [
            models.Index(
                fields=["endpoint", "-created_at", "-id"], name="webhook_delivery_log_idx"
            ),
            models.Index(fields=["status", "next_attempt_at"], name="webhook_delivery_due_idx"),
        ]

    def __str__(self) -> str:
        return f"{self.event_type} {self.message_id} → {self.endpoint_id}"

    @property
    def payload(self) -> Any:
        return json.loads(self.body)

    @property
    def is_open(self) -> bool:
        return self.status in (self.Status.PENDING, self.Status.RETRYING)


class WebhookAttempt(models.Model):
    """One HTTP request of a delivery: what was sent and what came back, for the log."""

    delivery = models.ForeignKey(WebhookDelivery, on_delete=models.CASCADE, related_name="attempts")
    number = models.PositiveSmallIntegerField()
    attempted_at = models.DateTimeField(default=timezone.now)
    request_headers = models.JSONField(default=dict)
    response_status_code = models.PositiveSmallIntegerField(null=True, blank=True)
    response_body = models.TextField(blank=True)
    error = models.TextField(blank=True)
    duration_ms = models.PositiveIntegerField(null=True, blank=True)
    succeeded = models.BooleanField(default=False)

    class Meta:
        ordering = ["delivery", "number"]
        constraints = [
            models.UniqueConstraint(fields=["delivery", "number"], name="webhook_attempt_unique")
        ]

    def __str__(self) -> str:
        return f"Attempt {self.number} of delivery {self.delivery_id}"
