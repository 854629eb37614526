"""Every write to customer data. The UI, the API, the CLI and jobs all call these functions.

Each service checks the actor's permission on the record (an `actor` of None is the system
itself, used by trusted jobs), validates with `full_clean()`, writes, rebuilds the search
document where needed and records the audit event, all in one transaction.
"""

from __future__ import annotations

import datetime
from collections import defaultdict
from collections.abc import Iterable, Mapping, Sequence
from typing import Any

from django.core.exceptions import ValidationError
from django.db import transaction
from django.db.models import Model
from django.utils import timezone
from email_validator import EmailNotValidError, validate_email

from patron.core import audit
from patron.core.custom_fields import clean_custom_fields
from patron.core.permissions import organisation_settings, require, require_record
from patron.core.versioning import save_versioned
from patron.utils import phones
from patron.utils.fields import only_known

from . import search, timeline
from .models import (
    Account,
    AccountRelationship,
    Contact,
    ContactPoint,
    EmailAddress,
    PhoneNumber,
    PostalAddress,
    Tag,
    TimelineEntry,
)

CONTACT_FIELDS = [
    "prefix",
    "first_name",
    "middle_name",
    "last_name",
    "suffix",
    "job_title",
    "date_of_birth",
    "description",
    "lifecycle_stage",
    "owner",
    "team",
    "custom_fields",
]
ACCOUNT_FIELDS = [
    "name",
    "domain",
    "industry",
    "employee_count",
    "annual_revenue",
    "description",
    "parent",
    "lifecycle_stage",
    "owner",
    "team",
    "custom_fields",
]
POINT_FIELDS = {
    EmailAddress: ["email", "kind", "is_primary", "verified_at"],
    PhoneNumber: ["number", "e164", "extension", "kind", "is_primary", "verified_at"],
    PostalAddress: [
        "kind",
        "street",
        "street2",
        "city",
        "region",
        "postal_code",
        "country",
        "is_primary",
        "verified_at",
    ],
}
RELATIONSHIP_FIELDS = ["role", "is_primary", "started_on", "ended_on"]
TIMELINE_FIELDS = [
    "kind",
    "occurred_at",
    "subject",
    "body",
    "data",
    "due_at",
    "assignee",
    "completed_at",
]


# --- permission helpers -------------------------------------------------------------------


# --- tags ---------------------------------------------------------------------------------


def _tags_from_names(names: Iterable[str]) -> list[Tag]:
    clean = sorted({n.strip()[:50] for n in names if n and n.strip()}, key=str.casefold)
    tags = []
    for name in clean:
        tag = Tag.objects.filter(name__iexact=name).first()
        if tag is None:
            tag = Tag.objects.create(name=name)
        tags.append(tag)
    return tags


# --- search document ------------------------------------------------------------------------


def refresh_search_document(record: Contact | Account) -> None:
    """Rebuild the record's search text from its names, emails and phones."""
    refresh_search_documents(type(record), [record])


def refresh_search_documents(
    model: type[Contact] | type[Account], records: Sequence[Contact | Account]
) -> None:
    """`refresh_search_document` for many records of one model: their emails and phones in
    two queries, then an UPDATE for each record whose text changed."""
    parent = f"{model._meta.model_name}_id"
    ids = [r.pk for r in records]
    emails: dict[int, list[str]] = defaultdict(list)
    for pid, email in EmailAddress.objects.filter(**{f"{parent}__in": ids}).values_list(
        parent, "email"
    ):
        emails[pid].append(email)
    numbers: dict[int, list[tuple[str, str]]] = defaultdict(list)
    for pid, number, e164 in PhoneNumber.objects.filter(**{f"{parent}__in": ids}).values_list(
        parent, "number", "e164"
    ):
        numbers[pid].append((number, e164))
    document_of: Any = search.contact_document if model is Contact else search.account_document
    for record in records:
        document = document_of(record, emails[record.pk], numbers[record.pk])
        if document != record.search_document:
            model.objects.filter(pk=record.pk).update(search_document=document)
            record.search_document = document


# --- contacts and accounts --------------------------------------------------------------------


