"""Writing the audit trail. Services call these inside their own transaction."""

from __future__ import annotations

import datetime
import decimal
import json
import uuid
from collections import defaultdict
from collections.abc import Callable, Iterable, Mapping
from typing import Any, cast

from django.contrib.contenttypes.models import ContentType
from django.db import DEFAULT_DB_ALIAS, models

from . import bulk, context, events
from .models import AuditEvent


def _jsonable(value: Any) -> Any:
    if isinstance(value, models.Model):
        return value.pk
    if isinstance(value, datetime.datetime | datetime.date | datetime.time):
        return value.isoformat()
    if isinstance(value, decimal.Decimal | uuid.UUID):
        return str(value)
    if isinstance(value, list | tuple | set):
        return [_jsonable(v) for v in value]
    if isinstance(value, dict):
        return {str(k): _jsonable(v) for k, v in value.items()}
    return value


def snapshot(obj: models.Model, fields: Iterable[str]) -> dict[str, Any]:
    """The audited values of `obj` (foreign keys by id), ready to be stored as JSON."""
    values: dict[str, Any] = {}
    for name in fields:
        field = obj._meta.get_field(name)
        if field.many_to_many:
            if obj.pk is None:
                values[name] = []
            else:
                values[name] = sorted(str(v) for v in getattr(obj, name).all())
        elif field.is_relation:
            values[name] = getattr(obj, cast(models.Field, field).attname)
        else:
            values[name] = _jsonable(getattr(obj, name))
    return values


def diff(before: dict[str, Any], after: dict[str, Any]) -> dict[str, list[Any]]:
    """Only the fields whose value changed, as `{field: [before, after]}`."""
    keys = list(dict.fromkeys([*before.keys(), *after.keys()]))
    return {k: [before.get(k), after.get(k)] for k in keys if before.get(k) != after.get(k)}


def record(
    *,
    actor: Any,
    action: str,
    obj: models.Model,
    changes: dict[str, list[Any]],
    parent: models.Model | None = None,
) -> AuditEvent:
    """Write one audit event for `obj`, attributed to `actor` and the current request."""
    event = build(actor=actor, action=action, obj=obj, changes=changes, parent=parent)
    event.save()
    events.publish([event])
    return event


def record_create(*, actor: Any, obj: models.Model, fields: Iterable[str], parent=None):
    after = snapshot(obj, fields)
    changes = {k: [None, v] for k, v in after.items() if v not in (None, "", [], {})}
    return record(
        actor=actor, action=AuditEvent.Action.CREATE, obj=obj, changes=changes, parent=parent
    )


def record_delete(*, actor: Any, obj: models.Model, fields: Iterable[str], parent=None):
    before = snapshot(obj, fields)
    changes = {k: [v, None] for k, v in before.items() if v not in (None, "", [], {})}
    return record(
        actor=actor, action=AuditEvent.Action.DELETE, obj=obj, changes=changes, parent=parent
    )


def history_for(obj: models.Model) -> models.QuerySet[AuditEvent]:
    """Events about `obj` itself and about its children (emails, phones, timeline entries)."""
    ct = ContentType.objects.get_for_model(obj, for_concrete_model=True)
    return (
        AuditEvent.objects.filter(
            models.Q(content_type=ct, object_id=obj.pk) | models.Q(parent_type=ct, parent_id=obj.pk)
        )
        .select_related("actor", "content_type")
        .order_by("-created_at", "-id")
    )


# Given a set of ids, the display name of each id the caller may see (others are left out).
NameResolver = Callable[[set[int]], dict[int, str]]


def reference_names(
    events: Iterable[AuditEvent],
    *,
    references: Mapping[str, str],
    resolvers: Mapping[str, NameResolver],
) -> dict[str, dict[int, str]]:
    """Names for the ids stored in the reference fields of `events` (`references` maps a
    field such as "owner" to a kind such as "user"). The ids are collected first, then each
    kind's resolver is called once, so a page of history costs one query per kind."""
    wanted: dict[str, set[int]] = defaultdict(set)
    for event in events:
        for field, pair in (event.changes or {}).items():
            kind = references.get(field)
            if kind is None or not isinstance(pair, list | tuple):
                continue
            wanted[kind].update(v for v in pair if isinstance(v, int) and not isinstance(v, bool))
    return {kind: resolvers[kind](ids) for kind, ids in wanted.items() if ids}


