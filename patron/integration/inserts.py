"""Set-based writes of an import batch's new customer records (the bulk of a first import).

A batch's new contacts or accounts get their ids up front (`core.bulk.allocate_ids`), so
their emails, phones, addresses, account links, tags, source records and audit events can
all be built as plain tuples and written with one COPY (PostgreSQL) or executemany (SQLite)
per table, in the batch's transaction. What is written is exactly what the ORM path wrote
before: same columns and defaults, one primary contact point per kind, the search document,
one `create` audit event per record listing its first contact points (decision 0010).
"""

from __future__ import annotations

import datetime
from collections.abc import Callable, Iterable
from typing import TYPE_CHECKING, Any

from django.contrib.contenttypes.models import ContentType
from django.db import connection

from patron.core import audit, bulk
from patron.core.models import AuditEvent, User
from patron.customers.models import (
    Account,
    AccountRelationship,
    Contact,
    EmailAddress,
    LifecycleStage,
    PhoneNumber,
    PostalAddress,
)

from .models import ImportRun, SourceRecord
from .prepared import (
    ADDRESS_TAIL,
    EMAIL_TAIL,
    PHONE_TAIL,
    RECORD_TAIL,
    Prepared,
    new_record,
    new_record_document,
)

if TYPE_CHECKING:
    from django.db import models

STAMPS = ("created_at", "updated_at")
# The columns only the writer knows, before those `prepared.new_record` built (RECORD_TAIL…).
RECORD_COLUMNS = {
    entity: ("id", "owner_id", "team_id", *STAMPS, *tail) for entity, tail in RECORD_TAIL.items()
}
PARENT_COLUMNS = ("contact_id", "account_id", *STAMPS)
SOURCE_RECORD_COLUMNS = (
    "source_id",
    "source_key",
    "payload",
    "normalised",
    "problems",
    "content_hash",
    "line",
    "first_seen_at",
    "last_seen_at",
    "last_run_id",
    "contact_id",
    "account_id",
)


class AccountDirectory:
    """Accounts by name for one run: looked up case-insensitively a batch at a time, created
    in bulk when missing, and remembered for the rest of the run."""

    def __init__(self, actor: User | None) -> None:
        self.actor = actor
        self._ids: dict[str, int] = {}
        # account id → its name as stored (for the label of a link to it)
        self.names: dict[int, str] = {}

    def ids(self, names: Iterable[str], now: datetime.datetime) -> dict[str, int]:
        """casefolded name → account id, for every name; one query for those not seen yet
        in this run, one insert for those Patron does not have."""
        wanted: dict[str, str] = {}
        for name in names:
            folded = name.casefold()
            if folded not in self._ids and folded not in wanted:
                wanted[folded] = name
        if wanted:
            found = self._find(list(wanted.values()))
            missing = [name for name in wanted.values() if name not in found]
            if missing:
                found.update(self._create(missing, now))
            for folded, name in wanted.items():
                self._ids[folded] = found[name]
        return self._ids

    def _find(self, names: list[str]) -> dict[str, int]:
        """name → the oldest account whose name is the same but for case. Both sides are
        lower-cased by the database (SQLite's lower() only folds ASCII), through the index on
        lower(name)."""
        found: dict[str, int] = {}
        qn = connection.ops.quote_name
        table = qn(Account._meta.db_table)
        with connection.cursor() as cursor:
            for start in range(0, len(names), 500):
                chunk = names[start : start + 500]
                values = ", ".join(["(%s)"] * len(chunk))
                cursor.execute(
                    f"WITH wanted (name) AS (VALUES {values}) "  # noqa: S608 - no user text
                    f"SELECT wanted.name, a.id, a.name FROM wanted JOIN {table} a "
                    "ON lower(a.name) = lower(wanted.name) ORDER BY a.id",
                    chunk,
                )
                for name, pk, stored in cursor.fetchall():
                    found.setdefault(name, pk)
                    self.names[pk] = stored
        return found

    def _create(self, names: list[str], now: datetime.datetime) -> dict[str, int]:
        """New accounts named as the source spells them, owned by the importing user, each
        with the `create` event a service would write (published at once, before the
        batch's own events, so a revert removes the people before their accounts)."""
        ids = bulk.allocate_ids(Account, len(names))
        owner_id = self.actor.pk if self.actor is not None else None
        team_id = self.actor.team_id if self.actor is not None else None
        stamp = bulk.db_datetime(now)
        rows = []
        factory = audit.EventFactory(self.actor)
        content_type = ContentType.objects.get_for_model(Account)
        events = []
        for pk, name in zip(ids, names, strict=True):
            document = new_record_document("account", {"account.name": name})
            rows.append(
                (pk, owner_id, team_id, stamp, stamp, LifecycleStage.LEAD.value, "{}", document, 1)
                + (name, "", "", None, None, "", None)
            )
            changes: dict[str, list[Any]] = {"name": [None, name]}
            if owner_id is not None:
                changes["owner"] = [None, owner_id]
            if team_id is not None:
                changes["team"] = [None, team_id]
            events.append(
                factory.event(
                    action=AuditEvent.Action.CREATE,
                    content_type=content_type,
                    object_id=pk,
                    object_repr=name,
                    changes=changes,
                    created_at=now,
                )
            )
        bulk.insert_rows(Account, RECORD_COLUMNS["account"], rows)
        audit.insert_many(events)
        self.names.update(zip(ids, names, strict=True))
        return dict(zip(names, ids, strict=True))


