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
import hashlib
import json
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from typing import Any

from django.db import DatabaseError, IntegrityError, transaction
from django.db.models import F, Value
from django.db.models.functions import Lower
from django.utils import timezone

from patron.core import audit
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

from .fields import Normalised, RowNormaliser
from .models import ImportRun, QuarantinedRow, Source, SourceRecord, SourceRecordVersion
from .readers import BadRow

ADDRESS_KEYS = ("street", "street2", "city", "region", "postal_code", "country")


class RunLost(Exception):
    """Another process took the run over (this one was presumed dead); stop without writing."""


@dataclass
class Prepared:
    """A usable row: what the source sent and what Patron made of it."""

    line: int
    key: str
    payload: dict[str, Any]
    values: dict[str, Any]
    problems: list[dict[str, str]]
    content_hash: str


def content_hash(payload: dict[str, Any]) -> str:
    text = json.dumps(payload, sort_keys=True, ensure_ascii=False, separators=(",", ":"))
    return hashlib.sha256(text.encode("utf-8", "surrogatepass")).hexdigest()


def prepare(
    line: int, row: dict[str, Any], normaliser: RowNormaliser, key_column: str = ""
) -> Prepared | BadRow:
    """Map and normalise one row; decide whether it is usable at all."""
    result: Normalised = normaliser.normalise(row)
    digest = content_hash(row)
    if normaliser.has_key and not result.key:
        return BadRow(
            line,
            "no_key",
            f"The source key ('{key_column or 'key column'}') is empty; without it the row "
            "cannot be matched on the next import.",
            raw=row,
        )
    values = result.values
    if normaliser.entity == "contact":
        if not (values.get("contact.first_name") or values.get("contact.last_name")):
            return BadRow(line, "no_name", "The row has no name (first or last).", raw=row)
    elif not values.get("account.name"):
        return BadRow(line, "no_name", "The row has no account name.", raw=row)
    return Prepared(
        line=line,
        key=result.key or digest,
        payload=row,
        values=values,
        problems=result.problems,
        content_hash=digest,
    )


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


