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

from django.db import DatabaseError, IntegrityError, connection, transaction
from django.db.models import F
from django.utils import timezone

from patron.core import audit, bulk
from patron.core.models import AuditEvent, CustomFieldDefinition, User
from patron.customers.models import (
    Account,
    Contact,
    EmailAddress,
    PhoneNumber,
    PostalAddress,
    Tag,
)

from .changes import ChangeSet
from .inserts import AccountDirectory, RecordInserter, source_record_rows
from .models import ImportRun, QuarantinedRow, Source, SourceRecord, SourceRecordVersion
from .prepared import Prepared, prepare
from .readers import BadRow

__all__ = ["BatchResult", "BatchWriter", "Prepared", "RunLost", "prepare"]


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


STATISTICS_FROM = 10_000  # rows written by a run before its tables are first analyzed


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
    # Rows the writer quarantined: line → (reason, message).
    refusals: dict[int, tuple[str, str]] = field(default_factory=dict)

    def count(self, code: str) -> None:
        self.problem_counts[code] = self.problem_counts.get(code, 0) + 1


class BatchWriter:
    """Writes batches of prepared rows for one run (one instance per worker process)."""

    def __init__(self, run: ImportRun, *, actor: User | None, token: str) -> None:
        self.run = run
        self.source: Source = run.source
        self.entity = self.source.entity
        self.actor = actor
        self.token = token
        self.model: Any = Contact if self.entity == "contact" else Account
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
        self._changeable: Any = None
        self._written = 0
        self._analyzed_at = STATISTICS_FROM // 2
        if actor is not None:
            # A row may only change a customer the importing user may change.
            self._changeable = self.model.objects.restrict(actor, "change")
            if run.match_by == "email":
                self._matchable = self._changeable

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
        result = self._write_batch(items, rows_consumed=rows_consumed, bytes_done=bytes_done)
        self._written += len(items)
        if self._written >= 2 * self._analyzed_at:
            self._refresh_statistics()
        return result

    def _refresh_statistics(self) -> None:
        """ANALYZE the tables a large import grows, whenever this run has doubled what it
        wrote since the last time (10k, 20k, 40k… rows; a dozen times for millions).

        PostgreSQL plans a batch's lookups (source records by key, emails by address) from
        table statistics; autovacuum refreshes them too late for a table that goes from
        empty to a million rows in minutes, and with stale ones the planner scans every
        source record of the source for each batch. Runs between batches, never inside
        someone's transaction; SQLite plans these lookups on the unique indexes regardless."""
        self._analyzed_at = max(self._written, STATISTICS_FROM // 2)
        if connection.vendor != "postgresql" or connection.in_atomic_block:
            return
        tables = [SourceRecord, EmailAddress, PhoneNumber, PostalAddress, Account]
        qn = connection.ops.quote_name
        names = ", ".join(dict.fromkeys(qn(m._meta.db_table) for m in tables))
        with connection.cursor() as cursor:
            cursor.execute(f"ANALYZE {names}")

    def _write_batch(
        self, items: list[Prepared | BadRow], *, rows_consumed: int, bytes_done: int
    ) -> BatchResult:
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
            self._quarantine(bad, result)
        # The same key twice in a batch: the first of each key are written together, then the
        # second ones (which see the first as what the source sent before), and so on; a row
        # whose email a repeated key's rows had waits until they are written (file order).
        for part in _parts(rows):
            for generation in _generations(part):
                self._write_rows(generation, result)
        return result

    def _quarantine(self, bad: list[BadRow], result: BatchResult) -> None:
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
            result.refusals[b.line] = (b.reason, b.message)

    def _may_change(self, ids: set[int]) -> set[int]:
        """Those of the customers `ids` the importing user may change."""
        return set(self._changeable.filter(pk__in=ids).values_list("pk", flat=True))

    def _hide_ids_not_changeable(self, result: BatchResult) -> None:
        """An unchanged row tells its customer's id (the bulk API's answer) only to someone
        who may change that customer."""
        if self._changeable is None:
            return
        shown = {
            line: pk
            for line, (status, pk) in result.outcomes.items()
            if status == "unchanged" and pk is not None
        }
        if not shown:
            return
        allowed = self._may_change(set(shown.values()))
        for line, pk in shown.items():
            if pk not in allowed:
                result.outcomes[line] = ("unchanged", None)

    def _refuse_forbidden(
        self, changed: list[tuple[Prepared, SourceRecord]], result: BatchResult
    ) -> tuple[list[tuple[Prepared, SourceRecord]], set[int]]:
        """The changed rows whose customer the importing user may change (or that no longer
        exists: the row brings it back), and the lines of the others, quarantined: their
        customer stays untouched and its id is not reported."""
        if self._changeable is None or not changed:
            return changed, set()
        column = f"{self.entity}_id"
        ids = {getattr(record, column) for _, record in changed} - {None}
        allowed = self._may_change(ids)
        if allowed == ids:
            return changed, set()
        existing = set(self.model.objects.filter(pk__in=ids - allowed).values_list("pk", flat=True))
        kept, refused = [], []
        for row, record in changed:
            if getattr(record, column) in existing:
                refused.append(
                    BadRow(
                        row.line,
                        "forbidden",
                        "The row changes a customer you may not change; someone who may "
                        "can re-run it.",
                        raw=row.payload,
                    )
                )
            else:
                kept.append((row, record))
        self._quarantine(refused, result)
        return kept, {b.line for b in refused}

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
        changed, refused = self._refuse_forbidden(changed, result)
        for row in rows:
            if row.line in refused:
                continue
            if row.problems:
                result.flagged += 1
                for problem in row.problems:
                    result.count(problem["code"])
            if self.run.parent_id:
                result.resolved_lines.append(row.line)
        if unchanged_ids:
            SourceRecord.objects.filter(pk__in=unchanged_ids).update(last_seen_at=now)
            result.unchanged += len(unchanged_ids)
            self._hide_ids_not_changeable(result)
        events: list[AuditEvent] = []
        changes = ChangeSet(
            entity=self.entity,
            actor=self.actor,
            accounts=self.accounts,
            tag_ids=self._tag_ids,
            custom_names=self.custom_names,
            now=now,
            events=events,
        )
        if new_rows:
            self._create(new_rows, now, changes, result)
        if changed:
            self._update(changed, now, changes, result)
        changes.flush()
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
        emails = sorted({e["email"] for r in rows for e in r.values.get("emails", [])})
        if not emails:
            return {}
        parent = "contact" if self.entity == "contact" else "account"
        found = _emails_of(emails, parent)
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
        self, rows: list[Prepared], now: datetime.datetime, changes: ChangeSet, result
    ) -> None:
        events = changes.events
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
            loaded = changes.load(wanted)
            for (row, join), pk in zip(joined, wanted, strict=True):
                record = loaded.get(pk)
                if record is None:
                    pk = self.inserter.create([row], now, events)[0]
                    result.created += 1
                else:
                    changes.fill(record, row.values)
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

    # -- changed rows -------------------------------------------------------------------------

    def _update(
        self,
        changed: list[tuple[Prepared, SourceRecord]],
        now: datetime.datetime,
        changes: ChangeSet,
        result: BatchResult,
    ) -> None:
        events = changes.events
        records = changes.load(getattr(r, f"{self.entity}_id") for _, r in changed)
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
                changes.apply_delta(record, source_record.normalised, row.values)
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