class RecordInserter:
    """Writes new records made from prepared rows, with everything that hangs off them."""

    def __init__(
        self,
        *,
        run: ImportRun,
        actor: User | None,
        accounts: AccountDirectory,
        tag_ids: Callable[[Iterable[str]], list[int]],
    ) -> None:
        self.run = run
        self.entity = run.source.entity
        self.model: type[models.Model] = Contact if self.entity == "contact" else Account
        self.actor = actor
        self.owner_id = actor.pk if actor is not None else None
        self.team_id = actor.team_id if actor is not None else None
        self.accounts = accounts
        self.tag_ids = tag_ids
        self.content_type = ContentType.objects.get_for_model(self.model)

    def create(
        self, rows: list[Prepared], now: datetime.datetime, events: list[AuditEvent]
    ) -> list[int]:
        """Insert one record per row (ids in row order) and its contact points, account
        link and tags; append each record's `create` event to `events`."""
        if not rows:
            return []
        ids = bulk.allocate_ids(self.model, len(rows))
        stamp = bulk.db_datetime(now)
        entity = self.entity
        made = [new_record(row, entity, self.owner_id) for row in rows]
        account_ids: dict[str, int] = {}
        if entity == "contact":
            account_ids = self.accounts.ids([m.company for m in made if m.company], now)
        factory = audit.EventFactory(self.actor)
        mine = (self.owner_id, self.team_id, stamp, stamp)
        times = (stamp, stamp)
        records, emails, phones, addresses, links, tags = [], [], [], [], [], []
        for new, pk in zip(made, ids, strict=True):
            records.append((pk, *mine, *new.columns))
            parent = (pk, None, *times) if entity == "contact" else (None, pk, *times)
            emails += [parent + point for point in new.emails]
            phones += [parent + point for point in new.phones]
            if new.address is not None:
                addresses.append(parent + new.address)
            if new.company:
                account_id = account_ids[new.company.casefold()]
                links.append((pk, account_id, "", True, None, None, 1, stamp, stamp))
            if new.tags:
                tags += [(pk, tag_id) for tag_id in self.tag_ids(new.tags)]
            events.append(
                factory.event(
                    action=AuditEvent.Action.CREATE,
                    content_type=self.content_type,
                    object_id=pk,
                    object_repr=new.label,
                    changes=new.changes,
                    changes_text=new.changes_text,
                    created_at=now,
                )
            )
        bulk.insert_rows(self.model, RECORD_COLUMNS[entity], records)
        bulk.insert_rows(EmailAddress, (*PARENT_COLUMNS, *EMAIL_TAIL), emails)
        bulk.insert_rows(PhoneNumber, (*PARENT_COLUMNS, *PHONE_TAIL), phones)
        bulk.insert_rows(PostalAddress, (*PARENT_COLUMNS, *ADDRESS_TAIL), addresses)
        link_columns: tuple[str, ...] = (
            "contact_id",
            "account_id",
            "role",
            "is_primary",
            "started_on",
        )
        link_columns += ("ended_on", "version", *STAMPS)
        bulk.insert_rows(AccountRelationship, link_columns, links)
        through = self.model.tags.through  # type: ignore[attr-defined]
        bulk.insert_rows(through, (f"{entity}_id", "tag_id"), tags)
        return ids


def source_record_rows(
    *,
    run: ImportRun,
    pairs: list[tuple[Prepared, int]],
    now: datetime.datetime,
) -> int:
    """Insert the source records of new keys, each linked to its customer record."""
    stamp = bulk.db_datetime(now)
    contact = run.source.entity == "contact"
    rows = [
        (
            run.source_id,
            row.key,
            *row.json_texts(),
            row.content_hash,
            row.line,
            stamp,
            stamp,
            run.pk,
            record_id if contact else None,
            None if contact else record_id,
        )
        for row, record_id in pairs
    ]
    return bulk.insert_rows(SourceRecord, SOURCE_RECORD_COLUMNS, rows)
