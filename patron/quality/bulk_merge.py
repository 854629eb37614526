"""Many merges at once, for entity resolution: the same outcome, snapshots and audit as
`merge.record_merge` run group after group, in a fixed number of statements per batch instead
of some forty per merge (a first full resolution of a million source records merges hundreds of
thousands of customers). Each merge is an ordinary `Merge` and can be undone on its own."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence
from typing import Any

from django.db import connection, transaction
from django.db.models import F
from django.utils import timezone

from patron.core import audit
from patron.core.models import AuditEvent
from patron.customers.models import AccountRelationship
from patron.customers.services import refresh_search_documents

from .merge import MERGEABLE_FIELDS, POINTS, _attached, _model, _row
from .models import Merge

Group = tuple[int, Sequence[int]]  # (survivor id, ids merged into it)
BATCH = 500


def merge_many(*, object_type: str, groups: Sequence[Group]) -> list[Merge]:
    """Merge each group's records into its survivor, as the system (entity resolution).

    Groups must not share records. Records that no longer exist are left out of their group
    (a group left with no other record is skipped). Commits per batch of groups, so a failed
    run keeps the merges made so far and the next run merges the rest."""
    done: list[Merge] = []
    for start in range(0, len(groups), BATCH):
        with transaction.atomic():
            done.extend(_merge_batch(object_type, groups[start : start + BATCH]))
    return done


def _merge_batch(object_type: str, groups: Sequence[Group]) -> list[Merge]:
    model = _model(object_type)
    wanted = {int(i) for s, others in groups for i in (s, *others)}
    records = {r.pk: r for r in model.objects.select_for_update().filter(pk__in=wanted)}
    plan: list[tuple[Any, list[Any]]] = []
    for survivor_id, other_ids in groups:
        survivor = records.get(int(survivor_id))
        others = [records[int(i)] for i in other_ids if int(i) in records and int(i) != survivor_id]
        if survivor is not None and others:
            plan.append((survivor, others))
    if not plan:
        return []
    through: Any = model.tags.through
    parent_col = f"{object_type}_id"
    tags: dict[int, list[int]] = defaultdict(list)
    for pid, tag_id in through.objects.filter(**{f"{parent_col}__in": list(records)}).values_list(
        parent_col, "tag_id"
    ):
        tags[pid].append(tag_id)
    survivor_of = {o.pk: s.pk for s, others in plan for o in others}
    snapshots: dict[int, dict[str, Any]] = {}
    fields = MERGEABLE_FIELDS[model]
    befores: dict[int, dict[str, Any]] = {}
    for survivor, others in plan:
        snapshots[survivor.pk] = {
            "survivor": _row(survivor),
            "survivor_tags": sorted(tags.get(survivor.pk, [])),
            "records": [{"values": _row(o), "tags": sorted(tags.get(o.pk, []))} for o in others],
            "moved": [],
            "removed": [],
            "primary": [],
        }
        befores[survivor.pk] = audit.snapshot(survivor, [*fields, "custom_fields"])
        _fill(survivor, others, fields)

    # The survivors' own primary contact points stay primary (read before anything moves).
    own_primary: dict[tuple[Any, int], int] = {}
    for point_model in POINTS:
        for pid, pk in (
            point_model._default_manager.filter(
                **{f"{parent_col}__in": [s.pk for s, _ in plan], "is_primary": True}
            )
            .order_by("id")
            .values_list(parent_col, "pk")
        ):
            own_primary.setdefault((point_model, pid), pk)

    _move_attached(model, object_type, plan, survivor_of, snapshots)

    # Tags: the survivor gets every tag of the records merged into it.
    have = {(s.pk, t) for s, _ in plan for t in tags.get(s.pk, [])}
    add: list[Any] = []
    for survivor, others in plan:
        for other in others:
            for tag_id in tags.get(other.pk, []):
                if (survivor.pk, tag_id) not in have:
                    have.add((survivor.pk, tag_id))
                    add.append(through(**{parent_col: survivor.pk, "tag_id": tag_id}))
    through.objects.bulk_create(add)

    # Primary flags: one primary per kind of point; the moved ones step down (undo restores).
    demoted: list[tuple[Any, int]] = []
    for point_model in POINTS:
        primaries: dict[int, list[int]] = defaultdict(list)
        for pid, pk in (
            point_model._default_manager.filter(
                **{f"{parent_col}__in": [s.pk for s, _ in plan], "is_primary": True}
            )
            .order_by("id")
            .values_list(parent_col, "pk")
        ):
            primaries[pid].append(pk)
        for pid, pks in primaries.items():
            keep = own_primary.get((point_model, pid)) or pks[0]
            for pk in pks:
                if pk != keep:
                    demoted.append((point_model, pk))
                    snapshots[pid]["primary"].append([point_model._meta.label, pk])
        ids = [pk for m, pk in demoted if m is point_model]
        if ids:
            point_model._default_manager.filter(pk__in=ids).update(is_primary=False)

    now = timezone.now()
    for survivor, _ in plan:
        filled = {
            name: getattr(survivor, survivor._meta.get_field(name).attname)
            for name in [*fields, "custom_fields"]
            if audit.snapshot(survivor, [name]) != {name: befores[survivor.pk].get(name)}
        }
        if filled:
            model.objects.filter(pk=survivor.pk).update(**filled)
        survivor.version += 1
        survivor.updated_at = now
    model.objects.filter(pk__in=[s.pk for s, _ in plan]).update(
        version=F("version") + 1, updated_at=now
    )
    refresh_search_documents(model, [s for s, _ in plan])

    merges = Merge.objects.bulk_create(
        [
            Merge(
                object_type=object_type,
                survivor_id=survivor.pk,
                merged_ids=[o.pk for o in others],
                merged_names=[str(o) for o in others],
                field_choices={},
                snapshot=snapshots[survivor.pk],
                created_by=None,
                created_at=now,
            )
            for survivor, others in plan
        ]
    )
    events: list[AuditEvent] = []
    for survivor, others in plan:
        changes = audit.diff(
            befores[survivor.pk], audit.snapshot(survivor, [*fields, "custom_fields"])
        )
        changes["merged"] = [None, [{"id": o.pk, "name": str(o)} for o in others]]
        events.append(
            audit.build(actor=None, action=AuditEvent.Action.MERGE, obj=survivor, changes=changes)
        )
        for other in others:
            events.append(
                audit.build(
                    actor=None,
                    action=AuditEvent.Action.DELETE,
                    obj=other,
                    changes={"merged_into": [None, survivor.pk]},
                )
            )
    audit.insert_many(events)
    gone = list(survivor_of)
    through.objects.filter(**{f"{parent_col}__in": gone}).delete()
    model.objects.filter(pk__in=gone).delete()
    return merges


def _fill(survivor: Any, others: list[Any], fields: list[str]) -> None:
    """As `record_merge` with no choices: the survivor keeps its values and takes, for each
    empty field, the first other record's value; custom fields key by key."""
    for name in fields:
        attname = survivor._meta.get_field(name).attname
        if getattr(survivor, attname) in (None, ""):
            for other in others:
                if getattr(other, attname) not in (None, ""):
                    setattr(survivor, attname, getattr(other, attname))
                    break
    custom = dict(survivor.custom_fields or {})
    for other in reversed(others):
        for key, value in (other.custom_fields or {}).items():
            if custom.get(key) in (None, ""):
                custom[key] = value
    survivor.custom_fields = custom


