"""The import engine: rows in, source records and customer records out, in checkpointed batches.

Each batch is one transaction holding everything the batch did: quarantined rows, source
records (and the versions they replaced), contacts or accounts with their contact points,
audit events, and the run's checkpoint (`rows_done`). A process killed at any moment leaves
either the whole batch or none of it, so resuming after the checkpoint neither loses nor
duplicates a row (decision 0010).

Rows are matched to what the source sent before by its key (or the content hash when the
source has no key column): an identical row changes nothing, a changed row updates the
customer record with the fields that changed in the source, a new row creates a record or,
when the mapping says so, joins the existing customer with the same email address.
"""

from __future__ import annotations

import datetime
import json
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from typing import Any

from django.db import DatabaseError, IntegrityError, transaction
from django.db.models import F
from django.db.models.functions import Lower
from django.utils import timezone

from patron.core import audit, bulk
from patron.core.models import AuditEvent, CustomFieldDefinition, User
from patron.customers import search
from patron.customers.models import (
    Account,
    AccountRelationship,
    Contact,
    EmailAddress,
    PhoneNumber,
    PostalAddress,
    Tag,
)

from .inserts import AccountDirectory, RecordInserter, source_record_rows
from .models import ImportRun, QuarantinedRow, Source, SourceRecord, SourceRecordVersion
from .prepared import (
    ADDRESS_KEYS,
    SIMPLE_FIELDS,
    Prepared,
    address_of,
    content_hash,
    prepare,
)
from .readers import BadRow

__all__ = ["BatchResult", "BatchWriter", "Prepared", "RunLost", "content_hash", "prepare"]


VERSION_COLUMNS = (
    "record_id",
    "replaced_by_run_id",
    "payload",
    "normalised",
    "problems",
    "content_hash",
    "line",
    "last_seen_at",
    "last_run_id_before",
    "contact_id_before",
    "account_id_before",
)


class RunLost(Exception):
    """Another process took the run over (this one was presumed dead); stop without writing."""


@dataclass
class BatchResult:
    created: int = 0
    updated: int = 0
    unchanged: int = 0
    quarantined: int = 0
    flagged: int = 0
    problem_counts: dict[str, int] = field(default_factory=dict)
    resolved_lines: list[int] = field(default_factory=list)
    # Per row, when the caller asked for them (the bulk API): line → (status, record id).
    outcomes: dict[int, tuple[str, int | None]] = field(default_factory=dict)

    def count(self, code: str) -> None:
        self.problem_counts[code] = self.problem_counts.get(code, 0) + 1


def _fields_of(entity: str) -> tuple[type[Contact] | type[Account], str]:
    return (Contact, "contact.") if entity == "contact" else (Account, "account.")


def _field_value(entity: str, name: str, values: dict[str, Any]) -> Any:
    value = values.get(f"{entity}.{name}")
    model, _ = _fields_of(entity)
    model_field = model._meta.get_field(name)
    if value is None:
        if name == "lifecycle_stage":
            return None  # keep the model default / current value
        return None if model_field.null else ""
    if name == "date_of_birth":
        return datetime.date.fromisoformat(value)
    return value


