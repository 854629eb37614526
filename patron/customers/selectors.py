"""Every read of customer data, always through the permission chokepoint."""

from __future__ import annotations

import functools
import itertools
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any, cast

from django.db import connection, models
from django.db.models import Expression, Prefetch, Q, QuerySet
from django.db.models.query import ModelIterable, ValuesIterable

from patron.core import audit
from patron.core.db import PlainRead
from patron.core.models import AuditEvent, Role, Team, User
from patron.core.permissions import can, organisation_settings, permits
from patron.utils import phones

from . import search, timeline
from .models import (
    Account,
    AccountRelationship,
    Contact,
    EmailAddress,
    PhoneNumber,
    PostalAddress,
    Tag,
    TimelineEntry,
)


class PrimaryPoint(Expression):
    """`column` of the record's primary email/phone (primary first, then the oldest): the same
    row the detail page lists first, read in the list query instead of prefetching every
    email and phone of the page as model instances.

    The SQL Django writes for `Subquery(model.objects.filter(<owner>=OuterRef("pk"))
    .order_by("-is_primary", "id").values(column)[:1])`, written directly: resolving and
    compiling that inner queryset three times a list request cost more than running it.
    The outer table is referred to by the alias the query gives it, relabelled with it."""

    def __init__(self, model: type[models.Model], owner: str, column: str):
        super().__init__(output_field=cast(models.Field, model._meta.get_field(column)))
        self.model = model
        self.owner = owner
        self.column = column
        self.outer_alias: str | None = None

    def resolve_expression(
        self, query=None, allow_joins=True, reuse=None, summarize=False, for_save=False
    ):
        clone = self.copy()
        clone.outer_alias = query.get_initial_alias()
        return clone

    def relabeled_clone(self, change_map):
        clone = self.copy()
        clone.outer_alias = change_map.get(self.outer_alias, self.outer_alias)
        return clone

    def get_group_by_cols(self):
        return [self]

    def as_sql(self, compiler, connection):
        quote = compiler.quote_name
        meta = self.model._meta
        outer_pk = meta.get_field(self.owner).target_field.column  # type: ignore[union-attr]
        point = "p"
        sql = (
            f"SELECT {point}.{quote(meta.get_field(self.column).column)}"
            f" FROM {quote(meta.db_table)} {point}"
            f" WHERE {point}.{quote(meta.get_field(self.owner).column)}"
            f" = {quote(self.outer_alias)}.{quote(outer_pk)}"
            f" ORDER BY {point}.{quote(meta.get_field('is_primary').column)} DESC,"
            f" {point}.{quote(meta.pk.column)} ASC LIMIT 1"  # type: ignore[union-attr]
        )
        return f"({sql})", ()


def _with_primary_points(qs: QuerySet, owner: str) -> QuerySet:
    return qs.annotate(
        primary_email=PrimaryPoint(EmailAddress, owner, "email"),
        primary_phone_e164=PrimaryPoint(PhoneNumber, owner, "e164"),
        primary_phone_number=PrimaryPoint(PhoneNumber, owner, "number"),
    )


# What a list row reads from other tables, one plain SQL query per table and page: the rows'
# ids are the only input (they come from a query that went through `restrict`), and the
# statements never change, so the ORM's work of building and compiling them each time (a
# tenth of the list request) bought nothing. The ORM's `values_list` gave the same rows.


def _quoted(*names: str) -> list[str]:
    return [connection.ops.quote_name(n) for n in names]


def _tags_by_owner(model: type[models.Model], ids: list[int]) -> dict[int, list[dict[str, str]]]:
    """The tags of each record in `ids` as `{"name", "color"}` dicts, by name."""
    tags: dict[int, list[dict[str, str]]] = {pk: [] for pk in ids}
    if not ids:
        return tags
    through = model.tags.through._meta  # type: ignore[attr-defined]
    owner_column = through.get_field(model._meta.model_name).column
    tag_column = through.get_field("tag").column
    link, owner, tag_id, tag_table = _quoted(
        through.db_table, owner_column, tag_column, Tag._meta.db_table
    )
    sql = (
        f"SELECT l.{owner}, t.name, t.color FROM {link} l INNER JOIN {tag_table} t"
        f" ON t.id = l.{tag_id} WHERE l.{owner} IN ({', '.join(['%s'] * len(ids))})"
        " ORDER BY t.name"
    )
    with connection.cursor() as cursor:
        cursor.execute(sql, ids)
        for owner_id, name, color in cursor.fetchall():
            tags[owner_id].append({"name": name, "color": color})
    return tags


