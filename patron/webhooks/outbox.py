"""From the audit trail to webhook deliveries: the transactional outbox (decision 0009).

`on_audit_events` is subscribed to `core.events` in `WebhooksConfig.ready()`. It runs inside
the writer's transaction, so it only *stores* deliveries; they are handed to the sending task
once the transaction commits, and never exist for a change that was rolled back.

What becomes an event:

* a create, update, delete or merge of a contact or an account: `contact.created`, … ;
* a change to a part of one (an email, phone, postal address or account relationship):
  `<parent>.updated`, the part described in `data.related_changes`. Timeline entries (notes,
  calls, tasks) are activities, not the record, and send nothing.

Consecutive events about the same record in one transaction make one message: creating a
contact with two emails sends one `contact.created` whose `related_changes` lists the emails,
as Stripe or HubSpot would, not a `created` followed by two `updated`.

Cost: nothing at all for other audit events; otherwise one query for the active endpoints
(and nothing else when there are none), then one INSERT for all deliveries of the batch.
"""

from __future__ import annotations

import datetime
import json
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from django.core.serializers.json import DjangoJSONEncoder
from django.db import transaction
from django.utils import timezone

from . import sender
from .models import WebhookDelivery, WebhookEndpoint

if TYPE_CHECKING:
    from django.contrib.contenttypes.models import ContentType

    from patron.core.models import AuditEvent

# Customer records that have events of their own, by model name in the customers app.
RECORDS = {"contact": "contact", "account": "account"}
# Parts of a record: a change to one is an update of the record, named as in the API.
RECORD_PARTS = {
    "emailaddress": "email",
    "phonenumber": "phone",
    "postaladdress": "address",
    "accountrelationship": "relationship",
}
VERBS = {
    "create": "created",
    "update": "updated",
    "delete": "deleted",
    "merge": "merged",
    "unmerge": "updated",  # the restored records arrive as created
}
SEND_BATCH = 100  # deliveries per sending task
LARGE_BATCH = 100  # events published at once from which a listener check comes first

_STATE = "_patron_webhooks_outbox"


def iso(moment: datetime.datetime) -> str:
    return moment.astimezone(datetime.UTC).isoformat().replace("+00:00", "Z")


@dataclass
class Change:
    """One audit event, read as a change of a contact or an account."""

    object: str
    object_id: int
    verb: str
    event: AuditEvent
    part: dict[str, Any] | None = None  # set when a part of the record changed


def _customer_model(content_type: ContentType | None, names: dict[str, str]) -> str | None:
    if content_type is None or content_type.app_label != "customers":
        return None
    return names.get(content_type.model)


def change_of(event: AuditEvent) -> Change | None:
    """The record change `event` stands for, or None when it is not about a customer record.

    Reads the content types the event was built with (cached by ContentType): no query."""
    verb = VERBS.get(event.action)
    if verb is None:
        return None
    obj = _customer_model(event.content_type, RECORDS)
    if obj is not None:
        return Change(object=obj, object_id=event.object_id, verb=verb, event=event)
    part = _customer_model(event.content_type, RECORD_PARTS)
    if part is None or event.parent_id is None:
        return None
    parent = _customer_model(event.parent_type, RECORDS)
    if parent is None:
        return None
    return Change(
        object=parent,
        object_id=event.parent_id,
        verb="updated",
        event=event,
        part={"object": part, "id": event.object_id, "action": verb, "changes": event.changes},
    )


@dataclass
class Message:
    """One event as receivers will see it; may absorb later changes of the same record."""

    object: str
    object_id: int
    verb: str
    first: AuditEvent
    changes: dict[str, list[Any]] = field(default_factory=dict)
    related_changes: list[dict[str, Any]] = field(default_factory=list)
    message_id: str = field(default_factory=sender.new_message_id)
    delivery_ids: list[int] = field(default_factory=list)

    @classmethod
    def start(cls, change: Change) -> Message:
        message = cls(
            object=change.object, object_id=change.object_id, verb=change.verb, first=change.event
        )
        message.add(change)
        return message

    @property
    def event_type(self) -> str:
        return f"{self.object}.{self.verb}"

    def absorbs(self, change: Change) -> bool:
        """A later update of the same record joins a create or an update (deletes and merges
        stay messages of their own)."""
        return (
            change.object == self.object
            and change.object_id == self.object_id
            and change.verb == "updated"
            and self.verb in ("created", "updated")
        )

    def add(self, change: Change) -> None:
        if change.part is not None:
            self.related_changes.append(change.part)
            return
        for name, (before, after) in (change.event.changes or {}).items():
            earlier = self.changes.get(name)
            if self.verb == "created":
                before = None  # nothing existed before a creation
            elif earlier:
                before = earlier[0]
            self.changes[name] = [before, after]

    def payload(self) -> dict[str, Any]:
        event = self.first
        return {
            "type": self.event_type,
            "timestamp": iso(event.created_at),
            "data": {
                "id": self.object_id,
                "object": self.object,
                "changes": self.changes,
                "related_changes": self.related_changes,
                "actor": (
                    {"id": event.actor_id, "name": event.actor_label} if event.actor_id else None
                ),
                "origin": event.origin,
                "request_id": event.request_id,
            },
        }

    def body(self) -> str:
        return dumps(self.payload())