class BatchWriter:
    """Writes batches of prepared rows for one run (one instance per worker process)."""

    def __init__(self, run: ImportRun, *, actor: User | None, token: str) -> None:
        self.run = run
        self.source: Source = run.source
        self.entity = self.source.entity
        self.actor = actor
        self.token = token
        self.model, self.prefix = _fields_of(self.entity)
        self.custom_names = set(
            CustomFieldDefinition.objects.filter(object_type=self.entity).values_list(
                "name", flat=True
            )
        )
        self.accounts = AccountDirectory(actor)
        self._tags: dict[str, int] = {}
        self.inserter = RecordInserter(
            run=run,
            actor=actor,
            custom_names=self.custom_names,
            accounts=self.accounts,
            tag_ids=self._tag_ids,
        )
        # Runs that read this very file before: a row an earlier line of the file superseded
        # (the same key again further down) is not a change when the file comes again.
        self.same_file_runs: set[int] = set()
        if run.file_hash:
            self.same_file_runs = set(
                ImportRun.objects.filter(source=run.source, file_hash=run.file_hash)
                .exclude(pk=run.pk)
                .values_list("pk", flat=True)
            )
        self._matchable: Any = None
        if actor is not None and run.match_by == "email":
            # A new row may only join a customer the importing user may change.
            self._matchable = self.model.objects.restrict(actor, "change")

    # -- the one entry point ------------------------------------------------------------------

    def write(
        self,
        items: list[Prepared | BadRow],
        *,
        rows_consumed: int,
        bytes_done: int,
        finished: bool = False,
    ) -> BatchResult:
        """Write one batch and move the checkpoint, all or nothing."""
        try:
            with transaction.atomic():
                result = self._write(items)
                self._checkpoint(result, rows_consumed, bytes_done)
                return result
        except RunLost:
            raise
        except (IntegrityError, DatabaseError):
            # One row broke the batch (e.g. a value the database refuses): write the rows one
            # by one, quarantining only the ones that fail.
            with transaction.atomic():
                result = BatchResult()
                failures: list[Exception] = []
                for item in items:
                    try:
                        with transaction.atomic():
                            part = self._write([item])
                    except (IntegrityError, DatabaseError) as exc:
                        failures.append(exc)
                        if len(failures) == len(items) and len(items) > 1:
                            # Every row fails: the database, not the data, is the problem.
                            # Fail the run (it can be resumed) instead of quarantining all.
                            raise
                        part = self._write(
                            [
                                BadRow(
                                    item.line,
                                    "database",
                                    f"The database refused the row: {exc}".strip()[:500],
                                    raw=getattr(item, "payload", None),
                                )
                            ]
                        )
                    _merge(result, part)
                self._checkpoint(result, rows_consumed, bytes_done)
                return result

    def _checkpoint(self, result: BatchResult, rows_consumed: int, bytes_done: int) -> None:
        now = timezone.now()
        updated = ImportRun.objects.filter(pk=self.run.pk, worker_token=self.token).update(
            rows_done=rows_consumed,
            bytes_done=bytes_done,
            created_count=F("created_count") + result.created,
            updated_count=F("updated_count") + result.updated,
            unchanged_count=F("unchanged_count") + result.unchanged,
            quarantined_count=F("quarantined_count") + result.quarantined,
            flagged_count=F("flagged_count") + result.flagged,
            heartbeat_at=now,
        )
        if not updated:
            raise RunLost(f"Import #{self.run.pk} is being worked by another process.")
        if result.problem_counts:
            run = ImportRun.objects.select_for_update().only("problem_counts").get(pk=self.run.pk)
            counts = dict(run.problem_counts)
            for code, n in result.problem_counts.items():
                counts[code] = counts.get(code, 0) + n
            ImportRun.objects.filter(pk=self.run.pk).update(problem_counts=counts)
        if result.resolved_lines and self.run.parent_id:
            QuarantinedRow.objects.filter(
                run_id=self.run.parent_id, line__in=result.resolved_lines, resolved_by=None
            ).update(resolved_by=self.run)

    # -- the batch ----------------------------------------------------------------------------

    def _write(self, items: list[Prepared | BadRow]) -> BatchResult:
        result = BatchResult()
        bad = [i for i in items if isinstance(i, BadRow)]
        rows = [i for i in items if isinstance(i, Prepared)]
        if bad:
            bulk.insert_rows(
                QuarantinedRow,
                ("run_id", "line", "reason", "message", "raw", "resolved_by_id"),
                [
                    (self.run.pk, b.line, b.reason, b.message, _dumps(_jsonable_raw(b.raw)), None)
                    for b in bad
                ],
            )
            result.quarantined += len(bad)
            for b in bad:
                result.count(b.reason)
                result.outcomes[b.line] = ("quarantined", None)
        # The same key twice in a batch: write in slices so the later row sees the earlier one.
        for chunk in _without_repeated_keys(rows):
            self._write_rows(chunk, result)
        return result

    def _write_rows(self, rows: list[Prepared], result: BatchResult) -> None:
        now = timezone.now()
        existing = {
            r.source_key: r
            for r in SourceRecord.objects.filter(
                source=self.source, source_key__in=[r.key for r in rows]
            )
        }
        new_rows: list[Prepared] = []
        changed: list[tuple[Prepared, SourceRecord]] = []
        unchanged_ids: list[int] = []
        for row in rows:
            if row.problems:
                result.flagged += 1
                for problem in row.problems:
                    result.count(problem["code"])
            if self.run.parent_id:
                result.resolved_lines.append(row.line)
            record = existing.get(row.key)
            if record is None:
                new_rows.append(row)
            elif (record.payload == row.payload and record.normalised == row.values) or (
                record.last_run_id in self.same_file_runs and (record.line or 0) > row.line
            ):
                unchanged_ids.append(record.pk)
                result.outcomes[row.line] = ("unchanged", getattr(record, f"{self.entity}_id"))
            else:
                changed.append((row, record))
        if unchanged_ids:
            SourceRecord.objects.filter(pk__in=unchanged_ids).update(last_seen_at=now)
            result.unchanged += len(unchanged_ids)
        events: list[AuditEvent] = []
        if new_rows:
            self._create(new_rows, now, events, result)
        if changed:
            self._update(changed, now, events, result)
        if events:
            audit.insert_many(events)

    # -- new rows -----------------------------------------------------------------------------

    def _matches(self, rows: list[Prepared]) -> dict[str, int]:
        """email → id of an existing customer the actor may change, for new rows.

        Two queries a batch, each on an index: the addresses (lower(email); imports store
        them lower-cased, a person may have typed capitals), then which of their owners the
        actor may change. One query with the permission subquery inside made PostgreSQL
        scan every customer for each batch."""
        if self._matchable is None:
            return {}
        emails = {e["email"] for r in rows for e in r.values.get("emails", [])}
        if not emails:
            return {}
        parent = "contact" if self.entity == "contact" else "account"
        found = list(
            EmailAddress.objects.annotate(lowered=Lower("email"))
            .filter(lowered__in=emails, **{f"{parent}__isnull": False})
            .values_list("lowered", f"{parent}_id")
            .order_by("id")
        )
        if not found:
            return {}
        allowed = set(
            self._matchable.filter(pk__in={pk for _, pk in found}).values_list("pk", flat=True)
        )
        matches: dict[str, int] = {}
        for email, parent_id in found:
            if parent_id in allowed:
                matches.setdefault(email, parent_id)
        return matches

    def _create(
        self, rows: list[Prepared], now: datetime.datetime, events: list[AuditEvent], result
    ) -> None:
        matches = self._matches(rows)
        joined: list[tuple[Prepared, int | Prepared]] = []
        fresh: list[Prepared] = []
        seen_emails: dict[str, Prepared] = {}
        for row in rows:
            emails = [e["email"] for e in row.values.get("emails", [])]
            target = next((matches[e] for e in emails if e in matches), None)
            if target is not None:
                joined.append((row, target))
                continue
            twin = next((seen_emails[e] for e in emails if e in seen_emails), None)
            if twin is not None and self.run.match_by == "email":
                # Two new rows of one batch share an email: the second joins the first.
                joined.append((row, twin))
                continue
            fresh.append(row)
            for e in emails:
                seen_emails.setdefault(e, row)

        fresh_ids = self.inserter.create(fresh, now, events)
        id_of_row = {id(row): pk for row, pk in zip(fresh, fresh_ids, strict=True)}
        result.created += len(fresh)
        for row, pk in zip(fresh, fresh_ids, strict=True):
            result.outcomes[row.line] = ("created", pk)

        # Rows that join an existing customer fill its empty fields and add contact points.
        pairs: list[tuple[Prepared, int]] = list(zip(fresh, fresh_ids, strict=True))
        if joined:
            wanted = [t if isinstance(t, int) else id_of_row[id(t)] for _, t in joined]
            loaded = {r.pk: r for r in self.model.objects.filter(pk__in=wanted)}
            for (row, join), pk in zip(joined, wanted, strict=True):
                record = loaded.get(pk)
                if record is None:
                    pk = self.inserter.create([row], now, events)[0]
                    result.created += 1
                else:
                    self._fill(record, row, now, events)
                    result.updated += 1
                pairs.append((row, pk))
                status = "created" if isinstance(join, Prepared) else "matched"
                result.outcomes[row.line] = (status, pk)
        source_record_rows(run=self.run, pairs=pairs, now=now)

    def _custom(self, values: dict[str, Any]) -> dict[str, Any]:
        return {
            k[7:]: v
            for k, v in values.items()
            if k.startswith("custom.") and k[7:] in self.custom_names
        }

    def _account_id(self, name: str, now: datetime.datetime) -> int:
        """The account of that name (case-insensitive), created once per run when missing."""
        return self.accounts.ids([name], now)[name.casefold()]

    def _tag_ids(self, names: Iterable[str]) -> list[int]:
        ids = []
        for name in names:
            if name not in self._tags:
                tag, _ = Tag.objects.get_or_create(name=name)
                self._tags[name] = tag.pk
            ids.append(self._tags[name])
        return ids

    def _fill(self, record: Any, row: Prepared, now: datetime.datetime, events: list) -> None:
        """A new row for a customer Patron already has: fill empty fields, add new points."""
        changes: dict[str, list[Any]] = {}
        for name in SIMPLE_FIELDS[self.entity]:
            value = _field_value(self.entity, name, row.values)
            current = getattr(record, name)
            if value not in (None, "") and current in (None, "") and name != "lifecycle_stage":
                changes[name] = [audit._jsonable(current), audit._jsonable(value)]
                setattr(record, name, value)
        custom = self._custom(row.values)
        merged = {**custom, **(record.custom_fields or {})}
        if merged != record.custom_fields:
            changes["custom_fields"] = [record.custom_fields, merged]
            record.custom_fields = merged
        self._points_delta(record, {}, row.values, now, events)
        if changes:
            self._save_changes(record, changes, now, events)

    # -- changed rows -------------------------------------------------------------------------

    def _update(
        self,
        changed: list[tuple[Prepared, SourceRecord]],
        now: datetime.datetime,
        events: list[AuditEvent],
        result: BatchResult,
    ) -> None:
        ids = [getattr(r, f"{self.entity}_id") for _, r in changed]
        records = {r.pk: r for r in self.model.objects.filter(pk__in=[i for i in ids if i])}
        versions = []
        for row, source_record in changed:
            versions.append(
                (
                    source_record.pk,
                    self.run.pk,
                    _dumps(source_record.payload),
                    _dumps(source_record.normalised),
                    _dumps(source_record.problems),
                    source_record.content_hash,
                    source_record.line,
                    bulk.db_datetime(source_record.last_seen_at),
                    source_record.last_run_id,
                    source_record.contact_id,
                    source_record.account_id,
                )
            )
            record_id = getattr(source_record, f"{self.entity}_id")
            record = records.get(record_id)
            if record is None:
                # The customer record was deleted in Patron: the source still sends it, so it
                # comes back, linked to this source record.
                record_id = self.inserter.create([row], now, events)[0]
                result.created += 1
            else:
                self._apply_delta(record, source_record.normalised, row.values, now, events)
                result.updated += 1
            result.outcomes[row.line] = ("updated", record_id)
            source_record.payload = row.payload
            source_record.normalised = row.values
            source_record.problems = row.problems
            source_record.content_hash = row.content_hash
            source_record.line = row.line
            source_record.last_seen_at = now
            source_record.last_run = self.run
            setattr(source_record, f"{self.entity}_id", record_id)
        bulk.insert_rows(SourceRecordVersion, VERSION_COLUMNS, versions)
        SourceRecord.objects.bulk_update(
            [r for _, r in changed],
            [
                "payload",
                "normalised",
                "problems",
                "content_hash",
                "line",
                "last_seen_at",
                "last_run",
                self.entity,
            ],
        )

    def _apply_delta(
        self,
        record: Any,
        old: dict[str, Any],
        new: dict[str, Any],
        now: datetime.datetime,
        events: list[AuditEvent],
    ) -> None:
        """Apply what changed in the source since it last sent this row; fields the source did
        not change keep whatever Patron users made of them."""
        changes: dict[str, list[Any]] = {}
        for name in SIMPLE_FIELDS[self.entity]:
            key = f"{self.entity}.{name}"
            if old.get(key) == new.get(key):
                continue
            value = _field_value(self.entity, name, new)
            if value is None and name == "lifecycle_stage":
                continue
            current = getattr(record, name)
            if audit._jsonable(current) != audit._jsonable(value):
                changes[name] = [audit._jsonable(current), audit._jsonable(value)]
                setattr(record, name, value)
        custom_old = {k: v for k, v in old.items() if k.startswith("custom.")}
        custom_new = {k: v for k, v in new.items() if k.startswith("custom.")}
        if custom_old != custom_new:
            merged = dict(record.custom_fields or {})
            for key in set(custom_old) | set(custom_new):
                name = key[7:]
                if name not in self.custom_names or custom_old.get(key) == custom_new.get(key):
                    continue
                if key in custom_new:
                    merged[name] = custom_new[key]
                else:
                    merged.pop(name, None)
            if merged != record.custom_fields:
                changes["custom_fields"] = [record.custom_fields, merged]
                record.custom_fields = merged
        self._points_delta(record, old, new, now, events)
        if changes:
            self._save_changes(record, changes, now, events)

    def _save_changes(
        self, record: Any, changes: dict[str, list[Any]], now: datetime.datetime, events: list
    ) -> None:
        record.version += 1
        record.updated_at = now
        record.search_document = _stored_search_document(record)
        record.save(
            update_fields=[*(c for c in changes), "version", "updated_at", "search_document"]
        )
        events.append(
            audit.build(
                actor=self.actor, action=AuditEvent.Action.UPDATE, obj=record, changes=changes
            )
        )

    def _points_delta(
        self,
        record: Any,
        old: dict[str, Any],
        new: dict[str, Any],
        now: datetime.datetime,
        events: list[AuditEvent],
    ) -> None:
        """Emails, phones, address and account link that the source added or dropped."""
        parent = self.entity
        touched = False
        for model, section, key in (
            (EmailAddress, "emails", "email"),
            (PhoneNumber, "phones", "e164"),
        ):
            before = {i[key]: i for i in old.get(section, [])}
            after = {i[key]: i for i in new.get(section, [])}
            if before == after and old:
                continue
            present = {
                getattr(p, key).lower() if key == "email" else getattr(p, key): p
                for p in model.objects.filter(**{parent: record})
            }
            for value in before.keys() - after.keys():
                point = present.get(value)
                if point is not None:
                    events.append(
                        audit.build(
                            actor=self.actor,
                            action=AuditEvent.Action.DELETE,
                            obj=point,
                            changes=_point_changes(point, deleting=True),
                            parent=record,
                        )
                    )
                    point.delete()
                    present.pop(value)
                    touched = True
            for value, item in after.items():
                if value in present:
                    continue
                point = _new_point(model, item, not present, now, parent, record)
                point.save()
                present[value] = point
                events.append(
                    audit.build(
                        actor=self.actor,
                        action=AuditEvent.Action.CREATE,
                        obj=point,
                        changes=_point_changes(point),
                        parent=record,
                    )
                )
                touched = True
        old_address, new_address = address_of(old), address_of(new)
        if new_address and new_address != old_address:
            existing = PostalAddress.objects.filter(**{parent: record})
            target = None
            if old_address:
                target = existing.filter(**old_address).first()
            if target is None and not any(existing.filter(**new_address)[:1]):
                target = PostalAddress(
                    is_primary=not existing.exists(), created_at=now, **{parent: record}
                )
                for k, v in new_address.items():
                    setattr(target, k, v)
                target.updated_at = now
                target.save()
                events.append(
                    audit.build(
                        actor=self.actor,
                        action=AuditEvent.Action.CREATE,
                        obj=target,
                        changes=_point_changes(target),
                        parent=record,
                    )
                )
            elif target is not None:
                before = audit.snapshot(target, ADDRESS_KEYS)
                for k in ADDRESS_KEYS:
                    setattr(target, k, new_address.get(k, ""))
                target.version += 1
                target.updated_at = now
                target.save()
                events.append(
                    audit.build(
                        actor=self.actor,
                        action=AuditEvent.Action.UPDATE,
                        obj=target,
                        changes=audit.diff(before, audit.snapshot(target, ADDRESS_KEYS)),
                        parent=record,
                    )
                )
        if (
            parent == "contact"
            and new.get("account.name")
            and (new.get("account.name") != old.get("account.name"))
        ):
            account_id = self._account_id(new["account.name"], now)
            link, created = AccountRelationship.objects.get_or_create(
                contact=record,
                account_id=account_id,
                role="",
                defaults={
                    "is_primary": not record.relationships.exists(),
                    "created_at": now,
                    "updated_at": now,
                },
            )
            if created:
                events.append(
                    audit.build(
                        actor=self.actor,
                        action=AuditEvent.Action.CREATE,
                        obj=link,
                        changes={"account": [None, account_id]},
                        parent=record,
                    )
                )
        new_tags = set(new.get(f"{parent}.tags") or []) - set(old.get(f"{parent}.tags") or [])
        if new_tags:
            before_tags = sorted(t.name for t in record.tags.all())
            record.tags.add(*self._tag_ids(sorted(new_tags)))
            after_tags = sorted(t.name for t in record.tags.all())
            if after_tags != before_tags:
                events.append(
                    audit.build(
                        actor=self.actor,
                        action=AuditEvent.Action.UPDATE,
                        obj=record,
                        changes={"tags": [before_tags, after_tags]},
                    )
                )
        if touched:
            document = _stored_search_document(record)
            if document != record.search_document:
                self.model.objects.filter(pk=record.pk).update(search_document=document)
                record.search_document = document


