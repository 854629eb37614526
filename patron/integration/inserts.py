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
import json
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
    ADDRESS_KEYS,
    SIMPLE_FIELDS,
    Prepared,
    address_of,
    new_record_document,
    unique_by,
)

if TYPE_CHECKING:
    from django.db import models

EMAIL_KINDS = frozenset(EmailAddress.Kind.values)
PHONE_KINDS = frozenset(PhoneNumber.Kind.values)
POINT_COLUMNS = ("contact_id", "account_id", "is_primary", "verified_at", "version")
STAMPS = ("created_at", "updated_at")
OWNED_COLUMNS: tuple[str, ...] = ("id", "owner_id", "team_id", "lifecycle_stage", "custom_fields")
OWNED_COLUMNS += ("search_document", "version", *STAMPS)
RECORD_COLUMNS = {
    "contact": (*OWNED_COLUMNS, *SIMPLE_FIELDS["contact"][:-1]),
    "account": (*OWNED_COLUMNS, *SIMPLE_FIELDS["account"][:-1], "parent_id"),
}
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


def _dumps(value: Any) -> str:
    """JSON as Django's JSONField stores it."""
    return json.dumps(value)


def full_name(values: dict[str, Any]) -> str:
    """`str(contact)` of a contact made from `values`."""
    parts = [values.get(f"contact.{n}") for n in ("first_name", "middle_name", "last_name")]
    return " ".join(p for p in parts if p) or "(no name)"


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
                (pk, owner_id, team_id, LifecycleStage.LEAD.value, "{}", document, 1, stamp, stamp)
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
        custom_names: set[str],
        accounts: AccountDirectory,
        tag_ids: Callable[[Iterable[str]], list[int]],
    ) -> None:
        self.run = run
        self.entity = run.source.entity
        self.model: type[models.Model] = Contact if self.entity == "contact" else Account
        self.actor = actor
        self.owner_id = actor.pk if actor is not None else None
        self.team_id = actor.team_id if actor is not None else None
        self.custom_names = custom_names
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
        account_ids: dict[str, int] = {}
        if entity == "contact":
            names = [r.values["account.name"] for r in rows if r.values.get("account.name")]
            account_ids = self.accounts.ids(names, now)
        factory = audit.EventFactory(self.actor)
        records, emails, phones, addresses, links, tags = [], [], [], [], [], []
        for row, pk in zip(rows, ids, strict=True):
            values = row.values
            custom = {
                k[7:]: v
                for k, v in values.items()
                if k.startswith("custom.") and k[7:] in self.custom_names
            }
            document = row.document
            if document is None:
                document = new_record_document(entity, values)
            fields, changes = self._fields(values)
            records.append(
                (pk, self.owner_id, self.team_id, fields[-1], _dumps(custom), document, 1)
                + (stamp, stamp, *fields[:-1])
                + ((None,) if entity == "account" else ())
            )
            parent = (pk, None) if entity == "contact" else (None, pk)
            for i, item in enumerate(unique_by(values.get("emails", []), "email")):
                kind = item["kind"] if item["kind"] in EMAIL_KINDS else "other"
                emails.append((*parent, i == 0, None, 1, stamp, stamp, item["email"], kind))
            for i, item in enumerate(unique_by(values.get("phones", []), "e164")):
                kind = item["kind"] if item["kind"] in PHONE_KINDS else "other"
                phones.append(
                    (*parent, i == 0, None, 1, stamp, stamp)
                    + (item["number"], item["e164"], item["extension"][:10], kind)
                )
            address = address_of(values)
            if address:
                addresses.append(
                    (*parent, True, None, 1, stamp, stamp, PostalAddress.Kind.HOME.value)
                    + tuple(address[k] for k in ADDRESS_KEYS)
                )
            company = values.get("account.name") if entity == "contact" else None
            if company:
                account_id = account_ids[company.casefold()]
                links.append((pk, account_id, "", True, None, None, 1, stamp, stamp))
            for tag_id in self.tag_ids(values.get(f"{entity}.tags") or []):
                tags.append((pk, tag_id))
            if custom:
                changes["custom_fields"] = [None, custom]
            _point_changes(entity, values, changes, self.owner_id)
            label = full_name(values) if entity == "contact" else values["account.name"]
            events.append(
                factory.event(
                    action=AuditEvent.Action.CREATE,
                    content_type=self.content_type,
                    object_id=pk,
                    object_repr=label,
                    changes=changes,
                    created_at=now,
                )
            )
        bulk.insert_rows(self.model, RECORD_COLUMNS[entity], records)
        bulk.insert_rows(EmailAddress, (*POINT_COLUMNS, *STAMPS, "email", "kind"), emails)
        phone_columns = ("number", "e164", "extension", "kind")
        bulk.insert_rows(PhoneNumber, (*POINT_COLUMNS, *STAMPS, *phone_columns), phones)
        address_columns = (*POINT_COLUMNS, *STAMPS, "kind", *ADDRESS_KEYS)
        bulk.insert_rows(PostalAddress, address_columns, addresses)
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

    def _fields(self, values: dict[str, Any]) -> tuple[list[Any], dict[str, list[Any]]]:
        """The record's own columns in SIMPLE_FIELDS order (lifecycle stage last), and the
        `create` event's changes for them (what is not empty)."""
        entity = self.entity
        fields: list[Any] = []
        changes: dict[str, list[Any]] = {}
        for name in SIMPLE_FIELDS[entity]:
            value = values.get(f"{entity}.{name}")
            if value is None:
                if name == "lifecycle_stage":
                    value = LifecycleStage.LEAD.value
                elif name not in _NULLABLE:
                    value = ""
            if value is not None and value != "":
                changes[name] = [None, value]
            if name == "annual_revenue" and value is not None:
                value = _REVENUE.get_db_prep_save(value, connection)
            fields.append(value)
        return fields, changes


_NULLABLE = {"date_of_birth", "employee_count", "annual_revenue"}
_REVENUE = Account._meta.get_field("annual_revenue")


def _point_changes(
    entity: str, values: dict[str, Any], changes: dict[str, list[Any]], owner_id: int | None
) -> None:
    """The rest of a `create` event: owner, first contact points, account and tags, in the
    order the event always listed them."""
    if owner_id:
        changes["owner"] = [None, owner_id]
    if values.get("emails"):
        changes["emails"] = [None, [e["email"] for e in values["emails"]]]
    if values.get("phones"):
        changes["phones"] = [None, [p["e164"] for p in values["phones"]]]
    address = address_of(values)
    if address:
        changes["address"] = [None, ", ".join(v for v in address.values() if v)]
    if entity == "contact" and values.get("account.name"):
        changes["account"] = [None, values["account.name"]]
    if values.get(f"{entity}.tags"):
        changes["tags"] = [None, values[f"{entity}.tags"]]


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
            _dumps(row.payload),
            _dumps(row.values),
            _dumps(row.problems),
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