def _owned_defaults(record: Contact | Account, actor: Any, data: Mapping[str, Any]) -> None:
    if "owner" not in data and actor is not None:
        record.owner = actor
    if "team" not in data and record.owner is not None:
        record.team_id = record.owner.team_id


_OWNED = {
    Contact: ("contact", CONTACT_FIELDS),
    Account: ("account", ACCOUNT_FIELDS),
}


def _owned_create(*, actor, model, data, tags, emails, phones, addresses):
    """Create a contact or an account with its first contact points, in the caller's
    transaction: permission, custom fields, defaults, validation, audit, search document."""
    object_type, fields = _OWNED[model]
    require(actor, f"{object_type}.add")
    data = only_known(data, fields)
    record = model(**{k: v for k, v in data.items() if k != "custom_fields"})
    record.custom_fields = clean_custom_fields(object_type, data.get("custom_fields") or {})
    _owned_defaults(record, actor, data)
    record.full_clean(exclude=["search_document"])
    record.save()
    if tags:
        record.tags.set(_tags_from_names(tags))
    audit.record_create(actor=actor, obj=record, fields=fields + ["tags"])
    _add_points(actor=actor, parent=record, emails=emails, phones=phones, addresses=addresses)
    refresh_search_document(record)
    return record


def _owned_update(*, actor, record, expected_version, data, tags):
    object_type, fields = _OWNED[type(record)]
    require_record(actor, record, "change")
    data = only_known(data, fields)
    before = audit.snapshot(record, fields + ["tags"])
    for name, value in data.items():
        if name == "custom_fields":
            value = clean_custom_fields(object_type, value, existing=record.custom_fields)
        setattr(record, name, value)
    record.full_clean(exclude=["search_document"])
    save_versioned(record, expected_version=expected_version, fields=list(data))
    if tags is not None:
        record.tags.set(_tags_from_names(tags))
    changes = audit.diff(before, audit.snapshot(record, fields + ["tags"]))
    if changes:
        audit.record(actor=actor, action="update", obj=record, changes=changes)
    refresh_search_document(record)
    return record


def _owned_delete(*, actor, record) -> None:
    _, fields = _OWNED[type(record)]
    require_record(actor, record, "delete")
    audit.record_delete(actor=actor, obj=record, fields=fields + ["tags"])
    record.delete()


@transaction.atomic
def contact_create(
    *,
    actor: Any,
    data: Mapping[str, Any],
    tags: Iterable[str] | None = None,
    emails: Iterable[Mapping[str, Any]] = (),
    phones: Iterable[Mapping[str, Any]] = (),
    addresses: Iterable[Mapping[str, Any]] = (),
) -> Contact:
    """Create a contact, with its first emails, phones and addresses, in one transaction."""
    return _owned_create(
        actor=actor,
        model=Contact,
        data=data,
        tags=tags,
        emails=emails,
        phones=phones,
        addresses=addresses,
    )


@transaction.atomic
def contact_update(
    *,
    actor: Any,
    contact: Contact,
    expected_version: int | None,
    data: Mapping[str, Any],
    tags: Iterable[str] | None = None,
) -> Contact:
    """Change fields of a contact; refused with ConflictError if `expected_version` is stale."""
    return _owned_update(
        actor=actor, record=contact, expected_version=expected_version, data=data, tags=tags
    )


@transaction.atomic
def contact_delete(*, actor: Any, contact: Contact) -> None:
    _owned_delete(actor=actor, record=contact)


@transaction.atomic
def account_create(
    *,
    actor: Any,
    data: Mapping[str, Any],
    tags: Iterable[str] | None = None,
    emails: Iterable[Mapping[str, Any]] = (),
    phones: Iterable[Mapping[str, Any]] = (),
    addresses: Iterable[Mapping[str, Any]] = (),
) -> Account:
    """Create an account, with its first emails, phones and addresses, in one transaction."""
    return _owned_create(
        actor=actor,
        model=Account,
        data=data,
        tags=tags,
        emails=emails,
        phones=phones,
        addresses=addresses,
    )


@transaction.atomic
def account_update(
    *,
    actor: Any,
    account: Account,
    expected_version: int | None,
    data: Mapping[str, Any],
    tags: Iterable[str] | None = None,
) -> Account:
    """Change fields of an account; refused with ConflictError if `expected_version` is stale."""
    parent = data.get("parent")
    if parent is not None and parent.pk == account.pk:
        raise ValidationError({"parent": ["An account cannot be its own parent."]})
    return _owned_update(
        actor=actor, record=account, expected_version=expected_version, data=data, tags=tags
    )


