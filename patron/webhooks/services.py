"""Every write of the webhooks app: endpoints, their secrets, attempts, redeliveries.

Endpoint writes are audited like any configuration change (the secrets never enter the
audit trail). Webhook objects are not customer records, so none of this sends webhooks.

Sending follows the Standard Webhooks retry schedule: an attempt at once, then after 5 s,
5 min, 30 min, 2 h, 5 h, 10 h and 10 h; a delivery still failing after that is `failed`.
An endpoint whose every attempt has failed for five days is turned off.
"""

from __future__ import annotations

import datetime
import logging
from collections.abc import Mapping
from typing import Any
from urllib.parse import urlsplit

from django.core.exceptions import ValidationError
from django.core.validators import URLValidator
from django.db import transaction
from django.db.models import F
from django.db.models.functions import Coalesce
from django.utils import timezone

from patron.core import audit
from patron.core.exceptions import PermissionDeniedError
from patron.core.permissions import can
from patron.core.versioning import save_versioned

from . import outbox, sender
from .models import (
    EVENT_TYPES,
    MANAGE_PERMISSION,
    TEST_EVENT_TYPE,
    WebhookAttempt,
    WebhookDelivery,
    WebhookEndpoint,
)

logger = logging.getLogger("patron.webhooks")

ENDPOINT_FIELDS = ["url", "description", "event_types", "is_active", "disabled_reason"]
RETRY_DELAYS = [
    datetime.timedelta(seconds=5),
    datetime.timedelta(minutes=5),
    datetime.timedelta(minutes=30),
    datetime.timedelta(hours=2),
    datetime.timedelta(hours=5),
    datetime.timedelta(hours=10),
    datetime.timedelta(hours=10),
]
MAX_ATTEMPTS = len(RETRY_DELAYS) + 1
# An attempt in flight holds its delivery this long; a worker that died mid-request lets it
# become due again after that (longer than the request timeout).
ATTEMPT_LEASE = datetime.timedelta(minutes=2)
DISABLE_AFTER = datetime.timedelta(days=5)
PREVIOUS_SECRET_GRACE = datetime.timedelta(hours=24)
OPEN = (WebhookDelivery.Status.PENDING, WebhookDelivery.Status.RETRYING)
_url_validator = URLValidator(schemes=["http", "https"])


def _require_manage(actor: Any) -> None:
    if actor is not None and not can(actor, MANAGE_PERMISSION):
        raise PermissionDeniedError("Your role does not allow managing webhooks.")


# --- endpoints -----------------------------------------------------------------------------


def endpoint_clean_data(data: Mapping[str, Any]) -> dict[str, Any]:
    """The endpoint fields of `data`, normalised; a ValidationError names each bad one.

    A URL whose host is or resolves to a private or internal address is refused here, with
    a message, and again at every send (`sender.post`), where it counts."""
    allowed = {"url", "description", "event_types", "is_active"}
    unknown = sorted(set(data) - allowed)
    if unknown:
        raise ValidationError({name: ["Unknown field."] for name in unknown})
    clean = dict(data)
    errors: dict[str, list[str]] = {}
    if "url" in clean:
        url = (clean["url"] or "").strip()
        try:
            _url_validator(url)
        except ValidationError:
            errors["url"] = ["Enter a full http:// or https:// address."]
        else:
            if urlsplit(url).username or urlsplit(url).password:
                errors["url"] = ["Put no user name or password in the address."]
            elif problem := sender.url_problem(url):
                errors["url"] = [problem]
        clean["url"] = url
    if "description" in clean:
        clean["description"] = (clean["description"] or "").strip()
    if "event_types" in clean:
        types = clean["event_types"] or []
        unknown_types = sorted({t for t in types if t not in EVENT_TYPES})
        if unknown_types:
            errors["event_types"] = [
                f"Unknown event type {t!r}; choose from {', '.join(EVENT_TYPES)}."
                for t in unknown_types
            ]
        clean["event_types"] = [t for t in EVENT_TYPES if t in set(types)]  # canonical order
    if errors:
        raise ValidationError(errors)
    return clean