def build(
    *,
    actor: Any,
    action: str,
    obj: models.Model,
    changes: dict[str, list[Any]],
    parent: models.Model | None = None,
) -> AuditEvent:
    """An unsaved audit event, for writers that save many at once with `record_many`."""
    ctx = context.current()
    actor_obj = actor if actor is not None and getattr(actor, "pk", None) else None
    return AuditEvent(
        actor=actor_obj,
        actor_label=str(actor_obj) if actor_obj else "system",
        request_id=ctx.request_id,
        origin=ctx.origin,
        action=action,
        content_type=ContentType.objects.get_for_model(obj, for_concrete_model=True),
        object_id=obj.pk,
        object_repr=str(obj)[:200],
        parent_type=(
            ContentType.objects.get_for_model(parent, for_concrete_model=True) if parent else None
        ),
        parent_id=parent.pk if parent else None,
        changes=_jsonable(changes),
    )


def record_many(audit_events: list[AuditEvent], *, batch_size: int = 2000) -> list[AuditEvent]:
    """Save audit events built with `build` in bulk (imports), then publish them."""
    saved = AuditEvent.objects.bulk_create(audit_events, batch_size=batch_size)
    events.publish(saved)
    return saved


class EventFactory:
    """Builds many unsaved audit events of one actor in the current request, for writers of
    very many (file imports), without the per-event lookups of `build`.

    Content types are passed in (`ContentType.objects.get_for_model` once per model) and
    `changes` must already be JSON-ready: the caller builds them from plain values. The
    events carry their content types as `build`'s do, so listeners read them without a query.
    """

    _FIELDS = (
        "id",
        "created_at",
        "actor_id",
        "actor_label",
        "request_id",
        "origin",
        "action",
        "content_type_id",
        "object_id",
        "object_repr",
        "parent_type_id",
        "parent_id",
        "changes",
    )

    def __init__(self, actor: Any) -> None:
        ctx = context.current()
        self.actor_id = actor.pk if actor is not None and getattr(actor, "pk", None) else None
        self.actor_label = str(actor) if self.actor_id else "system"
        self.request_id = ctx.request_id
        self.origin = ctx.origin
        # Positional construction below relies on the model's field order.
        attnames = tuple(f.attname for f in AuditEvent._meta.concrete_fields)
        assert attnames == self._FIELDS, attnames

    def event(
        self,
        *,
        action: str,
        content_type: ContentType,
        object_id: int,
        object_repr: str,
        changes: dict[str, Any],
        created_at: datetime.datetime,
        parent_type: ContentType | None = None,
        parent_id: int | None = None,
        changes_text: str | None = None,
    ) -> AuditEvent:
        """An unsaved event; `changes_text`, when given, is `changes` as JSON already (built
        where there was time to spare: an import's worker processes)."""
        values: tuple[Any, ...] = (
            None,
            created_at,
            self.actor_id,
            self.actor_label,
            self.request_id,
            self.origin,
            action,
            content_type.pk,
            object_id,
            object_repr[:200],
            parent_type.pk if parent_type is not None else None,
            parent_id,
            changes,
        )
        # Positional values take the fast path of Model.__init__; from_db is its typed door.
        event = AuditEvent.from_db(None, self._FIELDS, values)
        event._state.adding = True
        cache = event._state.fields_cache
        cache["content_type"] = content_type
        if parent_type is not None:
            cache["parent_type"] = parent_type
        if changes_text is not None:
            event._changes_text = changes_text  # type: ignore[attr-defined]
        return event


def insert_many(audit_events: list[AuditEvent]) -> list[AuditEvent]:
    """`record_many` for writers of very many events (file imports): ids are allocated up
    front and the rows go in with COPY on PostgreSQL or one executemany on SQLite instead of
    the ORM's per-object INSERT. The events come back saved, with their ids, and are
    published to listeners exactly as `record_many` publishes them."""
    if not audit_events:
        return []
    ids = bulk.allocate_ids(AuditEvent, len(audit_events))
    rows = []
    moment: Any = None
    stored: Any = None
    for event, pk in zip(audit_events, ids, strict=True):
        event.pk = pk
        event._state.adding = False
        event._state.db = DEFAULT_DB_ALIAS
        if event.created_at is not moment:
            moment, stored = event.created_at, bulk.db_datetime(event.created_at)
        rows.append(
            (
                pk,
                stored,
                event.actor_id,
                event.actor_label,
                event.request_id,
                event.origin,
                event.action,
                event.content_type_id,
                event.object_id,
                event.object_repr,
                event.parent_type_id,
                event.parent_id,
                getattr(event, "_changes_text", None) or json.dumps(event.changes),
            )
        )
    bulk.insert_rows(AuditEvent, EventFactory._FIELDS, rows)
    events.publish(audit_events)
    return audit_events