@transaction.atomic
def account_delete(*, actor: Any, account: Account) -> None:
    _owned_delete(actor=actor, record=account)


# --- contact points (emails, phones, addresses) -------------------------------------------------


def _parent_kwargs(parent: Contact | Account) -> dict[str, Any]:
    return {"contact": parent} if isinstance(parent, Contact) else {"account": parent}


def _normalise_point(point: ContactPoint) -> None:
    """Normalise an email or phone in place; raise ValidationError when it is unusable."""
    if isinstance(point, EmailAddress):
        try:
            result = validate_email(point.email.strip(), check_deliverability=False)
        except EmailNotValidError as exc:
            raise ValidationError({"email": [str(exc)]}) from None
        point.email = result.normalized
    elif isinstance(point, PhoneNumber):
        point.number = point.number.strip()
        region = organisation_settings().default_phone_region
        point.e164 = phones.to_e164(point.number, region)
        if not point.e164:
            raise ValidationError(
                {
                    "number": [
                        f"Enter a valid phone number, e.g. +44 20 7946 0018 (numbers without a "
                        f"country code are read as {region})."
                    ]
                }
            )
    elif isinstance(point, PostalAddress):
        point.country = (point.country or "").strip().upper()


def _siblings(point: ContactPoint):
    model = type(point)
    parent_filter = (
        {"contact_id": point.contact_id} if point.contact_id else {"account_id": point.account_id}
    )
    return model.objects.filter(**parent_filter).exclude(pk=point.pk)


def _settle_primary(point: ContactPoint) -> None:
    """Exactly one primary per parent and kind of point: the newest one asked for wins."""
    siblings = _siblings(point)
    if point.is_primary:
        siblings.filter(is_primary=True).update(is_primary=False)
    elif not siblings.filter(is_primary=True).exists():
        type(point).objects.filter(pk=point.pk).update(is_primary=True)
        point.is_primary = True


def _add_points(*, actor, parent, emails, phones, addresses) -> None:
    """Add the first contact points of a new record; an error names the item, e.g.
    `emails.1.email`, so that a form or API client can show it beside the right one."""
    errors: dict[str, list[str]] = {}
    for section, model, items in (
        ("emails", EmailAddress, emails),
        ("phones", PhoneNumber, phones),
        ("addresses", PostalAddress, addresses),
    ):
        for index, item in enumerate(items):
            try:
                _contact_point_add(
                    actor=actor, model=model, parent=parent, data=item, refresh=False
                )
            except ValidationError as exc:
                for key, messages in exc.message_dict.items():
                    errors[f"{section}.{index}.{key}"] = messages
    if errors:
        raise ValidationError(errors)


def _contact_point_add(*, actor, model, parent, data, refresh=True) -> ContactPoint:
    fields = [f for f in POINT_FIELDS[model] if f != "e164"]
    data = only_known(data, fields)
    point = model(**_parent_kwargs(parent), **data)
    errors: dict[str, list[str]] = {}
    try:
        _normalise_point(point)
    except ValidationError as exc:
        errors.update(exc.message_dict)
    try:
        point.full_clean(exclude=list(errors))
    except ValidationError as exc:
        errors.update(exc.message_dict)
    if errors:
        raise ValidationError(errors)
    point.save()
    _settle_primary(point)
    audit.record_create(actor=actor, obj=point, fields=POINT_FIELDS[model], parent=parent)
    if refresh and model is not PostalAddress:
        refresh_search_document(parent)
    return point


@transaction.atomic
def contact_point_add(
    *, actor: Any, model: type[ContactPoint], parent: Contact | Account, data: Mapping[str, Any]
) -> ContactPoint:
    """Add an email, phone or address to a contact or account (editing the parent)."""
    require_record(actor, parent, "change")
    return _contact_point_add(actor=actor, model=model, parent=parent, data=data)