@transaction.atomic
def endpoint_create(*, actor: Any, data: Mapping[str, Any]) -> WebhookEndpoint:
    """Add an endpoint with a new signing secret; it receives events from this moment."""
    _require_manage(actor)
    clean = endpoint_clean_data(data)
    if "url" not in clean:
        raise ValidationError({"url": ["This field is required."]})
    endpoint = WebhookEndpoint(
        **clean,
        secret=sender.new_secret(),
        created_by=actor if getattr(actor, "pk", None) else None,
    )
    endpoint.full_clean()
    endpoint.save()
    audit.record_create(actor=actor, obj=endpoint, fields=ENDPOINT_FIELDS)
    return endpoint


@transaction.atomic
def endpoint_update(
    *,
    actor: Any,
    endpoint: WebhookEndpoint,
    expected_version: int | None,
    data: Mapping[str, Any],
) -> WebhookEndpoint:
    """Change an endpoint; turning it back on also clears its failure streak."""
    _require_manage(actor)
    clean = endpoint_clean_data(data)
    before = audit.snapshot(endpoint, ENDPOINT_FIELDS)
    for name, value in clean.items():
        setattr(endpoint, name, value)
    fields = list(clean)
    if clean.get("is_active") and not before["is_active"]:
        endpoint.disabled_reason = ""
        endpoint.consecutive_failures = 0
        endpoint.failing_since = None
        fields += ["disabled_reason", "consecutive_failures", "failing_since"]
    endpoint.full_clean()
    save_versioned(endpoint, expected_version=expected_version, fields=fields)
    changes = audit.diff(before, audit.snapshot(endpoint, ENDPOINT_FIELDS))
    if changes:
        audit.record(actor=actor, action="update", obj=endpoint, changes=changes)
    return endpoint


@transaction.atomic
def endpoint_delete(*, actor: Any, endpoint: WebhookEndpoint) -> None:
    """Delete an endpoint and its delivery log; nothing more is sent to it."""
    _require_manage(actor)
    audit.record_delete(actor=actor, obj=endpoint, fields=ENDPOINT_FIELDS)
    endpoint.delete()


@transaction.atomic
def endpoint_rotate_secret(
    *, actor: Any, endpoint: WebhookEndpoint, now: datetime.datetime | None = None
) -> WebhookEndpoint:
    """Give the endpoint a new secret. For 24 hours requests are signed with the old one too
    (two signatures in `webhook-signature`), so the receiver can switch without a gap."""
    _require_manage(actor)
    now = now or timezone.now()
    endpoint.previous_secret = endpoint.secret
    endpoint.previous_secret_expires_at = now + PREVIOUS_SECRET_GRACE
    endpoint.secret = sender.new_secret()
    save_versioned(
        endpoint,
        expected_version=None,
        fields=["secret", "previous_secret", "previous_secret_expires_at"],
    )
    # The secrets themselves never enter the audit trail.
    audit.record(
        actor=actor,
        action="update",
        obj=endpoint,
        changes={"secret": ["(previous secret)", "(new secret)"]},
    )
    return endpoint


def signing_secrets(endpoint: WebhookEndpoint, now: datetime.datetime) -> list[str]:
    """The current secret, and the previous one while its grace period lasts."""
    result = [endpoint.secret]
    expires = endpoint.previous_secret_expires_at
    if endpoint.previous_secret and expires is not None and expires > now:
        result.append(endpoint.previous_secret)
    return result


def _endpoint_disable(*, endpoint: WebhookEndpoint, reason: str) -> None:
    """Turned off by Patron itself (actor None), audited like a change by a person."""
    updated = WebhookEndpoint.objects.filter(pk=endpoint.pk, is_active=True).update(
        is_active=False, disabled_reason=reason, version=F("version") + 1, updated_at=timezone.now()
    )
    if updated:
        endpoint.is_active, endpoint.disabled_reason = False, reason
        audit.record(
            actor=None,
            action="update",
            obj=endpoint,
            changes={"is_active": [True, False], "disabled_reason": ["", reason]},
        )
        logger.warning("Webhook endpoint %s turned off: %s", endpoint.pk, reason)


# --- deliveries ----------------------------------------------------------------------------


def _enqueue_on_commit(delivery: WebhookDelivery) -> None:
    transaction.on_commit(outbox.SendOnCommit([delivery.pk]), robust=True)


def _new_delivery(
    *, endpoint: WebhookEndpoint, message_id: str, event_type: str, body: str, **extra: Any
) -> WebhookDelivery:
    now = timezone.now()
    return WebhookDelivery.objects.create(
        endpoint=endpoint,
        message_id=message_id,
        event_type=event_type,
        body=body,
        next_attempt_at=now,
        created_at=now,
        **extra,
    )


