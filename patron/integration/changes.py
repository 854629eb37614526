"""Changes to customers Patron already has, a batch at a time.

Two kinds of rows change an existing contact or account: a row whose key the source sent
before, with other values (`apply_delta`: what changed in the source since then), and a new
row that joins an existing customer with the same email address (`fill`: empty fields and
new contact points). In a large file both are common (one row in six of the benchmark's
messy file shares an address with an earlier one), so neither may cost queries per row.

A `ChangeSet` loads the records a batch touches with their contact points, account links
and tags (a few queries for the whole batch), applies the rows to that state in memory in
file order, exactly as the services would one by one, and then writes the outcome: new
points, links and tags with ids allocated up front, deleted points, updated addresses and
records grouped by the columns they change, and the audit events with the ids they name.
"""

from __future__ import annotations

import datetime
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Any, cast

from django.contrib.contenttypes.models import ContentType
from django.db import connection, models

from patron.core import audit, bulk
from patron.core.models import AuditEvent, User
from patron.customers import search
from patron.customers.models import (
    Account,
    AccountRelationship,
    Contact,
    EmailAddress,
    PhoneNumber,
    PostalAddress,
)

from .inserts import AccountDirectory
from .prepared import ADDRESS_KEYS, SIMPLE_FIELDS, address_of

_AFTER_STORED = 1 << 62  # new points sort after every stored one, in creation order
POINT_COLUMNS = ("contact_id", "account_id", "is_primary", "verified_at", "version")
POINT_NAMES: dict[type[models.Model], tuple[str, ...]] = {
    EmailAddress: ("email", "kind", "is_primary"),
    PhoneNumber: ("number", "e164", "extension", "kind", "is_primary"),
    PostalAddress: ("kind", *ADDRESS_KEYS, "is_primary"),
}


def field_value(entity: str, name: str, values: dict[str, Any]) -> Any:
    """The model value of a simple field from normalised values (None: keep the default)."""
    value = values.get(f"{entity}.{name}")
    model = Contact if entity == "contact" else Account
    model_field = model._meta.get_field(name)
    if value is None:
        if name == "lifecycle_stage":
            return None  # keep the model default / current value
        return None if model_field.null else ""
    if name == "date_of_birth":
        return datetime.date.fromisoformat(value)
    return value


@dataclass(eq=False)
class Point:
    """A contact point (or account link) of a loaded record, as stored or about to be."""

    model: type[models.Model]
    fields: dict[str, Any]
    seq: int  # the stored id, or after them all: the order services list points in
    pk: int | None = None

    @property
    def label(self) -> str:
        f = self.fields
        if self.model is EmailAddress:
            return f["email"]
        if self.model is PhoneNumber:
            return f["e164"] or f["number"]
        parts = [f["street"], f["street2"], f["postal_code"], f["city"], f["region"], f["country"]]
        return ", ".join(p for p in parts if p)

    def changes(self, *, deleting: bool = False) -> dict[str, list[Any]]:
        """What an audit event of its creation (or deletion) lists, as services write it."""
        values = {k: self.fields[k] for k in POINT_NAMES[self.model]}
        if deleting:
            return {k: [v, None] for k, v in values.items() if v not in (None, "")}
        return {k: [None, v] for k, v in values.items() if v not in (None, "")}


@dataclass(eq=False)
class Loaded:
    """A record the batch changes, with what hangs off it."""

    record: Any
    points: dict[type[models.Model], list[Point]] = field(default_factory=dict)
    links: set[tuple[int, str]] = field(default_factory=set)
    tags: set[str] = field(default_factory=set)
    dirty: set[str] = field(default_factory=set)

    def ordered(self, model: type[models.Model]) -> list[Point]:
        """Points as the services' queries return them: primary first, then by id."""
        return sorted(self.points[model], key=lambda p: (not p.fields["is_primary"], p.seq))