@transaction.atomic
def contact_point_update(
    *, actor: Any, point: ContactPoint, expected_version: int | None, data: Mapping[str, Any]
) -> ContactPoint:
    model = type(point)
    require_record(actor, point, "change")
    data = only_known(data, [f for f in POINT_FIELDS[model] if f != "e164"])
    before = audit.snapshot(point, POINT_FIELDS[model])
    for name, value in data.items():
        setattr(point, name, value)
    _normalise_point(point)
    point.full_clean()
    # Normalisation may touch fields not in `data` (e164 follows number): write them all.
    save_versioned(point, expected_version=expected_version, fields=POINT_FIELDS[model])
    _settle_primary(point)
    changes = audit.diff(before, audit.snapshot(point, POINT_FIELDS[model]))
    if changes:
        audit.record(actor=actor, action="update", obj=point, changes=changes, parent=point.parent)
    if model is not PostalAddress:
        refresh_search_document(point.parent)
    return point


@transaction.atomic
def contact_point_delete(*, actor: Any, point: ContactPoint) -> None:
    require_record(actor, point, "delete")
    parent = point.parent
    model = type(point)
    audit.record_delete(actor=actor, obj=point, fields=POINT_FIELDS[model], parent=parent)
    was_primary = point.is_primary
    point.delete()
    if was_primary:
        successor = model.objects.filter(**_parent_kwargs(parent)).order_by("id").first()
        if successor is not None:
            model.objects.filter(pk=successor.pk).update(is_primary=True)
    if model is not PostalAddress:
        refresh_search_document(parent)


# --- relationships ----------------------------------------------------------------------------


@transaction.atomic
def relationship_add(
    *, actor: Any, contact: Contact, account: Account, data: Mapping[str, Any] | None = None
) -> AccountRelationship:
    """Link a person to an organisation with a role (editing the contact, seeing the account)."""
    require_record(actor, contact, "change")
    require_record(actor, account, "view")
    data = only_known(data or {}, RELATIONSHIP_FIELDS)
    relationship = AccountRelationship(contact=contact, account=account, **data)
    relationship.full_clean()
    relationship.save()
    if relationship.is_primary:
        contact.relationships.exclude(pk=relationship.pk).update(is_primary=False)
    elif not contact.relationships.exclude(pk=relationship.pk).filter(is_primary=True).exists():
        AccountRelationship.objects.filter(pk=relationship.pk).update(is_primary=True)
        relationship.is_primary = True
    audit.record_create(
        actor=actor, obj=relationship, fields=["account", *RELATIONSHIP_FIELDS], parent=contact
    )
    return relationship


@transaction.atomic
def relationship_update(
    *,
    actor: Any,
    relationship: AccountRelationship,
    expected_version: int | None,
    data: Mapping[str, Any],
) -> AccountRelationship:
    require_record(actor, relationship, "change")
    data = only_known(data, RELATIONSHIP_FIELDS)
    before = audit.snapshot(relationship, RELATIONSHIP_FIELDS)
    for name, value in data.items():
        setattr(relationship, name, value)
    relationship.full_clean()
    save_versioned(relationship, expected_version=expected_version, fields=list(data))
    if relationship.is_primary:
        AccountRelationship.objects.filter(contact_id=relationship.contact_id).exclude(
            pk=relationship.pk
        ).update(is_primary=False)
    changes = audit.diff(before, audit.snapshot(relationship, RELATIONSHIP_FIELDS))
    if changes:
        audit.record(
            actor=actor,
            action="update",
            obj=relationship,
            changes=changes,
            parent=relationship.contact,
        )
    return relationship


@transaction.atomic
def relationship_delete(*, actor: Any, relationship: AccountRelationship) -> None:
    require_record(actor, relationship, "delete")
    audit.record_delete(
        actor=actor,
        obj=relationship,
        fields=["account", *RELATIONSHIP_FIELDS],
        parent=relationship.contact,
    )
    relationship.delete()


# --- timeline -----------------------------------------------------------------------------------


def _clean_entry_data(kind_key: str, data: Mapping[str, Any] | None) -> dict[str, Any]:
    from pydantic import ValidationError as SchemaError

    kind = timeline.get(kind_key)
    if kind is None:
        known = ", ".join(k.key for k in timeline.all_kinds())
        raise ValidationError({"kind": [f"Unknown kind {kind_key!r}; use one of: {known}."]})
    try:
        return kind.data_schema.model_validate(dict(data or {})).model_dump(mode="json")
    except SchemaError as exc:
        raise ValidationError(
            {"data." + ".".join(str(p) for p in err["loc"]): [err["msg"]] for err in exc.errors()}
        ) from None


