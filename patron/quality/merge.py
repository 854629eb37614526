"""Merging customers, and undoing a merge exactly.

A merge keeps one record (the survivor), takes the field values the user picked (by default
the survivor's, and any value the survivor lacks), moves everything attached to the other
records onto the survivor — contact points, relationships, timeline entries, source records
(lineage), and whatever later apps attach through a foreign key — and deletes the others.
Everything it did is kept in a `Merge` snapshot, so `merge_undo` puts every record, value and
link back as it was.
"""

from __future__ import annotations

import datetime
from collections.abc import Sequence
from typing import Any

from django.apps import apps
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import models, transaction
from django.utils import timezone

from patron.core import audit
from patron.core.models import AuditEvent
from patron.core.permissions import may
from patron.customers.models import (
    Account,
    AccountRelationship,
    Contact,
    EmailAddress,
    PhoneNumber,
    PostalAddress,
)
from patron.customers.services import ACCOUNT_FIELDS, CONTACT_FIELDS, refresh_search_document

from .models import Merge

# The fields a merge chooses between: the record's own fields, as the services know them
# (custom fields are merged key by key).
MERGEABLE_FIELDS = {
    Contact: [f for f in CONTACT_FIELDS if f != "custom_fields"],
    Account: [f for f in ACCOUNT_FIELDS if f != "custom_fields"],
}
POINTS = (EmailAddress, PhoneNumber, PostalAddress)


def _model(object_type: str) -> type[Contact] | type[Account]:
    if object_type == "contact":
        return Contact
    if object_type == "account":
        return Account
    raise ValidationError({"object_type": ["Choose contact or account."]})


def _row(obj: models.Model) -> dict[str, Any]:
    """Every concrete column of `obj`, as JSON."""
    return {f.attname: audit._jsonable(getattr(obj, f.attname)) for f in obj._meta.concrete_fields}


def _restore(model: type[models.Model], values: dict[str, Any]) -> models.Model:
    """An unsaved instance with exactly the stored column values (types restored)."""
    obj = model()
    for field in model._meta.concrete_fields:
        if field.attname in values:
            setattr(obj, field.attname, field.to_python(values[field.attname]))
    return obj


def _attached(model: type[models.Model]) -> list[tuple[type[models.Model], str]]:
    """(model, foreign key attname) of every row type that hangs off `model` by a foreign key,
    in every installed app: later apps' orders or cases move with a merge without changes here."""
    result = []
    for relation in model._meta.related_objects:
        if relation.many_to_many or relation.one_to_one:
            continue
        field = relation.field
        if field.model is model:
            continue  # self-references (an account's parent) are values, chosen like fields
        result.append((field.model, field.attname))
    return result


def _value_label(value: Any) -> str:
    return "" if value in (None, "") else str(value)