# --- helpers ----------------------------------------------------------------------------------


def _merge(total: BatchResult, part: BatchResult) -> None:
    total.created += part.created
    total.updated += part.updated
    total.unchanged += part.unchanged
    total.quarantined += part.quarantined
    total.flagged += part.flagged
    total.resolved_lines += part.resolved_lines
    total.outcomes.update(part.outcomes)
    total.refusals.update(part.refusals)
    for code, n in part.problem_counts.items():
        total.problem_counts[code] = total.problem_counts.get(code, 0) + n


def _emails_of(emails: list[str], parent: str) -> list[tuple[str, int]]:
    """(address, owner id) of the stored addresses that are `emails` but for case, oldest
    first, for owners of kind `parent` ("contact" or "account").

    The wanted addresses are joined as a VALUES list, so each is one probe of the
    lower(email) index: with `lower(email) IN (...5,000 addresses)` PostgreSQL's estimate
    tipped it into scanning the whole table at a million addresses (178 ms a batch instead
    of 33 ms, measured). On PostgreSQL each address is a LATERAL subquery that the planner
    may not flatten (`OFFSET 0`): with a plain join it hashed the whole table for every 500
    addresses while the table was small (83 ms instead of 6 ms at 100,000 addresses)."""
    table = connection.ops.quote_name(EmailAddress._meta.db_table)
    column = connection.ops.quote_name(f"{parent}_id")
    if connection.vendor == "postgresql":
        query = (
            "SELECT wanted.email, e.owner, e.id FROM wanted CROSS JOIN LATERAL ("
            f"SELECT x.{column} AS owner, x.id FROM {table} x "  # noqa: S608 - no user text
            f"WHERE lower(x.email) = wanted.email AND x.{column} IS NOT NULL OFFSET 0) e"
        )
    else:
        query = (
            f"SELECT wanted.email, e.{column}, e.id FROM wanted JOIN {table} e "  # noqa: S608
            f"ON lower(e.email) = wanted.email WHERE e.{column} IS NOT NULL"
        )
    found: list[tuple[str, int, int]] = []
    with connection.cursor() as cursor:
        for start in range(0, len(emails), 500):
            chunk = emails[start : start + 500]
            values = ", ".join(["(%s)"] * len(chunk))
            cursor.execute(f"WITH wanted (email) AS (VALUES {values}) {query}", chunk)
            found += cursor.fetchall()
    found.sort(key=lambda item: item[2])
    return [(email, parent_id) for email, parent_id, _ in found]