SIMPLE_FIELDS = {
    "contact": [
        "prefix",
        "first_name",
        "middle_name",
        "last_name",
        "suffix",
        "job_title",
        "date_of_birth",
        "description",
        "lifecycle_stage",
    ],
    "account": [
        "name",
        "domain",
        "industry",
        "employee_count",
        "annual_revenue",
        "description",
        "lifecycle_stage",
    ],
}


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
        self._accounts: dict[str, int] = {}
        self._tags: dict[str, int] = {}
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
            QuarantinedRow.objects.bulk_create(
                [
                    QuarantinedRow(
                        run=self.run,
                        line=b.line,
                        reason=b.reason,
                        message=b.message,
                        raw=_jsonable_raw(b.raw),
                    )
                    for b in bad
                ]
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
            audit.record_many(events)

    # -- new rows -----------------------------------------------------------------------------

    def _matches(self, rows: list[Prepared]) -> dict[str, int]:
        """email → id of an existing customer the actor may change, for new rows."""
        if self._matchable is None:
            return {}
        emails = {e["email"] for r in rows for e in r.values.get("emails", [])}
        if not emails:
            return {}
        parent = "contact" if self.entity == "contact" else "account"
        found = (
            EmailAddress.objects.annotate(lowered=Lower("email"))
            .filter(lowered__in=emails, **{f"{parent}__in": self._matchable.values("pk")})
            .values_list("lowered", f"{parent}_id")
            .order_by("id")
        )
        matches: dict[str, int] = {}
        for email, parent_id in found:
            matches.setdefault(email, parent_id)
        return matches

    def _create(
        self, rows: list[Prepared], now: datetime.datetime, events: list[AuditEvent], result
    ) -> None:
        matches = self._matches(rows)
        joined: list[tuple[Prepared, int]] = []
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
                joined.append((row, -id(twin)))
                continue
            fresh.append(row)
            for e in emails:
                seen_emails.setdefault(e, row)

        records = [self._new_record(row, now) for row in fresh]
        self.model.objects.bulk_create(records)
        by_row: dict[int, Any] = {id(row): rec for row, rec in zip(fresh, records, strict=True)}
        self._add_children(list(zip(fresh, records, strict=True)), now, fresh_records=True)
        for row, record in zip(fresh, records, strict=True):
            events.append(
                audit.build(
                    actor=self.actor,
                    action=AuditEvent.Action.CREATE,
                    obj=record,
                    changes=_create_changes(self.entity, record, row.values),
                )
            )
        result.created += len(fresh)
        for row, record in zip(fresh, records, strict=True):
            result.outcomes[row.line] = ("created", record.pk)

        # Rows that join an existing customer fill its empty fields and add contact points.
        joined_records: list[tuple[Prepared, Any]] = []
        if joined:
            ids = [t for _, t in joined if t > 0]
            loaded = {r.pk: r for r in self.model.objects.filter(pk__in=ids)}
            for row, target in joined:
                record = loaded.get(target) if target > 0 else by_row.get(-target)
                if record is None:
                    record = self._new_record(row, now)
                    record.save()
                    events.append(
                        audit.build(
                            actor=self.actor,
                            action=AuditEvent.Action.CREATE,
                            obj=record,
                            changes=_create_changes(self.entity, record, row.values),
                        )
                    )
                    self._add_children([(row, record)], now, fresh_records=True)
                    result.created += 1
                else:
                    self._fill(record, row, now, events)
                    result.updated += 1
                joined_records.append((row, record))
                result.outcomes[row.line] = ("created" if target < 0 else "matched", record.pk)

        SourceRecord.objects.bulk_create(
            [
                SourceRecord(
                    source=self.source,
                    source_key=row.key,
                    payload=row.payload,
                    normalised=row.values,
                    problems=row.problems,
                    content_hash=row.content_hash,
                    line=row.line,
                    first_seen_at=now,
                    last_seen_at=now,
                    last_run=self.run,
                    **{self.entity: record},
                )
                for row, record in [*zip(fresh, records, strict=True), *joined_records]
            ]
        )

    def _new_record(self, row: Prepared, now: datetime.datetime) -> Any:
        values = row.values
        record: Any = self.model(created_at=now, updated_at=now)
        for name in SIMPLE_FIELDS[self.entity]:
            value = _field_value(self.entity, name, values)
            if value is not None:
                setattr(record, name, value)
        record.custom_fields = self._custom(values)
        if self.actor is not None:
            record.owner = self.actor
            record.team_id = self.actor.team_id
        emails = [e["email"] for e in values.get("emails", [])]
        pairs = [(p["number"], p["e164"]) for p in values.get("phones", [])]
        record.search_document = _search_document(record, emails, pairs)
        return record

    def _custom(self, values: dict[str, Any]) -> dict[str, Any]:
        return {
            k[7:]: v
            for k, v in values.items()
            if k.startswith("custom.") and k[7:] in self.custom_names
        }

    def _add_children(
        self, pairs: list[tuple[Prepared, Any]], now: datetime.datetime, *, fresh_records: bool
    ) -> None:
        """Contact points, the account link and tags of records created in this batch."""
        parent = self.entity
        emails: list[EmailAddress] = []
        phones: list[PhoneNumber] = []
        addresses: list[PostalAddress] = []
        links: list[AccountRelationship] = []
        tag_links: list[Any] = []
        for row, record in pairs:
            values = row.values
            for i, item in enumerate(_unique_by(values.get("emails", []), "email")):
                emails.append(
                    EmailAddress(
                        email=item["email"],
                        kind=item["kind"] if item["kind"] in EmailAddress.Kind.values else "other",
                        is_primary=i == 0,
                        created_at=now,
                        updated_at=now,
                        **{parent: record},
                    )
                )
            for i, item in enumerate(_unique_by(values.get("phones", []), "e164")):
                phones.append(
                    PhoneNumber(
                        number=item["number"],
                        e164=item["e164"],
                        extension=item["extension"][:10],
                        kind=item["kind"] if item["kind"] in PhoneNumber.Kind.values else "other",
                        is_primary=i == 0,
                        created_at=now,
                        updated_at=now,
                        **{parent: record},
                    )
                )
            address = _address(values)
            if address:
                addresses.append(
                    PostalAddress(
                        is_primary=True,
                        created_at=now,
                        updated_at=now,
                        **address,
                        **{parent: record},
                    )
                )
            if parent == "contact" and values.get("account.name"):
                account_id = self._account_id(values["account.name"], now)
                links.append(
                    AccountRelationship(
                        contact=record,
                        account_id=account_id,
                        is_primary=True,
                        created_at=now,
                        updated_at=now,
                    )
                )
            tags = values.get(f"{parent}.tags") or []
            if tags:
                through = self.model.tags.through
                for tag_id in self._tag_ids(tags):
                    tag_links.append(through(**{f"{parent}_id": record.pk, "tag_id": tag_id}))
        EmailAddress.objects.bulk_create(emails)
        PhoneNumber.objects.bulk_create(phones)
        PostalAddress.objects.bulk_create(addresses)
        AccountRelationship.objects.bulk_create(links, ignore_conflicts=True)
        if tag_links:
            self.model.tags.through.objects.bulk_create(tag_links, ignore_conflicts=True)

    def _account_id(self, name: str, now: datetime.datetime) -> int:
        """The account of that name (case-insensitive), created once per run when missing."""
        folded = name.casefold()
        if folded in self._accounts:
            return self._accounts[folded]
        found = (
            # Both sides lower-cased by the database: SQLite's lower() only folds ASCII.
            Account.objects.annotate(lowered=Lower("name"))
            .filter(lowered=Lower(Value(name)))
            .order_by("id")
            .values_list("pk", flat=True)
            .first()
        )
        if found is None:
            account = Account(name=name, created_at=now, updated_at=now)
            if self.actor is not None:
                account.owner = self.actor
                account.team_id = self.actor.team_id
            account.search_document = search.account_document(account, [], [])
            account.save()
            audit.record_create(actor=self.actor, obj=account, fields=["name", "owner", "team"])
            found = account.pk
        self._accounts[folded] = found
        return found

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
                SourceRecordVersion(
                    record=source_record,
                    replaced_by_run=self.run,
                    payload=source_record.payload,
                    normalised=source_record.normalised,
                    problems=source_record.problems,
                    content_hash=source_record.content_hash,
                    line=source_record.line,
                    last_seen_at=source_record.last_seen_at,
                    last_run_id_before=source_record.last_run_id,
                    contact_id_before=source_record.contact_id,
                    account_id_before=source_record.account_id,
                )
            )
            record = records.get(getattr(source_record, f"{self.entity}_id"))
            if record is None:
                # The customer record was deleted in Patron: the source still sends it, so it
                # comes back, linked to this source record.
                record = self._new_record(row, now)
                record.save()
                self._add_children([(row, record)], now, fresh_records=True)
                events.append(
                    audit.build(
                        actor=self.actor,
                        action=AuditEvent.Action.CREATE,
                        obj=record,
                        changes=_create_changes(self.entity, record, row.values),
                    )
                )
                result.created += 1
            else:
                self._apply_delta(record, source_record.normalised, row.values, now, events)
                result.updated += 1
            result.outcomes[row.line] = ("updated", record.pk)
            source_record.payload = row.payload
            source_record.normalised = row.values
            source_record.problems = row.problems
            source_record.content_hash = row.content_hash
            source_record.line = row.line
            source_record.last_seen_at = now
            source_record.last_run = self.run
            setattr(source_record, self.entity, record)
        SourceRecordVersion.objects.bulk_create(versions)
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
        old_address, new_address = _address(old), _address(new)
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