# --- helpers ----------------------------------------------------------------------------------


def _search_document(record: Any, emails: list[str], pairs: list[tuple[str, str]]) -> str:
    if isinstance(record, Contact):
        return search.contact_document(record, emails, pairs)
    return search.account_document(record, emails, pairs)


def _stored_search_document(record: Any) -> str:
    """The search text from the record's saved emails and phones."""
    emails = list(record.emailaddresss.values_list("email", flat=True))
    pairs = list(record.phonenumbers.values_list("number", "e164"))
    return _search_document(record, emails, pairs)


def _merge(total: BatchResult, part: BatchResult) -> None:
    total.created += part.created
    total.updated += part.updated
    total.unchanged += part.unchanged
    total.quarantined += part.quarantined
    total.flagged += part.flagged
    total.resolved_lines += part.resolved_lines
    total.outcomes.update(part.outcomes)
    for code, n in part.problem_counts.items():
        total.problem_counts[code] = total.problem_counts.get(code, 0) + n


def _without_repeated_keys(rows: list[Prepared]) -> Iterator[list[Prepared]]:
    chunk: list[Prepared] = []
    keys: set[str] = set()
    for row in rows:
        if row.key in keys:
            yield chunk
            chunk, keys = [], set()
        chunk.append(row)
        keys.add(row.key)
    if chunk:
        yield chunk