def _parts(rows: list[Prepared]) -> Iterator[list[Prepared]]:
    """The batch cut where writing repeated keys' rows after the others would change what a
    row finds: a row is written in file order after a repeated key's rows when it shares an
    email with them (it may join that customer, or find the address the repeat removed).
    Anything else does not depend on the order, so a batch is nearly always one part."""
    part: list[Prepared] = []
    emails_of: dict[str, set[str]] = {}  # key → the emails of its rows in this part
    held: set[str] = set()  # the emails of keys that came again in this part
    for row in rows:
        emails = {e["email"] for e in row.values.get("emails", [])}
        if row.key not in emails_of and emails & held:
            yield part
            part, emails_of, held = [], {}, set()
        if row.key in emails_of:
            emails_of[row.key] |= emails
            held |= emails_of[row.key]
        else:
            emails_of[row.key] = emails
        part.append(row)
    if part:
        yield part


def _generations(rows: list[Prepared]) -> list[list[Prepared]]:
    """The rows in groups with one row per key: each key's first row (in file order), then
    each key's second row, and so on. A batch of a messy file is nearly always one group, or
    two when a key comes again, instead of a slice between every repeat (`_parts` keeps the
    order wherever it matters)."""
    generations: list[list[Prepared]] = []
    seen: dict[str, int] = {}
    for row in rows:
        n = seen.get(row.key, 0)
        seen[row.key] = n + 1
        if n == len(generations):
            generations.append([])
        generations[n].append(row)
    return generations


def _dumps(value: Any) -> str:
    """JSON as Django's JSONField stores it."""
    return json.dumps(value)


def _jsonable_raw(raw: Any) -> Any:
    if raw is None:
        return {}
    if isinstance(raw, dict | list):
        return raw
    return {"text": str(raw)}