def _account_links_by_contact(ids: list[int]) -> dict[int, list[dict[str, Any]]]:
    """The relationships of each contact in `ids` (primary first, then the oldest) as dicts
    shaped like `ContactAccountOut`, the account as `{"id", "name"}`."""
    links: dict[int, list[dict[str, Any]]] = {pk: [] for pk in ids}
    if not ids:
        return links
    relationships, accounts = _quoted(AccountRelationship._meta.db_table, Account._meta.db_table)
    sql = (
        "SELECT r.contact_id, r.id, r.version, r.account_id, a.name, r.role, r.is_primary,"
        f" r.started_on, r.ended_on FROM {relationships} r INNER JOIN {accounts} a"
        f" ON a.id = r.account_id WHERE r.contact_id IN ({', '.join(['%s'] * len(ids))})"
        " ORDER BY r.is_primary DESC, r.id"
    )
    with connection.cursor() as cursor:
        cursor.execute(sql, ids)
        rows = cursor.fetchall()
    for contact_id, pk, version, account_id, name, role, primary, started, ended in rows:
        links[contact_id].append(
            {
                "id": pk,
                "version": version,
                "account_id": account_id,
                "account": {"id": account_id, "name": name},
                "role": role,
                "is_primary": bool(primary),
                "started_on": started,
                "ended_on": ended,
            }
        )
    return links


class _ListIterable(ModelIterable):
    """Model rows plus what a list row reads from other tables, one query per table and
    batch (the whole result, or each chunk of `.iterator(chunk_size=...)`): no model
    instances and no prefetch machinery for the relationships and tags."""

    def attach(self, rows: list[Any]) -> None:
        raise NotImplementedError

    def __iter__(self):
        rows = super().__iter__()
        size = self.chunk_size if self.chunked_fetch else None
        while batch := list(itertools.islice(rows, size)):
            self.attach(batch)
            yield from batch
            if size is None:
                return


class _ContactListIterable(_ListIterable):
    def attach(self, rows: list[Any]) -> None:
        ids = [row.pk for row in rows]
        links = _account_links_by_contact(ids)
        tags = _tags_by_owner(Contact, ids)
        for row in rows:
            row.account_links = links[row.pk]
            row.tag_list = tags[row.pk]


class _AccountListIterable(_ListIterable):
    def attach(self, rows: list[Any]) -> None:
        tags = _tags_by_owner(Account, [row.pk for row in rows])
        for row in rows:
            row.tag_list = tags[row.pk]


def _listed(qs: QuerySet, iterable_class: type[ModelIterable]) -> QuerySet:
    qs = qs.all()
    qs._iterable_class = iterable_class
    return qs


def contacts_for_list(qs: QuerySet[Contact]) -> QuerySet[Contact]:
    """What a list row shows, in a fixed number of queries whatever the page size: owner and
    team; `primary_email`, `primary_phone_e164`/`_number` (annotations); `account_links`
    (relationships, primary first, as dicts with the account's id and name) and `tag_list`
    (`{"name", "color"}` dicts), filled when the rows are read.

    Plain lists rather than related managers or prefetched model instances: Django clones a
    queryset per row and relation to fill a manager's cache, and the prefetch machinery with
    its model instances cost more than the rows themselves."""
    return _listed(
        _with_primary_points(qs.select_related("owner", "team"), "contact"), _ContactListIterable
    )


def accounts_for_list(qs: QuerySet[Account]) -> QuerySet[Account]:
    """As `contacts_for_list`: owner, team, parent, the primary email and phone
    (annotations) and `tag_list`."""
    return _listed(
        _with_primary_points(qs.select_related("owner", "team", "parent"), "account"),
        _AccountListIterable,
    )