@transaction.atomic
def record_merge(
    *,
    actor: Any,
    object_type: str,
    survivor_id: int,
    other_ids: Sequence[int],
    choices: dict[str, int] | None = None,
) -> Merge:
    """Merge the records `other_ids` into `survivor_id`.

    `choices` maps a field (or `custom.<name>`) to the id of the record whose value wins;
    fields not named keep the survivor's value, or take the first other record's value when
    the survivor has none.
    """
    model = _model(object_type)
    others_ids = [int(i) for i in dict.fromkeys(other_ids) if int(i) != int(survivor_id)]
    if not others_ids:
        raise ValidationError({"others": ["Choose at least one other record to merge."]})
    # No actor: entity resolution merging as the system (it sees every record).
    visible = model.objects.all() if actor is None else model.objects.restrict(actor, "view")
    records = {
        r.pk: r for r in visible.select_for_update().filter(pk__in=[survivor_id, *others_ids])
    }
    if len(records) != len(others_ids) + 1:
        raise model.DoesNotExist("One of the records does not exist or is not visible.")
    survivor = records[int(survivor_id)]
    others = [records[i] for i in others_ids]
    if actor is not None and not may(actor, survivor, "change"):
        raise PermissionDenied("You may not change this record.")
    for other in others:
        if actor is not None and not may(actor, other, "delete"):
            raise PermissionDenied(f"You may not delete “{other}”, so it cannot be merged away.")
    if actor is not None:
        # A person said these are one customer: later resolution runs keep them together.
        from .decisions import decide

        for other in others:
            decide(actor=actor, object_type=object_type, first=survivor.pk, second=other.pk,
                   same=True, reason="merged by hand")  # fmt: skip
    choices = {k: int(v) for k, v in (choices or {}).items()}
    fields = MERGEABLE_FIELDS[model]
    for name, source_id in choices.items():
        if source_id not in records:
            raise ValidationError({f"choices.{name}": ["Pick one of the merged records."]})
        if name not in fields and not name.startswith("custom."):
            raise ValidationError({f"choices.{name}": [f"'{name}' cannot be chosen."]})

    snapshot: dict[str, Any] = {
        "survivor": _row(survivor),
        "survivor_tags": sorted(survivor.tags.values_list("pk", flat=True)),
        "records": [],
        "moved": [],
        "removed": [],
        "primary": [],
    }
    for other in others:
        snapshot["records"].append(
            {"values": _row(other), "tags": sorted(other.tags.values_list("pk", flat=True))}
        )

    # Field values: the user's choices, else the survivor's, else the first other value.
    before = audit.snapshot(survivor, [*fields, "custom_fields"])
    by_field_name: dict[str, Any] = {f: survivor._meta.get_field(f) for f in fields}
    for name in fields:
        attname = by_field_name[name].attname
        if name in choices:
            setattr(survivor, attname, getattr(records[choices[name]], attname))
        elif getattr(survivor, attname) in (None, ""):
            for other in others:
                if getattr(other, attname) not in (None, ""):
                    setattr(survivor, attname, getattr(other, attname))
                    break
    custom = dict(survivor.custom_fields or {})
    for other in reversed(others):
        for key, value in (other.custom_fields or {}).items():
            if custom.get(key) in (None, ""):
                custom[key] = value
    for name, source_id in choices.items():
        if name.startswith("custom."):
            key = name[7:]
            value = (records[source_id].custom_fields or {}).get(key)
            if value is None:
                custom.pop(key, None)
            else:
                custom[key] = value
    survivor.custom_fields = custom

    # Attached rows move to the survivor; its own primary email, phone and address stay
    # primary (moved ones that were primary are demoted, and promoted again on undo).
    parent_field = object_type
    own_primary = {
        point_model: point_model._default_manager.filter(
            **{parent_field: survivor, "is_primary": True}
        )
        .order_by("id")
        .values_list("pk", flat=True)
        .first()
        for point_model in POINTS
    }
    for other in others:
        for related, attname in _attached(model):
            rows = related._default_manager.filter(**{attname: other.pk})
            if related is AccountRelationship:
                rows = _drop_duplicate_links(rows, survivor, other, parent_field, snapshot)
            ids = list(rows.values_list("pk", flat=True))
            if ids:
                related._default_manager.filter(pk__in=ids).update(**{attname: survivor.pk})
                snapshot["moved"].append([related._meta.label, attname, other.pk, ids])
        survivor.tags.add(*other.tags.all())
    for point_model in POINTS:
        primaries = list(
            point_model._default_manager.filter(**{parent_field: survivor, "is_primary": True})
            .order_by("id")
            .values_list("pk", flat=True)
        )
        keep = own_primary[point_model] or (primaries[0] if primaries else None)
        demoted = [pk for pk in primaries if pk != keep]
        if demoted:
            point_model._default_manager.filter(pk__in=demoted).update(is_primary=False)
            snapshot["primary"] += [[point_model._meta.label, pk] for pk in demoted]

    survivor.version += 1
    survivor.updated_at = timezone.now()
    survivor.save()
    refresh_search_document(survivor)
    after = audit.snapshot(survivor, [*fields, "custom_fields"])

    merge = Merge.objects.create(
        object_type=object_type,
        survivor_id=survivor.pk,
        merged_ids=[o.pk for o in others],
        merged_names=[str(o) for o in others],
        field_choices=choices,
        snapshot=snapshot,
        created_by=actor if getattr(actor, "pk", None) else None,
    )
    changes = audit.diff(before, after)
    changes["merged"] = [None, [{"id": o.pk, "name": str(o)} for o in others]]
    audit.record(actor=actor, action=AuditEvent.Action.MERGE, obj=survivor, changes=changes)
    for other in others:
        audit.record(
            actor=actor,
            action=AuditEvent.Action.DELETE,
            obj=other,
            changes={"merged_into": [None, survivor.pk]},
        )
        other.tags.clear()
        other.delete()
    return merge