def _unique_by(items: list[dict[str, Any]], key: str) -> list[dict[str, Any]]:
    seen: set[str] = set()
    result = []
    for item in items:
        if item[key] not in seen:
            seen.add(item[key])
            result.append(item)
    return result


def _address(values: dict[str, Any]) -> dict[str, str]:
    address = {k: values.get(f"address.{k}", "") for k in ADDRESS_KEYS}
    return address if any(address.values()) else {}


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


def _create_changes(entity: str, record: Any, values: dict[str, Any]) -> dict[str, list[Any]]:
    """What a created record holds, its first contact points included (one event per record:
    the points are created with it and go with it on revert)."""
    changes: dict[str, list[Any]] = {}
    for name in SIMPLE_FIELDS[entity]:
        value = audit._jsonable(getattr(record, name))
        if value not in (None, ""):
            changes[name] = [None, value]
    if record.custom_fields:
        changes["custom_fields"] = [None, record.custom_fields]
    if record.owner_id:
        changes["owner"] = [None, record.owner_id]
    if values.get("emails"):
        changes["emails"] = [None, [e["email"] for e in values["emails"]]]
    if values.get("phones"):
        changes["phones"] = [None, [p["e164"] for p in values["phones"]]]
    if _address(values):
        changes["address"] = [None, ", ".join(v for v in _address(values).values() if v)]
    if entity == "contact" and values.get("account.name"):
        changes["account"] = [None, values["account.name"]]
    if values.get(f"{entity}.tags"):
        changes["tags"] = [None, values[f"{entity}.tags"]]
    return changes


def _jsonable_raw(raw: Any) -> Any:
    if raw is None:
        return {}
    if isinstance(raw, dict | list):
        return raw
    return {"text": str(raw)}