# --- list rows as plain values, for the API ---------------------------------------------------
# The API list answers with data only, so its page is read with `values()`: the columns a row
# shows (owner and team by name through joins), no model instances. Same rows and order as
# `contacts_for_list`/`accounts_for_list`, which the UI lists and the exports keep using.

_OWNER_TEAM_VALUES = (
    "owner_id",
    "owner__first_name",
    "owner__last_name",
    "owner__username",
    "team_id",
    "team__name",
)
_RECORD_VALUES = (
    "lifecycle_stage",
    "custom_fields",
    "created_at",
    "updated_at",
    "primary_email",
    "primary_phone_e164",
    "primary_phone_number",
    *_OWNER_TEAM_VALUES,
)
CONTACT_ROW_VALUES = (
    "id",
    "version",
    "first_name",
    "middle_name",
    "last_name",
    "job_title",
    *_RECORD_VALUES,
)
ACCOUNT_ROW_VALUES = (
    "id",
    "version",
    "name",
    "domain",
    "industry",
    "parent_id",
    "parent__name",
    *_RECORD_VALUES,
)


class _RowListIterable(ValuesIterable):
    """`values()` dicts plus `account_links` (contacts) and `tag_list`, one query per table
    and page, as `_ListIterable` does for model rows."""

    def __iter__(self):
        rows = list(super().__iter__())
        ids = [row["id"] for row in rows]
        model = self.queryset.model
        tags = _tags_by_owner(model, ids)
        links = _account_links_by_contact(ids) if model is Contact else None
        for row in rows:
            row["tag_list"] = tags[row["id"]]
            if links is not None:
                row["account_links"] = links[row["id"]]
        return iter(rows)


def contact_rows_for_list(qs: QuerySet[Contact]) -> QuerySet:
    """A contact list row as a dict: `CONTACT_ROW_VALUES`, `account_links` and `tag_list`
    (as in `contacts_for_list`)."""
    rows = _with_primary_points(qs, "contact").values(*CONTACT_ROW_VALUES)
    rows._iterable_class = _RowListIterable
    return rows


def account_rows_for_list(qs: QuerySet[Account]) -> QuerySet:
    """An account list row as a dict: `ACCOUNT_ROW_VALUES` and `tag_list`."""
    rows = _with_primary_points(qs, "account").values(*ACCOUNT_ROW_VALUES)
    rows._iterable_class = _RowListIterable
    return rows


def _account_detail(qs: QuerySet[Account]) -> QuerySet[Account]:
    return qs.select_related("owner", "team", "parent").prefetch_related(
        Prefetch("emailaddresss", queryset=EmailAddress.objects.order_by("-is_primary", "id")),
        Prefetch("phonenumbers", queryset=PhoneNumber.objects.order_by("-is_primary", "id")),
        "tags",
        Prefetch("postaladdresss", queryset=PostalAddress.objects.order_by("-is_primary", "id")),
    )


def contact_visible(*, user: Any, action: str = "view") -> QuerySet[Contact]:
    return Contact.objects.restrict(user, action)


def account_visible(*, user: Any, action: str = "view") -> QuerySet[Account]:
    return Account.objects.restrict(user, action)


@functools.cache
def _fixed_sql(model: type[models.Model], parent: str) -> str:
    """The SQL of "this contact's rows, primary first" (or its tags, by name), compiled once per
    process: the contact page runs these five statements on every view (decision 0012)."""
    if model is Tag:
        queryset: QuerySet = Tag.objects.filter(**{f"{parent}s__id": 0})
    else:
        queryset = model._default_manager.filter(**{f"{parent}_id": 0}).order_by(
            "-is_primary", "id"
        )
    sql, params = queryset.query.sql_with_params()
    assert list(params) == [0]
    return sql


def _children(model: type[models.Model], parent: str, pk: int) -> QuerySet:
    """The rows, as the already-evaluated queryset a prefetch would leave in the cache (so
    `contact.emailaddresss.values_list(...)` and friends still work)."""
    if model is Tag:
        queryset: QuerySet = Tag.objects.filter(**{f"{parent}s__id": pk})
    else:
        queryset = model._default_manager.filter(**{f"{parent}_id": pk}).order_by(
            "-is_primary", "id"
        )
    queryset._result_cache = list(model._default_manager.raw(_fixed_sql(model, parent), [pk]))  # type: ignore[attr-defined]
    queryset._prefetch_done = True  # type: ignore[attr-defined]
    return queryset