def _drop_duplicate_links(rows, survivor, other, parent_field: str, snapshot) -> Any:
    """A link (same account and role) the survivor already has would be a duplicate: it is
    removed, and kept in the snapshot to come back on undo."""
    other_side = "account" if parent_field == "contact" else "contact"
    existing = set(
        AccountRelationship.objects.filter(**{parent_field: survivor}).values_list(
            f"{other_side}_id", "role"
        )
    )
    duplicates = [
        link for link in rows if (getattr(link, f"{other_side}_id"), link.role) in existing
    ]
    for link in duplicates:
        snapshot["removed"].append([AccountRelationship._meta.label, _row(link)])
        link.delete()
    return rows.exclude(pk__in=[d.pk for d in duplicates])


@transaction.atomic
def merge_undo(*, actor: Any, merge: Merge) -> list[models.Model]:
    """Undo a merge exactly: the merged records come back with their ids, values and tags,
    everything that moved goes back, duplicates removed come back, the survivor's values and
    tags are restored. Changes made to the survivor since the merge are kept only where they
    do not conflict with putting the merged records back."""
    if merge.undone_at is not None:
        raise ValidationError("This merge has already been undone.")
    model = _model(merge.object_type)
    survivor = model.objects.restrict(actor, "view").select_for_update().get(pk=merge.survivor_id)
    if not may(actor, survivor, "change"):
        raise PermissionDenied("You may not change this record.")
    snapshot = merge.snapshot
    restored: list[Any] = []
    for item in snapshot["records"]:
        obj: Any = _restore(model, item["values"])
        obj.save(force_insert=True)
        obj.tags.set(item["tags"])
        restored.append(obj)
    for label, attname, original_parent, ids in snapshot["moved"]:
        related = apps.get_model(label)
        related._default_manager.filter(pk__in=ids).update(**{attname: original_parent})
    for label, values in snapshot["removed"]:
        _restore(apps.get_model(label), values).save(force_insert=True)
    for label, pk in snapshot["primary"]:
        apps.get_model(label)._default_manager.filter(pk=pk).update(is_primary=True)

    fields = MERGEABLE_FIELDS[model]
    before = audit.snapshot(survivor, [*fields, "custom_fields"])
    original: Any = _restore(model, snapshot["survivor"])
    for name in fields:
        attname = survivor._meta.get_field(name).attname
        setattr(survivor, attname, getattr(original, attname))
    survivor.custom_fields = original.custom_fields
    survivor.version += 1
    survivor.updated_at = timezone.now()
    survivor.save()
    survivor.tags.set(snapshot["survivor_tags"])
    refresh_search_document(survivor)
    for obj in restored:
        refresh_search_document(obj)
        audit.record(
            actor=actor,
            action=AuditEvent.Action.CREATE,
            obj=obj,
            changes={"unmerged_from": [survivor.pk, None]},
        )
    changes = audit.diff(before, audit.snapshot(survivor, [*fields, "custom_fields"]))
    changes["unmerged"] = [[o.pk for o in restored], None]
    audit.record(actor=actor, action=AuditEvent.Action.UNMERGE, obj=survivor, changes=changes)
    # A person split them: no later resolution run merges them again.
    from .decisions import decide

    for obj in restored:
        decide(actor=actor, object_type=merge.object_type, first=survivor.pk, second=obj.pk,
               same=False, reason="unmerged")  # fmt: skip
    merge.undone_at = timezone.now()
    merge.undone_by = actor if getattr(actor, "pk", None) else None
    merge.save(update_fields=["undone_at", "undone_by"])
    return restored


def merge_preview(records: Sequence[Contact | Account]) -> list[dict[str, Any]]:
    """Rows for the side-by-side merge screen: each field's value in each record."""
    if not records:
        return []
    model = type(records[0])
    rows = []
    for name in MERGEABLE_FIELDS[model]:
        field: Any = model._meta.get_field(name)
        values = []
        for record in records:
            value = getattr(record, name)
            if field.choices:
                value = getattr(record, f"get_{name}_display")()
            if isinstance(value, datetime.date):
                value = value.isoformat()
            values.append(_value_label(value))
        rows.append(
            {
                "name": name,
                "label": str(field.verbose_name).capitalize(),
                "values": values,
                "differ": len(set(values) - {""}) > 1,
            }
        )
    keys = sorted({k for r in records for k in (r.custom_fields or {})})
    for key in keys:
        values = [_value_label((r.custom_fields or {}).get(key)) for r in records]
        rows.append(
            {
                "name": f"custom.{key}",
                "label": key.replace("_", " ").capitalize(),
                "values": values,
                "differ": len(set(values) - {""}) > 1,
            }
        )
    return rows