def _require_active(endpoint: WebhookEndpoint) -> None:
    if not endpoint.is_active:
        raise ValidationError("This endpoint is turned off; turn it on first.")


@transaction.atomic
def endpoint_send_test(*, actor: Any, endpoint: WebhookEndpoint) -> WebhookDelivery:
    """Queue a `webhook.test` event to the endpoint, whatever its subscriptions."""
    _require_manage(actor)
    _require_active(endpoint)
    now = timezone.now()
    body = outbox.dumps(
        {
            "type": TEST_EVENT_TYPE,
            "timestamp": outbox.iso(now),
            "data": {
                "endpoint_id": endpoint.pk,
                "message": "A test event from Patron. Answer with a 2xx status code.",
            },
        }
    )
    delivery = _new_delivery(
        endpoint=endpoint,
        message_id=sender.new_message_id(),
        event_type=TEST_EVENT_TYPE,
        body=body,
    )
    audit.record_create(actor=actor, obj=delivery, fields=["endpoint", "event_type", "message_id"])
    _enqueue_on_commit(delivery)
    return delivery


@transaction.atomic
def delivery_redeliver(*, actor: Any, delivery: WebhookDelivery) -> WebhookDelivery:
    """Send the same message again as a new delivery with a fresh retry schedule.

    Same `webhook-id` and body, as Standard Webhooks asks, so a receiver that did process
    it can tell; the original stays in the log as it was."""
    _require_manage(actor)
    endpoint = delivery.endpoint
    _require_active(endpoint)
    copy = _new_delivery(
        endpoint=endpoint,
        message_id=delivery.message_id,
        event_type=delivery.event_type,
        body=delivery.body,
        redelivery_of=delivery,
    )
    audit.record_create(
        actor=actor, obj=copy, fields=["endpoint", "event_type", "message_id", "redelivery_of"]
    )
    _enqueue_on_commit(copy)
    return copy


def delivery_attempt(
    delivery: WebhookDelivery,
    *,
    now: datetime.datetime | None = None,
    expected_attempt_count: int | None = None,
) -> WebhookDelivery:
    """Make the next attempt of `delivery` if it is due, and record what came of it.

    Safe to run twice and from several workers: a finished delivery is left alone, and the
    attempt is claimed with one conditional UPDATE on `attempt_count`, which only one caller
    wins. Without `expected_attempt_count` the delivery must be due at `now`; the task that
    was scheduled for an attempt passes the count it was scheduled after instead, and finds
    nothing to do if another worker made that attempt already.
    """
    now = now or timezone.now()
    current = WebhookDelivery.objects.select_related("endpoint").filter(pk=delivery.pk).first()
    if current is None or not current.is_open:
        return current or delivery
    if expected_attempt_count is not None:
        if current.attempt_count != expected_attempt_count:
            return current
    elif current.next_attempt_at is None or current.next_attempt_at > now:
        return current
    number = current.attempt_count + 1
    claimed = WebhookDelivery.objects.filter(
        pk=current.pk, status__in=OPEN, attempt_count=current.attempt_count
    ).update(attempt_count=number, next_attempt_at=now + ATTEMPT_LEASE, last_attempt_at=now)
    if not claimed:
        return WebhookDelivery.objects.select_related("endpoint").get(pk=current.pk)
    current.attempt_count, current.last_attempt_at = number, now

    endpoint = current.endpoint
    if endpoint.is_active:
        headers = sender.request_headers(
            secrets_=signing_secrets(endpoint, now),
            message_id=current.message_id,
            timestamp=now,
            body=current.body,
        )
        outcome = sender.post(endpoint.url, body=current.body, headers=headers)
    else:
        outcome = sender.Outcome(error="The endpoint is turned off; nothing was sent.")
    _record_attempt(current, number=number, outcome=outcome, now=now, final=not endpoint.is_active)
    return current