def _move_attached(model, object_type, plan, survivor_of, snapshots) -> None:
    """Every row attached to a merged record moves to its survivor, in one UPDATE per kind
    of row; a relationship the survivor already has (same account and role) is removed."""
    gone = list(survivor_of)
    for related, attname in _attached(model):
        rows: dict[int, list[int]] = defaultdict(list)
        for pk, parent in (
            related._default_manager.filter(**{f"{attname}__in": gone})
            .order_by("pk")
            .values_list("pk", attname)
        ):
            rows[parent].append(pk)
        if not rows:
            continue
        if related is AccountRelationship:
            rows = _drop_duplicate_links(model, object_type, plan, rows, snapshots)
        for survivor, others in plan:
            for other in others:
                if rows.get(other.pk):
                    snapshots[survivor.pk]["moved"].append(
                        [related._meta.label, attname, other.pk, rows[other.pk]]
                    )
        moving = [(parent, pk) for parent, pks in rows.items() for pk in pks]
        table = connection.ops.quote_name(related._meta.db_table)
        column = connection.ops.quote_name(attname)
        key = connection.ops.quote_name(related._meta.pk.column or "id")
        for start in range(0, len(moving), 400):
            chunk = moving[start : start + 400]
            parents = sorted({parent for parent, _ in chunk})
            whens = " ".join(["WHEN %s THEN %s"] * len(parents))
            marks = ", ".join(["%s"] * len(chunk))
            params: list[int] = [v for p in parents for v in (p, survivor_of[p])]
            params += [pk for _, pk in chunk]
            with connection.cursor() as cursor:
                cursor.execute(
                    f"UPDATE {table} SET {column} = CASE {column} {whens} END "  # noqa: S608 - quoted names, values as parameters
                    f"WHERE {key} IN ({marks})",
                    params,
                )


def _drop_duplicate_links(model, object_type, plan, rows, snapshots) -> dict[int, list[int]]:
    """As `merge._drop_duplicate_links`, group by group: a moved link to an account (or
    contact) with a role the survivor already has — or was given by an earlier record of the
    same group — is removed and kept in the snapshot."""
    other_side = "account_id" if object_type == "contact" else "contact_id"
    parent_col = f"{object_type}_id"
    links = {
        link.pk: link
        for link in AccountRelationship.objects.filter(
            **{f"{parent_col}__in": [s.pk for s, _ in plan] + list(rows)}
        )
    }
    kept: dict[int, list[int]] = {}
    removed: list[int] = []
    for survivor, others in plan:
        existing = {
            (getattr(link, other_side), link.role)
            for link in links.values()
            if getattr(link, parent_col) == survivor.pk
        }
        for other in others:
            keep = []
            for pk in rows.get(other.pk, []):
                link = links[pk]
                key = (getattr(link, other_side), link.role)
                if key in existing:
                    snapshots[survivor.pk]["removed"].append(
                        [AccountRelationship._meta.label, _row(link)]
                    )
                    removed.append(pk)
                else:
                    keep.append(pk)
            existing |= {(getattr(links[pk], other_side), links[pk].role) for pk in keep}
            if keep:
                kept[other.pk] = keep
    if removed:
        AccountRelationship.objects.filter(pk__in=removed).delete()
    return kept