@functools.cache
def _contact_reads() -> tuple[PlainRead, PlainRead, PlainRead]:
    return PlainRead(Contact, "c"), PlainRead(User, "o"), PlainRead(Team, "t")


def _contact_with_owner(pk: int) -> Contact | None:
    """The contact with its owner and team, by a statement written once (the contact page's
    hot path); whether the user may see it is `permissions.permits`' answer on it."""
    if not 0 < int(pk) < 2**63:
        return None  # no 64-bit key holds it (the ORM answers such lookups with no rows too)
    contact_read, owner_read, team_read = _contact_reads()
    quote = connection.ops.quote_name
    sql = (
        f"SELECT {contact_read.columns()}, {owner_read.columns()}, {team_read.columns()} "
        f"FROM {quote(Contact._meta.db_table)} c "
        f"LEFT OUTER JOIN {quote(User._meta.db_table)} o ON o.id = c.owner_id "
        f"LEFT OUTER JOIN {quote(Team._meta.db_table)} t ON t.id = c.team_id "
        "WHERE c.id = %s"
    )
    with connection.cursor() as cursor:
        cursor.execute(sql, [pk])
        row = cursor.fetchone()
    if row is None:
        return None
    n, m = contact_read.width, owner_read.width
    contact = contact_read.build(row[:n])
    contact._state.fields_cache["owner"] = owner_read.build(row[n : n + m])
    contact._state.fields_cache["team"] = team_read.build(row[n + m :])
    return contact


@functools.cache
def _relationship_reads() -> tuple[PlainRead, PlainRead]:
    return PlainRead(AccountRelationship, "r"), PlainRead(Account, "a")


def _relationships_of(contact: Contact) -> QuerySet:
    """The contact's links to accounts, primary first, each with its account: the evaluated
    queryset `select_related("account")` would leave, by a statement written once."""
    link_read, account_read = _relationship_reads()
    quote = connection.ops.quote_name
    sql = (
        f"SELECT {link_read.columns()}, {account_read.columns()} "
        f"FROM {quote(AccountRelationship._meta.db_table)} r "
        f"INNER JOIN {quote(Account._meta.db_table)} a ON a.id = r.account_id "
        "WHERE r.contact_id = %s ORDER BY r.is_primary DESC, r.id ASC"
    )
    with connection.cursor() as cursor:
        cursor.execute(sql, [contact.pk])
        rows = cursor.fetchall()
    links = []
    for row in rows:
        link = link_read.build(row[: link_read.width])
        link._state.fields_cache["account"] = account_read.build(row[link_read.width :])
        links.append(link)
    queryset = AccountRelationship.objects.filter(contact_id=contact.pk).order_by(
        "-is_primary", "id"
    )
    queryset._result_cache = links  # type: ignore[attr-defined]
    queryset._prefetch_done = True  # type: ignore[attr-defined]
    return queryset


def contact_get(*, user: Any, pk: int, action: str = "view") -> Contact:
    """The contact if `user` may `action` it; Contact.DoesNotExist otherwise (a 404).

    Its emails, phones, addresses, relationships and tags are read by the contact's id
    straight into the related managers' caches (the rows and order a prefetch would give),
    without the prefetch machinery and with the fixed
    statements compiled once (the contact page is the hot path)."""
    contact = _contact_with_owner(pk)
    if contact is None:
        raise Contact.DoesNotExist("Contact matching query does not exist.")
    allowed = permits(user, contact, action)
    if allowed is None:  # the chokepoint's own query decides
        contact = (
            contact_visible(user=user, action=action).select_related("owner", "team").get(pk=pk)
        )
    elif not allowed:
        raise Contact.DoesNotExist("Contact matching query does not exist.")
    contact._prefetched_objects_cache = {  # type: ignore[attr-defined]
        "emailaddresss": _children(EmailAddress, "contact", contact.pk),
        "phonenumbers": _children(PhoneNumber, "contact", contact.pk),
        "relationships": _relationships_of(contact),
        "tags": _children(Tag, "contact", contact.pk),
        "postaladdresss": _children(PostalAddress, "contact", contact.pk),
    }
    return contact