@transaction.atomic
def _record_attempt(
    delivery: WebhookDelivery,
    *,
    number: int,
    outcome: sender.Outcome,
    now: datetime.datetime,
    final: bool,
) -> None:
    WebhookAttempt.objects.create(
        delivery=delivery,
        number=number,
        attempted_at=now,
        request_headers=outcome.headers,
        response_status_code=outcome.status_code,
        response_body=outcome.response_body,
        error=outcome.error,
        duration_ms=outcome.duration_ms,
        succeeded=outcome.succeeded,
    )
    delivery.response_status_code = outcome.status_code
    delivery.response_body = outcome.response_body
    delivery.error = outcome.error
    delivery.duration_ms = outcome.duration_ms
    if outcome.succeeded:
        delivery.status = WebhookDelivery.Status.SUCCEEDED
        delivery.next_attempt_at = None
        delivery.completed_at = now
    elif final or number >= MAX_ATTEMPTS:
        delivery.status = WebhookDelivery.Status.FAILED
        delivery.next_attempt_at = None
        delivery.completed_at = now
    else:
        delivery.status = WebhookDelivery.Status.RETRYING
        delivery.next_attempt_at = now + RETRY_DELAYS[number - 1]
    delivery.save(
        update_fields=[
            "status",
            "next_attempt_at",
            "completed_at",
            "response_status_code",
            "response_body",
            "error",
            "duration_ms",
        ]
    )
    if not final:
        _endpoint_health(delivery.endpoint, succeeded=outcome.succeeded, now=now)
    if delivery.status == WebhookDelivery.Status.RETRYING:
        _schedule_retry(delivery)


def _endpoint_health(endpoint: WebhookEndpoint, *, succeeded: bool, now: datetime.datetime) -> None:
    """Count failures in a row; five days of nothing but failures turns the endpoint off."""
    endpoints = WebhookEndpoint.objects.filter(pk=endpoint.pk)
    if succeeded:
        if endpoint.consecutive_failures or endpoint.failing_since:
            endpoints.update(consecutive_failures=0, failing_since=None)
            endpoint.consecutive_failures, endpoint.failing_since = 0, None
        return
    endpoints.update(
        consecutive_failures=F("consecutive_failures") + 1,
        failing_since=Coalesce(F("failing_since"), now),
    )
    endpoint.refresh_from_db(fields=["consecutive_failures", "failing_since", "is_active"])
    if endpoint.failing_since is not None and endpoint.failing_since <= now - DISABLE_AFTER:
        _endpoint_disable(
            endpoint=endpoint,
            reason=(
                f"Turned off by Patron: every attempt failed since "
                f"{endpoint.failing_since:%Y-%m-%d %H:%M} UTC "
                f"({endpoint.consecutive_failures} attempts in a row)."
            ),
        )


def _schedule_retry(delivery: WebhookDelivery) -> None:
    """Queue the next attempt for its time, when the task backend can run tasks later (the
    database backend can; otherwise `deliveries_send_due`, run periodically, picks it up)."""
    from .tasks import delivery_retry

    backend = delivery_retry.get_backend()
    if not backend.supports_defer or delivery.next_attempt_at is None:
        return
    task = delivery_retry.using(run_after=delivery.next_attempt_at)
    count = delivery.attempt_count
    transaction.on_commit(
        lambda: task.enqueue(delivery_id=delivery.pk, attempt_count=count), robust=True
    )


def deliveries_send_due(*, now: datetime.datetime | None = None, limit: int = 500) -> int:
    """Attempt every open delivery whose time has come (oldest first); returns how many were
    attempted. Run by the `webhooks_send_due` command as a safety net, and by tests."""
    now = now or timezone.now()
    due = list(
        WebhookDelivery.objects.filter(status__in=OPEN, next_attempt_at__lte=now)
        .order_by("next_attempt_at", "id")
        .values_list("pk", "attempt_count")[:limit]
    )
    attempted = 0
    for pk, count in due:
        result = delivery_attempt(WebhookDelivery(pk=pk), now=now)
        attempted += result.attempt_count > count
    return attempted


def deliveries_prune(
    *, older_than: datetime.timedelta, now: datetime.datetime | None = None
) -> int:
    """Delete finished deliveries (and their attempts) older than `older_than`."""
    cutoff = (now or timezone.now()) - older_than
    _, per_model = WebhookDelivery.objects.filter(
        status__in=[WebhookDelivery.Status.SUCCEEDED, WebhookDelivery.Status.FAILED],
        created_at__lt=cutoff,
    ).delete()
    return per_model.get(WebhookDelivery._meta.label, 0)