def dumps(payload: Any) -> str:
    """The exact bytes that are signed and sent (ASCII JSON, so every receiver reads the
    same characters whatever its default encoding)."""
    return json.dumps(payload, cls=DjangoJSONEncoder, separators=(",", ":"))


class SendOnCommit:
    """Queued with `transaction.on_commit`: hands the new deliveries to the sending task."""

    def __init__(self, delivery_ids: list[int]):
        self.delivery_ids = delivery_ids
        self.ran = False

    def __call__(self) -> None:
        self.ran = True
        if not self.delivery_ids:
            return
        from .tasks import deliveries_send

        for start in range(0, len(self.delivery_ids), SEND_BATCH):
            deliveries_send.enqueue(delivery_ids=self.delivery_ids[start : start + SEND_BATCH])


@dataclass
class _Outbox:
    """The last message this transaction wrote, with the callback queued after it."""

    message: Message
    send: SendOnCommit


def _open_message(connection: Any) -> Message | None:
    """The last message of the current transaction, if nothing was queued after it.

    Its callback being last in Django's on-commit queue means: same transaction, not rolled
    back to a savepoint before it (Django drops the callbacks of a rolled-back savepoint) and
    nothing else happened in between."""
    outbox: _Outbox | None = getattr(connection, _STATE, None)
    if outbox is None or outbox.send.ran or not connection.in_atomic_block:
        return None
    queue = getattr(connection, "run_on_commit", None)
    if not queue or queue[-1][1] is not outbox.send:
        return None
    return outbox.message


def on_audit_events(events: Sequence[AuditEvent]) -> None:
    """Turn freshly written audit events into deliveries, in the writer's transaction."""
    connection = transaction.get_connection()
    previous = _open_message(connection)
    # An import's batch: ask first whether anyone listens before building thousands of
    # messages (a single event's query stays where it was, after them).
    if (
        len(events) >= LARGE_BATCH
        and previous is None
        and not WebhookEndpoint.objects.filter(is_active=True).exists()
    ):
        return
    changes = [change for event in events if (change := change_of(event)) is not None]
    if not changes:
        return
    previous_grew = False
    messages: list[Message] = []
    for change in changes:
        last = messages[-1] if messages else previous
        if last is not None and last.absorbs(change):
            last.add(change)
            previous_grew = previous_grew or last is previous
        else:
            messages.append(Message.start(change))

    new_ids: list[int] = []
    if messages:
        endpoints = list(WebhookEndpoint.objects.filter(is_active=True).only("id", "event_types"))
        if not endpoints and not previous_grew:
            return
        now = timezone.now()
        rows = []
        for message in messages:
            body = message.body()
            for endpoint in endpoints:
                if endpoint.subscribes_to(message.event_type):
                    rows.append(
                        WebhookDelivery(
                            endpoint=endpoint,
                            message_id=message.message_id,
                            event_type=message.event_type,
                            body=body,
                            next_attempt_at=now,
                            created_at=now,
                        )
                    )
        created = iter(WebhookDelivery.objects.bulk_create(rows))
        for message in messages:
            for endpoint in endpoints:
                if endpoint.subscribes_to(message.event_type):
                    message.delivery_ids.append(next(created).pk)
            new_ids.extend(message.delivery_ids)
    if previous is not None and previous_grew and previous.delivery_ids:
        WebhookDelivery.objects.filter(pk__in=previous.delivery_ids).update(body=previous.body())

    # Queued after every write above: a rollback to a savepoint taken before them drops it,
    # which `_open_message` notices.
    send = SendOnCommit(new_ids)
    last_message = messages[-1] if messages else previous
    assert last_message is not None
    setattr(connection, _STATE, _Outbox(message=last_message, send=send))
    transaction.on_commit(send, robust=True)