class ChangeSet:
    """The changes of one batch to records that already exist; `flush` writes them."""

    def __init__(
        self,
        *,
        entity: str,
        actor: User | None,
        accounts: AccountDirectory,
        tag_ids: Callable[[Iterable[str]], list[int]],
        custom_names: set[str],
        now: datetime.datetime,
        events: list[AuditEvent],
    ) -> None:
        self.entity = entity
        self.model: type[models.Model] = Contact if entity == "contact" else Account
        self.accounts = accounts
        self.tag_ids = tag_ids
        self.custom_names = custom_names
        self.now = now
        self.events = events
        self.factory = audit.EventFactory(actor)
        self.loaded: dict[int, Loaded] = {}
        self.created: list[tuple[Point, Loaded]] = []
        self.deleted: dict[type[models.Model], list[int]] = {}
        self.deleted_new: list[Point] = []
        self.moved_addresses: list[Point] = []
        self.new_tags: list[tuple[int, int]] = []
        self.tag_names: dict[str, int] = {}
        self._pending: list[tuple[AuditEvent, Point]] = []
        self._next_seq = _AFTER_STORED
        self._types: dict[type[models.Model], ContentType] = {
            m: ContentType.objects.get_for_model(m)
            for m in (
                Contact,
                Account,
                EmailAddress,
                PhoneNumber,
                PostalAddress,
                AccountRelationship,
            )
        }

    # -- loading --------------------------------------------------------------------------------

    def load(self, ids: Iterable[int]) -> dict[int, Any]:
        """pk → record for those of `ids` that exist, loading what this batch has not yet."""
        ids = list(ids)
        wanted = {pk for pk in ids if pk and pk not in self.loaded}
        if wanted:
            for record in self.model._default_manager.filter(pk__in=wanted):
                self.loaded[record.pk] = Loaded(
                    record=record, points={EmailAddress: [], PhoneNumber: [], PostalAddress: []}
                )
            self._load_children([pk for pk in wanted if pk in self.loaded])
        return {pk: self.loaded[pk].record for pk in ids if pk in self.loaded}

    def _load_children(self, ids: list[int]) -> None:
        if not ids:
            return
        parent = f"{self.entity}_id"
        for model, names in POINT_NAMES.items():
            columns = ["id", parent, *names]
            if model is PostalAddress:
                columns.append("version")
            rows = model._default_manager.filter(**{f"{parent}__in": ids}).values_list(*columns)
            for pk, owner, *values in rows:
                fields = dict(zip(columns[2:], values, strict=True))
                self.loaded[owner].points[model].append(Point(model, fields, seq=pk, pk=pk))
        if self.entity == "contact":
            links = AccountRelationship.objects.filter(contact_id__in=ids)
            for owner, account_id, role in links.values_list("contact_id", "account_id", "role"):
                self.loaded[owner].links.add((account_id, role))
        through = self.model.tags.through  # type: ignore[attr-defined]
        tagged = through.objects.filter(**{f"{parent}__in": ids})
        for owner, name in tagged.values_list(parent, "tag__name"):
            self.loaded[owner].tags.add(name)

    # -- the two kinds of change ----------------------------------------------------------------

    def fill(self, record: Any, values: dict[str, Any]) -> None:
        """A new row for a customer Patron already has: fill empty fields, add new points."""
        state = self.loaded[record.pk]
        changes: dict[str, list[Any]] = {}
        for name in SIMPLE_FIELDS[self.entity]:
            value = field_value(self.entity, name, values)
            current = getattr(record, name)
            if value not in (None, "") and current in (None, "") and name != "lifecycle_stage":
                changes[name] = [audit._jsonable(current), audit._jsonable(value)]
                setattr(record, name, value)
        custom = {
            k[7:]: v
            for k, v in values.items()
            if k.startswith("custom.") and k[7:] in self.custom_names
        }
        merged = {**custom, **(record.custom_fields or {})}
        if merged != record.custom_fields:
            changes["custom_fields"] = [record.custom_fields, merged]
            record.custom_fields = merged
        self._points_delta(state, {}, values)
        if changes:
            self._save_changes(state, changes)

    def apply_delta(self, record: Any, old: dict[str, Any], new: dict[str, Any]) -> None:
        """Apply what changed in the source since it last sent this row; fields the source did
        not change keep whatever Patron users made of them."""
        state = self.loaded[record.pk]
        changes: dict[str, list[Any]] = {}
        for name in SIMPLE_FIELDS[self.entity]:
            key = f"{self.entity}.{name}"
            if old.get(key) == new.get(key):
                continue
            value = field_value(self.entity, name, new)
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
        self._points_delta(state, old, new)
        if changes:
            self._save_changes(state, changes)

    def _save_changes(self, state: Loaded, changes: dict[str, list[Any]]) -> None:
        record = state.record
        record.version += 1
        record.updated_at = self.now
        record.search_document = self._document(state)
        state.dirty.update([*changes, "version", "updated_at", "search_document"])
        self._event(AuditEvent.Action.UPDATE, record, changes)

    def _points_delta(self, state: Loaded, old: dict[str, Any], new: dict[str, Any]) -> None:
        """Emails, phones, address, account link and tags that the source added or dropped."""
        record = state.record
        touched = False
        kinds: list[tuple[type[models.Model], str, str]] = [
            (EmailAddress, "emails", "email"),
            (PhoneNumber, "phones", "e164"),
        ]
        for model, section, key in kinds:
            before = {i[key]: i for i in old.get(section, [])}
            after = {i[key]: i for i in new.get(section, [])}
            if before == after and old:
                continue
            present = {
                (p.fields[key].lower() if key == "email" else p.fields[key]): p
                for p in state.ordered(model)
            }
            for value in before.keys() - after.keys():
                point = present.pop(value, None)
                if point is not None:
                    self._point_event(AuditEvent.Action.DELETE, point, state, deleting=True)
                    state.points[model].remove(point)
                    if point.pk is None:  # added by an earlier row of this batch
                        self.deleted_new.append(point)
                    else:
                        self.deleted.setdefault(model, []).append(point.pk)
                    touched = True
            for value, item in after.items():
                if value in present:
                    continue
                present[value] = self._new_point(state, model, item, primary=len(present) == 0)
                touched = True
        self._address_delta(state, old, new)
        if self.entity == "contact":
            name = new.get("account.name")
            if name and name != old.get("account.name"):
                self._link(state, name)
        new_tags = set(new.get(f"{self.entity}.tags") or []) - set(
            old.get(f"{self.entity}.tags") or []
        )
        if new_tags:
            before_tags = sorted(state.tags)
            names = sorted(new_tags)
            for name, tag_id in zip(names, self.tag_ids(names), strict=True):
                if name not in state.tags:
                    state.tags.add(name)
                    self.new_tags.append((record.pk, tag_id))
            after_tags = sorted(state.tags)
            if after_tags != before_tags:
                self._event(AuditEvent.Action.UPDATE, record, {"tags": [before_tags, after_tags]})
        if touched:
            document = self._document(state)
            if document != record.search_document:
                record.search_document = document
                state.dirty.add("search_document")

    def _new_point(
        self, state: Loaded, model: type[models.Model], item: dict[str, Any], *, primary: bool
    ) -> Point:
        if model is EmailAddress:
            kind = item["kind"] if item["kind"] in EmailAddress.Kind.values else "other"
            fields = {"email": item["email"], "kind": kind, "is_primary": primary}
        else:
            kind = item["kind"] if item["kind"] in PhoneNumber.Kind.values else "other"
            fields = {
                "number": item["number"],
                "e164": item["e164"],
                "extension": item["extension"][:10],
                "kind": kind,
                "is_primary": primary,
            }
        return self._add_point(state, model, fields)

    def _add_point(self, state: Loaded, model: type[models.Model], fields: dict[str, Any]) -> Point:
        self._next_seq += 1
        point = Point(model, fields, seq=self._next_seq)
        if model is not AccountRelationship:
            state.points[model].append(point)
        self.created.append((point, state))
        self._point_event(AuditEvent.Action.CREATE, point, state)
        return point

    def _address_delta(self, state: Loaded, old: dict[str, Any], new: dict[str, Any]) -> None:
        old_address, new_address = address_of(old), address_of(new)
        if not new_address or new_address == old_address:
            return
        existing = state.ordered(PostalAddress)

        def same(point: Point, address: dict[str, str]) -> bool:
            return all(point.fields[k] == v for k, v in address.items())

        target = None
        if old_address:
            target = next((p for p in existing if same(p, old_address)), None)
        if target is None and not any(same(p, new_address) for p in existing):
            fields: dict[str, Any] = {"kind": PostalAddress.Kind.HOME.value, **new_address}
            fields["is_primary"] = not existing
            fields["version"] = 1
            self._add_point(state, PostalAddress, fields)
        elif target is not None:
            before = {k: target.fields[k] for k in ADDRESS_KEYS}
            for k in ADDRESS_KEYS:
                target.fields[k] = new_address.get(k, "")
            target.fields["version"] += 1
            if target.pk is not None and target not in self.moved_addresses:
                self.moved_addresses.append(target)
            after = {k: target.fields[k] for k in ADDRESS_KEYS}
            changes = audit.diff(before, after)
            self._point_event(AuditEvent.Action.UPDATE, target, state, changes=changes)

    def _link(self, state: Loaded, name: str) -> None:
        account_id = self.accounts.ids([name], self.now)[name.casefold()]
        if (account_id, "") in state.links:
            return
        primary = not state.links
        state.links.add((account_id, ""))
        point = Point(AccountRelationship, {"account_id": account_id, "is_primary": primary}, 0)
        self.created.append((point, state))
        label = f"{state.record} at {self.accounts.names.get(account_id, name)}"
        event = self.factory.event(
            action=AuditEvent.Action.CREATE,
            content_type=self._types[AccountRelationship],
            object_id=0,
            object_repr=label,
            changes={"account": [None, account_id]},
            created_at=self.now,
            parent_type=self._types[self.model],
            parent_id=state.record.pk,
        )
        self.events.append(event)
        self._pending.append((event, point))

    # -- events and documents -------------------------------------------------------------------

    def _event(self, action: str, record: Any, changes: dict[str, list[Any]]) -> None:
        self.events.append(
            self.factory.event(
                action=action,
                content_type=self._types[self.model],
                object_id=record.pk,
                object_repr=str(record),
                changes=audit._jsonable(changes),
                created_at=self.now,
            )
        )

    def _point_event(
        self,
        action: str,
        point: Point,
        state: Loaded,
        *,
        deleting: bool = False,
        changes: dict[str, list[Any]] | None = None,
    ) -> None:
        event = self.factory.event(
            action=action,
            content_type=self._types[point.model],
            object_id=point.pk or 0,
            object_repr=point.label,
            changes=changes if changes is not None else point.changes(deleting=deleting),
            created_at=self.now,
            parent_type=self._types[self.model],
            parent_id=state.record.pk,
        )
        self.events.append(event)
        if point.pk is None:
            self._pending.append((event, point))

    def _document(self, state: Loaded) -> str:
        """The search document from the record's contact points as they now stand."""
        emails = [p.fields["email"] for p in state.ordered(EmailAddress)]
        pairs = [(p.fields["number"], p.fields["e164"]) for p in state.ordered(PhoneNumber)]
        if self.entity == "contact":
            return search.contact_document(state.record, emails, pairs)
        return search.account_document(state.record, emails, pairs)

    # -- writing --------------------------------------------------------------------------------

    def flush(self) -> None:
        """Write everything the batch changed; audit events get the ids they name (the
        caller inserts the events afterwards, in the order they were made)."""
        stamp = bulk.db_datetime(self.now)
        qn = connection.ops.quote_name
        with connection.cursor() as cursor:
            for model, ids in self.deleted.items():
                marks = ", ".join(["%s"] * len(ids))
                table = qn(model._meta.db_table)
                cursor.execute(f"DELETE FROM {table} WHERE id IN ({marks})", ids)  # noqa: S608
        by_model: dict[type[models.Model], list[tuple[Point, Loaded]]] = {}
        for point, state in self.created:
            by_model.setdefault(point.model, []).append((point, state))
        for model, created in by_model.items():
            for (point, _), pk in zip(created, bulk.allocate_ids(model, len(created)), strict=True):
                point.pk = pk
            self._insert_points(model, created, stamp)
        for point in self.deleted_new:
            model = point.model
            cursor_sql = f"DELETE FROM {qn(model._meta.db_table)} WHERE id = %s"  # noqa: S608
            with connection.cursor() as cursor:
                cursor.execute(cursor_sql, [point.pk])
        for event, point in self._pending:
            assert point.pk is not None
            event.object_id = point.pk
        if self.moved_addresses:
            columns = [*ADDRESS_KEYS, "version"]
            rows = [(*(p.fields[c] for c in columns), stamp, p.pk) for p in self.moved_addresses]
            _update_many(PostalAddress, [*columns, "updated_at"], rows)
        through = self.model.tags.through  # type: ignore[attr-defined]
        bulk.insert_rows(through, (f"{self.entity}_id", "tag_id"), self.new_tags)
        groups: dict[tuple[str, ...], list[tuple[Any, ...]]] = {}
        for state in self.loaded.values():
            if not state.dirty:
                continue
            record = state.record
            names = tuple(sorted(state.dirty))
            fields = [cast(models.Field, record._meta.get_field(n)) for n in names]
            values = [f.get_db_prep_save(getattr(record, f.attname), connection) for f in fields]
            groups.setdefault(names, []).append((*values, record.pk))
        for names, rows in groups.items():
            fields = [cast(models.Field, self.model._meta.get_field(n)) for n in names]
            _update_many(self.model, [f.column or f.name for f in fields], rows)

    def _insert_points(
        self, model: type[models.Model], created: list[tuple[Point, Loaded]], stamp: Any
    ) -> None:
        parent = self.entity
        rows = []
        for point, state in created:
            pk, f = point.pk, point.fields
            owner = (state.record.pk, None) if parent == "contact" else (None, state.record.pk)
            if model is AccountRelationship:
                link = (pk, state.record.pk, f["account_id"], "", f["is_primary"])
                rows.append((*link, None, None, 1, stamp, stamp))
                continue
            head = (pk, *owner, f["is_primary"], None, f.get("version", 1), stamp, stamp)
            rows.append(head + tuple(f[n] for n in POINT_NAMES[model] if n != "is_primary"))
        if model is AccountRelationship:
            columns: tuple[str, ...] = ("id", "contact_id", "account_id", "role", "is_primary")
            columns += ("started_on", "ended_on", "version", "created_at", "updated_at")
        else:
            names = tuple(n for n in POINT_NAMES[model] if n != "is_primary")
            columns = ("id", *POINT_COLUMNS, "created_at", "updated_at", *names)
        bulk.insert_rows(model, columns, rows)


def _update_many(
    model: type[models.Model], columns: list[str], rows: list[tuple[Any, ...]]
) -> None:
    """UPDATE … SET columns WHERE id, once per row (rows end with the id): one executemany,
    which psycopg sends as a pipeline."""
    if not rows:
        return
    qn = connection.ops.quote_name
    sets = ", ".join(f"{qn(c)} = %s" for c in columns)
    sql = f"UPDATE {qn(model._meta.db_table)} SET {sets} WHERE id = %s"  # noqa: S608
    with connection.cursor() as cursor:
        cursor.executemany(sql, rows)
