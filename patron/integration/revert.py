"""Undoing an import from what it recorded: its audit events (customer records) and the
source-record versions it replaced (lineage). Runs inside the caller's transaction."""

from __future__ import annotations

from typing import Any

from django.contrib.contenttypes.models import ContentType
from django.db.models import Model

from patron.core import audit
from patron.core.models import AuditEvent
from patron.customers.models import (
    Account,
    AccountRelationship,
    Contact,
    EmailAddress,
    PhoneNumber,
    PostalAddress,
    Tag,
)

from .models import ImportRun, QuarantinedRow, SourceRecord, SourceRecordVersion

TOP_LEVEL = (Contact, Account)
CHILDREN = (EmailAddress, PhoneNumber, PostalAddress, AccountRelationship)
CHUNK = 2000


def revert_run(run: ImportRun, *, actor: Any):
    from .services import RevertReport

    report = RevertReport(conflicts=[])
    assert report.conflicts is not None
    request_id = run.audit_request_id
    models_by_ct: dict[int, type[Model]] = {
        ContentType.objects.get_for_model(m).pk: m for m in (*TOP_LEVEL, *CHILDREN)
    }
    events = AuditEvent.objects.filter(request_id=request_id).order_by("-id")
    first = AuditEvent.objects.filter(request_id=request_id).order_by("id").first()
    written: list[AuditEvent] = []
    ignored = _ignored_request_ids(run)
    if first is not None:
        ids = list(events.values_list("pk", flat=True))
        for start in range(0, len(ids), CHUNK):
            chunk = list(
                AuditEvent.objects.filter(pk__in=ids[start : start + CHUNK]).order_by("-id")
            )
            _revert_chunk(chunk, models_by_ct, ignored, actor, report, written)
    if written:
        audit.record_many(written)

    # Lineage: put back the versions this run replaced, then drop what it created.
    for version in SourceRecordVersion.objects.filter(replaced_by_run=run).order_by("-id"):
        SourceRecord.objects.filter(pk=version.record_id).update(
            payload=version.payload,
            normalised=version.normalised,
            problems=version.problems,
            content_hash=version.content_hash,
            line=version.line,
            last_seen_at=version.last_seen_at,
            last_run_id=version.last_run_id_before,
            contact_id=version.contact_id_before,
            account_id=version.account_id_before,
        )
    SourceRecordVersion.objects.filter(replaced_by_run=run).delete()
    SourceRecord.objects.filter(last_run=run).delete()
    if run.parent_id:
        QuarantinedRow.objects.filter(resolved_by=run).update(resolved_by=None)
    return report


def _changed_later(obj: Model, after_id: int, ignored: set[str]) -> bool:
    """Whether someone changed `obj` after the import did; changes by imports that were
    reverted since, and by those reverts, do not count (they undid themselves)."""
    ct = ContentType.objects.get_for_model(obj)
    return (
        AuditEvent.objects.filter(pk__gt=after_id, content_type=ct, object_id=obj.pk)
        .exclude(request_id__in=ignored)
        .exists()
    )


def _ignored_request_ids(run: ImportRun) -> set[str]:
    reverted = ImportRun.objects.filter(status=ImportRun.Status.REVERTED).values_list(
        "pk", flat=True
    )
    ids = {run.audit_request_id, f"revert-{run.pk}"}
    for pk in reverted:
        ids |= {f"import-{pk}", f"revert-{pk}"}
    return ids