def _new_point(model, item, primary: bool, now, parent: str, record) -> Any:
    if model is EmailAddress:
        kind = item["kind"] if item["kind"] in EmailAddress.Kind.values else "other"
        return EmailAddress(
            email=item["email"],
            kind=kind,
            is_primary=primary,
            created_at=now,
            updated_at=now,
            **{parent: record},
        )
    kind = item["kind"] if item["kind"] in PhoneNumber.Kind.values else "other"
    return PhoneNumber(
        number=item["number"],
        e164=item["e164"],
        extension=item["extension"][:10],
        kind=kind,
        is_primary=primary,
        created_at=now,
        updated_at=now,
        **{parent: record},
    )


def _point_changes(point: Any, deleting: bool = False) -> dict[str, list[Any]]:
    if isinstance(point, EmailAddress):
        names = ["email", "kind", "is_primary"]
    elif isinstance(point, PhoneNumber):
        names = ["number", "e164", "extension", "kind", "is_primary"]
    else:
        names = ["kind", *ADDRESS_KEYS, "is_primary"]
    values = audit.snapshot(point, names)
    if deleting:
        return {k: [v, None] for k, v in values.items() if v not in (None, "")}
    return {k: [None, v] for k, v in values.items() if v not in (None, "")}


def _dumps(value: Any) -> str:
    """JSON as Django's JSONField stores it."""
    return json.dumps(value)


def _jsonable_raw(raw: Any) -> Any:
    if raw is None:
        return {}
    if isinstance(raw, dict | list):
        return raw
    return {"text": str(raw)}