def account_get(*, user: Any, pk: int, action: str = "view") -> Account:
    return _account_detail(account_visible(user=user, action=action)).get(pk=pk)


def account_members(*, user: Any, account: Account) -> QuerySet[AccountRelationship]:
    """The people at an account that `user` may see, with their role."""
    return (
        AccountRelationship.objects.restrict(user, "view")
        .filter(account=account)
        .select_related("contact")
        .order_by("contact__last_name")
    )


def timeline_for(
    *,
    user: Any,
    contact: Contact | None = None,
    account: Account | None = None,
    kinds: Iterable[str] | None = None,
    include_contacts: bool = True,
    known_visible: bool = False,
) -> QuerySet[TimelineEntry]:
    """A contact's or account's timeline, newest first. An account's timeline also shows
    the entries of the people at it (as in most CRMs) unless `include_contacts` is False.
    `known_visible=True` says the caller has just read `contact` through
    `contact_visible(user=user)` (as the contact page does), which skips checking it again."""
    if contact is not None and known_visible:
        # What `restrict` below comes to for a contact the user may see, without building it:
        # the entries' own permission, then every entry of the contact (see below).
        qs = (
            TimelineEntry.objects.filter(contact=contact)
            if can(user, f"{TimelineEntry.permission_name}.view")
            else TimelineEntry.objects.none()
        )
    elif contact is not None:
        qs = TimelineEntry.objects.restrict(user, "view")
        if not qs.query.is_empty() and contact_visible(user=user).filter(pk=contact.pk).exists():
            # The same rows with cheaper SQL: an entry is visible when its contact or its
            # account is, so every entry of a visible contact is. Filtering on "contact in
            # every visible contact" made SQLite list them all on each page view (~25 ms at
            # 100k contacts); this checks the one contact instead.
            qs = TimelineEntry.objects.filter(contact=contact)
        else:
            qs = qs.filter(contact=contact)
    elif account is not None:
        qs = TimelineEntry.objects.restrict(user, "view")
        condition = Q(account=account)
        if include_contacts:
            condition |= Q(
                contact__in=AccountRelationship.objects.filter(account=account).values("contact_id")
            )
        qs = qs.filter(condition)
    else:
        raise ValueError("timeline_for needs a contact or an account")
    if kinds:
        qs = qs.filter(kind__in=list(kinds))
    if contact is not None and known_visible:
        # Every entry is the caller's contact's: it sets `entry.contact` to the instance it
        # holds (`with_contact`) instead of joining and building that contact once per entry.
        related: tuple[str, ...] = ("author", "assignee", "account")
    else:
        related = ("author", "assignee", "contact", "account")
    return qs.select_related(*related).order_by("-occurred_at", "-id")


@functools.cache
def _timeline_reads() -> tuple[PlainRead, PlainRead, PlainRead, PlainRead]:
    return (
        PlainRead(TimelineEntry, "e"),
        PlainRead(User, "au"),
        PlainRead(User, "asg"),
        PlainRead(Account, "ac"),
    )


def contact_timeline_head(*, contact: Contact, limit: int) -> list[TimelineEntry]:
    """The newest `limit` entries of a contact the caller has just read through the
    chokepoint (every entry of a visible contact is visible, see `timeline_for`), with their
    author, assignee and account, by a statement written once: the rows and objects
    `timeline_for(known_visible=True)` pages give, for the contact page's first page."""
    entry_read, author_read, assignee_read, account_read = _timeline_reads()
    quote = connection.ops.quote_name
    sql = (
        f"SELECT {entry_read.columns()}, {author_read.columns()}, {assignee_read.columns()}, "
        f"{account_read.columns()} FROM {quote(TimelineEntry._meta.db_table)} e "
        f"LEFT OUTER JOIN {quote(User._meta.db_table)} au ON au.id = e.author_id "
        f"LEFT OUTER JOIN {quote(User._meta.db_table)} asg ON asg.id = e.assignee_id "
        f"LEFT OUTER JOIN {quote(Account._meta.db_table)} ac ON ac.id = e.account_id "
        "WHERE e.contact_id = %s ORDER BY e.occurred_at DESC, e.id DESC LIMIT %s"
    )
    with connection.cursor() as cursor:
        cursor.execute(sql, [contact.pk, int(limit)])
        rows = cursor.fetchall()
    widths = [entry_read.width, author_read.width, assignee_read.width, account_read.width]
    entries = []
    for row in rows:
        start = widths[0]
        entry = entry_read.build(row[:start])
        for name, read, width in zip(
            ("author", "assignee", "account"),
            (author_read, assignee_read, account_read),
            widths[1:],
            strict=True,
        ):
            entry._state.fields_cache[name] = read.build(row[start : start + width])
            start += width
        entry.contact = contact
        entries.append(entry)
    return entries