def _revert_chunk(
    events: list[AuditEvent],
    models_by_ct: dict[int, type[Model]],
    ignored: set[str],
    actor: Any,
    report,
    written: list[AuditEvent],
) -> None:
    by_model: dict[type[Model], set[int]] = {}
    for event in events:
        model = models_by_ct.get(event.content_type_id)
        if model is not None:
            by_model.setdefault(model, set()).add(event.object_id)
    loaded: dict[tuple[type[Model], int], Any] = {}
    for model, ids in by_model.items():
        obj: Any
        for obj in model._default_manager.filter(pk__in=ids):
            loaded[(model, obj.pk)] = obj
    for event in events:
        model = models_by_ct.get(event.content_type_id)
        if model is None:
            continue
        obj = loaded.get((model, event.object_id))
        label = f"{model._meta.verbose_name} #{event.object_id}"
        if event.action == AuditEvent.Action.CREATE:
            if obj is None:
                continue  # already gone (deleted with its parent, or by someone)
            if model is Account and obj.relationships.exists():  # type: ignore[attr-defined]
                report.conflicts.append(f"{label} is linked to people added since; kept.")
                continue
            if model in TOP_LEVEL and _changed_later(obj, event.pk, ignored):
                report.conflicts.append(f"{label} was changed after the import; kept.")
                continue
            written.append(
                audit.build(
                    actor=actor,
                    action=AuditEvent.Action.DELETE,
                    obj=obj,
                    changes={"reverted_import": [f"import #{event.request_id[7:]}", None]},
                    parent=getattr(obj, "parent", None) if model in CHILDREN else None,
                )
            )
            obj.delete()
            loaded.pop((model, event.object_id), None)
            report.deleted += 1
        elif event.action == AuditEvent.Action.UPDATE:
            if obj is None:
                report.conflicts.append(f"{label} was deleted after the import.")
                continue
            _restore_fields(obj, event, report, label, actor, written)
        elif event.action == AuditEvent.Action.DELETE and model in CHILDREN:
            _recreate_point(model, event, actor, written)
            report.restored += 1


def _restore_fields(obj: Model, event: AuditEvent, report, label: str, actor, written) -> None:
    changes: dict[str, list[Any]] = {}
    update_fields = []
    for name, pair in (event.changes or {}).items():
        if not isinstance(pair, list) or len(pair) != 2:
            continue
        before, after = pair
        if name == "tags":
            current = sorted(t.name for t in obj.tags.all())  # type: ignore[attr-defined]
            if current != after:
                report.conflicts.append(f"{label}: tags changed after the import; kept.")
                continue
            obj.tags.set([Tag.objects.get_or_create(name=n)[0] for n in before])  # type: ignore[attr-defined]
            changes[name] = [after, before]
            continue
        field = obj._meta.get_field(name)
        attname = getattr(field, "attname", name)
        current = audit._jsonable(getattr(obj, attname))
        if current != after and not (current in (None, "") and after in (None, "")):
            report.conflicts.append(f"{label}: {name} changed after the import; kept.")
            continue
        value = before
        if value is None and not getattr(field, "null", False):
            value = ""
        if name == "date_of_birth" and value:
            import datetime

            value = datetime.date.fromisoformat(value)
        setattr(obj, attname, value)
        update_fields.append(attname)
        changes[name] = [after, before]
    if update_fields:
        if hasattr(obj, "version"):
            obj.version += 1  # type: ignore[attr-defined]
            update_fields.append("version")
        obj.save(update_fields=update_fields)
        if isinstance(obj, Contact | Account):
            from patron.customers.services import refresh_search_document

            refresh_search_document(obj)
    if changes:
        written.append(
            audit.build(actor=actor, action=AuditEvent.Action.UPDATE, obj=obj, changes=changes)
        )
        report.restored += 1


def _recreate_point(model: type[Model], event: AuditEvent, actor, written) -> None:
    values = {k: v[0] for k, v in (event.changes or {}).items() if isinstance(v, list)}
    parent_model = (
        Contact
        if event.parent_type_id == ContentType.objects.get_for_model(Contact).pk
        else Account
    )
    parent = parent_model._default_manager.filter(pk=event.parent_id).first()
    if parent is None:
        return
    field_names = {f.name for f in model._meta.concrete_fields}
    point = model(**{k: v for k, v in values.items() if k in field_names})
    setattr(point, "contact" if parent_model is Contact else "account", parent)
    point.save()
    written.append(
        audit.build(
            actor=actor,
            action=AuditEvent.Action.CREATE,
            obj=point,
            changes={k: [None, v] for k, v in values.items()},
            parent=parent,
        )
    )