@transaction.atomic
def timeline_entry_create(
    *,
    actor: Any,
    kind: str,
    contact: Contact | None = None,
    account: Account | None = None,
    subject: str = "",
    body: str = "",
    occurred_at: datetime.datetime | None = None,
    data: Mapping[str, Any] | None = None,
    due_at: datetime.datetime | None = None,
    assignee: Any = None,
    related: Model | None = None,
    user_facing: bool = True,
) -> TimelineEntry:
    """Log an interaction on a contact and/or account timeline.

    `user_facing` entries (from forms and the API) must be of a user-creatable kind; other
    capabilities pass `user_facing=False` for their own kinds (orders, cases).
    """
    require(actor, "timeline.add")
    for parent in (contact, account):
        if parent is not None:
            require_record(actor, parent, "view")
    if contact is None and account is None:
        raise ValidationError({"contact": ["An entry belongs to a contact or an account."]})
    registered = timeline.get(kind)
    if user_facing and registered is not None and not registered.user_creatable:
        raise ValidationError({"kind": [f"Entries of kind {kind!r} are created by Patron itself."]})
    entry = TimelineEntry(
        kind=kind,
        contact=contact,
        account=account,
        subject=subject,
        body=body,
        occurred_at=occurred_at or timezone.now(),
        data=_clean_entry_data(kind, data),
        due_at=due_at,
        author=actor if getattr(actor, "pk", None) else None,
        assignee=assignee if assignee is not None else (actor if kind == "task" else None),
        related_object=related,
    )
    if kind == "task" and not subject.strip():
        raise ValidationError({"subject": ["Give the task a title."]})
    if kind == "note" and not body.strip():
        raise ValidationError({"body": ["Write something in the note."]})
    entry.full_clean()
    entry.save()
    audit.record_create(actor=actor, obj=entry, fields=TIMELINE_FIELDS, parent=contact or account)
    return entry


@transaction.atomic
def timeline_entry_update(
    *, actor: Any, entry: TimelineEntry, expected_version: int | None, data: Mapping[str, Any]
) -> TimelineEntry:
    require_record(actor, entry, "change")
    data = only_known(data, ["occurred_at", "subject", "body", "data", "due_at", "assignee"])
    before = audit.snapshot(entry, TIMELINE_FIELDS)
    for name, value in data.items():
        if name == "data":
            value = _clean_entry_data(entry.kind, value)
        setattr(entry, name, value)
    entry.full_clean()
    save_versioned(entry, expected_version=expected_version, fields=list(data))
    changes = audit.diff(before, audit.snapshot(entry, TIMELINE_FIELDS))
    if changes:
        audit.record(
            actor=actor,
            action="update",
            obj=entry,
            changes=changes,
            parent=entry.contact or entry.account,
        )
    return entry


@transaction.atomic
def task_set_done(*, actor: Any, entry: TimelineEntry, done: bool = True) -> TimelineEntry:
    """Mark a task done (or open again). Idempotent: marking a done task done changes nothing."""
    require_record(actor, entry, "change")
    if entry.kind != "task":
        raise ValidationError({"kind": ["Only tasks can be marked done."]})
    if entry.is_done == done:
        return entry
    before = audit.snapshot(entry, ["completed_at"])
    entry.completed_at = timezone.now() if done else None
    save_versioned(entry, expected_version=None, fields=["completed_at"])
    audit.record(
        actor=actor,
        action="update",
        obj=entry,
        changes=audit.diff(before, audit.snapshot(entry, ["completed_at"])),
        parent=entry.contact or entry.account,
    )
    return entry


@transaction.atomic
def timeline_entry_delete(*, actor: Any, entry: TimelineEntry) -> None:
    require_record(actor, entry, "delete")
    audit.record_delete(
        actor=actor, obj=entry, fields=TIMELINE_FIELDS, parent=entry.contact or entry.account
    )
    entry.delete()