def with_contact(entries: list[TimelineEntry], contact: Contact) -> list[TimelineEntry]:
    """`entries` of `contact`'s timeline read with `known_visible=True`, each given the
    contact instance (what `select_related("contact")` would have built, once per entry)."""
    for entry in entries:
        entry.contact = contact
    return entries


def open_tasks_for(*, user: Any) -> QuerySet[TimelineEntry]:
    """ "My open tasks": assigned to the user, not done, soonest due first."""
    return (
        TimelineEntry.objects.restrict(user, "view")
        .filter(kind="task", assignee=user, completed_at__isnull=True)
        .select_related("contact", "account")
        .order_by("due_at", "id")
    )


def global_search(*, user: Any, query: str, limit: int = 8) -> dict[str, list[Any]]:
    """Contacts and accounts matching `query` (name, email, phone in any format)."""
    region = organisation_settings().default_phone_region
    contacts = search.apply_search(contact_visible(user=user), query, region=region)
    accounts = search.apply_search(account_visible(user=user), query, region=region)
    return {
        # A hit shows the name and the primary email and phone, nothing else of the row.
        "contacts": list(
            _with_primary_points(contacts, "contact").order_by("last_name", "first_name", "id")[
                :limit
            ]
        ),
        "accounts": list(accounts.order_by("name", "id")[:limit]),
    }


def account_lookup(
    *, user: Any, query: str, limit: int = 10, exclude_pk: int | None = None
) -> list[Account]:
    """The first `limit` accounts (by name) matching `query` that `user` may see: what an
    account picker offers, one query however many accounts there are."""
    region = organisation_settings().default_phone_region
    qs = search.apply_search(account_visible(user=user), query, region=region)
    if exclude_pk is not None:
        qs = qs.exclude(pk=exclude_pk)
    return list(qs.only("id", "name", "domain").order_by("name", "id")[:limit])


def account_get_name(*, user: Any, pk: int) -> str:
    """The name of an account `user` may see; Account.DoesNotExist otherwise (a 404)."""
    return account_visible(user=user).values_list("name", flat=True).get(pk=pk)


def history_for(*, user: Any, record: Contact | Account) -> QuerySet[AuditEvent]:
    """Field history of a record the caller has already fetched through `restrict`."""
    return audit.history_for(record)


# Audited fields that hold the id of another record, and what kind of record that is.
HISTORY_REFERENCES = {
    "owner": "user",
    "assignee": "user",
    "author": "user",
    "team": "team",
    "parent": "account",
    "account": "account",
    "contact": "contact",
    "role": "role",
}
# How a child event names the kind of object it is about ("Phone +44 20 7946 0018 added").
HISTORY_CHILD_KINDS = {
    "emailaddress": "Email",
    "phonenumber": "Phone",
    "postaladdress": "Address",
    "accountrelationship": "Account link",
    "timelineentry": "Activity",
}
HISTORY_VERBS = {"create": "added", "update": "changed", "delete": "deleted"}


@dataclass(frozen=True)
class HistoryRow:
    """One audit event as the History tab shows it, references already turned into names."""

    event: AuditEvent
    verb: str
    child_kind: str  # "" when the event is about the record itself
    subject: str  # what the child is ("+44 20 7946 0018"); "" for the record itself
    changes: list[tuple[str, Any, Any]]


def _history_resolvers(user: Any) -> dict[str, audit.NameResolver]:
    """One query per kind. Users and teams are names every user sees in pickers; accounts and
    contacts only if `user` may see them (otherwise the row shows "#id")."""

    def users(ids: set[int]) -> dict[int, str]:
        return {
            u.pk: u.display_name
            for u in User.objects.filter(pk__in=ids).only(
                "id", "username", "first_name", "last_name"
            )
        }

    def teams(ids: set[int]) -> dict[int, str]:
        return dict(Team.objects.filter(pk__in=ids).values_list("id", "name"))

    def roles(ids: set[int]) -> dict[int, str]:
        return dict(Role.objects.filter(pk__in=ids).values_list("id", "name"))

    def accounts(ids: set[int]) -> dict[int, str]:
        return dict(account_visible(user=user).filter(pk__in=ids).values_list("id", "name"))

    def contacts(ids: set[int]) -> dict[int, str]:
        return {
            c.pk: c.full_name
            for c in contact_visible(user=user)
            .filter(pk__in=ids)
            .only("id", "first_name", "middle_name", "last_name")
        }

    return {"user": users, "team": teams, "role": roles, "account": accounts, "contact": contacts}


def _history_subject(event: AuditEvent, model: str) -> tuple[str, str]:
    """(kind, subject) of a child event: "Phone" and the number in international format;
    an activity is named by its timeline kind ("call: Pricing" -> "Call", "Pricing")."""
    kind = HISTORY_CHILD_KINDS.get(model, event.content_type.name.capitalize())
    subject = event.object_repr
    if model == "phonenumber":
        subject = phones.display(subject, subject)
    elif model == "timelineentry" and ": " in subject:
        key, subject = subject.split(": ", 1)
        registered = timeline.get(key)
        kind = registered.label if registered else key.capitalize()
    return kind, subject


@functools.cache
def _field_order(model: type[models.Model] | None) -> dict[str, int]:
    """Where each field of `model` comes in a change table: the model's own fields as declared,
    then the shared ones (owner, team, stage...), then tags. PostgreSQL's jsonb does not keep
    the order the changes were written in, so the table is put in this order instead."""
    if model is None:
        return {}
    inherited = {
        f.name
        for base in model.__mro__[1:]
        if isinstance(base, type)
        and issubclass(base, models.Model)
        and base is not models.Model
        and base._meta.abstract
        for f in base._meta.fields
    }
    fields = [f.name for f in model._meta.concrete_fields]
    ordered = (
        [n for n in fields if n not in inherited]
        + [n for n in fields if n in inherited]
        + [f.name for f in model._meta.many_to_many]
    )
    return {name: i for i, name in enumerate(ordered)}


def history_rows(*, user: Any, record: Contact | Account, limit: int = 200) -> list[HistoryRow]:
    """The newest `limit` history events of a record (already fetched through `restrict`),
    with ids of users, teams, roles, accounts and contacts shown as names. A fixed number of
    queries: the events, then at most one query per kind of reference."""
    events = list(history_for(user=user, record=record)[:limit])
    names = audit.reference_names(
        events, references=HISTORY_REFERENCES, resolvers=_history_resolvers(user)
    )

    def shown(field: str, value: Any) -> Any:
        kind = HISTORY_REFERENCES.get(field)
        if kind is None or not isinstance(value, int) or isinstance(value, bool):
            return value
        return names.get(kind, {}).get(value, f"#{value}")

    rows = []
    for event in events:
        child_kind, subject = "", ""
        if event.parent_id is not None:
            child_kind, subject = _history_subject(event, event.content_type.model)
        order = _field_order(event.content_type.model_class())
        changes = [
            (field, shown(field, pair[0]), shown(field, pair[1]))
            for field, pair in sorted(
                (event.changes or {}).items(),
                key=lambda item: (order.get(item[0], len(order)), item[0]),
            )
            if isinstance(pair, list | tuple) and len(pair) == 2
        ]
        rows.append(
            HistoryRow(
                event=event,
                verb=HISTORY_VERBS.get(event.action, event.action),
                child_kind=child_kind,
                subject=subject,
                changes=changes,
            )
        )
    return rows


def tag_names() -> list[str]:
    """Every tag's name, for filter pickers (tags are labels, not customer records)."""
    return list(Tag.objects.order_by("name").values_list("name", flat=True))
