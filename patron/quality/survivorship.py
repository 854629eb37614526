"""Golden records: per field, a rule picks the surviving value among everything the customer's
source records sent, and the value remembers which source records it came from (lineage).

A value someone typed in Patron (UI or API) wins over every source until a source sends
something new for that field — a value different from what it said when the edit was made —
or until someone lets the sources decide again (`lineage_release`).
"""

from __future__ import annotations

import datetime
from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any

from django.contrib.contenttypes.models import ContentType
from django.db import transaction
from django.utils import timezone

from patron.core.models import AuditEvent
from patron.customers.models import Account, Contact, EmailAddress, PhoneNumber, PostalAddress
from patron.customers.services import account_update, contact_update
from patron.integration.models import SourceRecord

from .models import FieldLineage, SurvivorshipRule

Rule = SurvivorshipRule.Rule

# The golden record's fields and where a source record's normalised values hold them.
SCALAR_FIELDS: dict[str, dict[str, str]] = {
    "contact": {
        "prefix": "contact.prefix",
        "first_name": "contact.first_name",
        "middle_name": "contact.middle_name",
        "last_name": "contact.last_name",
        "suffix": "contact.suffix",
        "job_title": "contact.job_title",
        "date_of_birth": "contact.date_of_birth",
    },
    "account": {
        "name": "account.name",
        "domain": "account.domain",
        "industry": "account.industry",
        "employee_count": "account.employee_count",
        "annual_revenue": "account.annual_revenue",
    },
}
# Contact points: every value stays on the record; the rule picks the primary one.
POINT_FIELDS = ("email", "phone", "address")

DEFAULT_RULES: dict[str, dict[str, str]] = {
    "contact": {
        "prefix": Rule.TRUST,
        "first_name": Rule.FREQUENT,
        "middle_name": Rule.COMPLETE,
        "last_name": Rule.FREQUENT,
        "suffix": Rule.TRUST,
        "job_title": Rule.RECENT,
        "date_of_birth": Rule.TRUST,
        "email": Rule.RECENT,
        "phone": Rule.RECENT,
        "address": Rule.RECENT,
    },
    "account": {
        "name": Rule.TRUST,
        "domain": Rule.TRUST,
        "industry": Rule.RECENT,
        "employee_count": Rule.RECENT,
        "annual_revenue": Rule.RECENT,
        "email": Rule.RECENT,
        "phone": Rule.RECENT,
        "address": Rule.RECENT,
    },
}
FIELD_LABELS = {
    "prefix": "Title",
    "first_name": "First name",
    "middle_name": "Middle name",
    "last_name": "Last name",
    "suffix": "Suffix",
    "job_title": "Job title",
    "date_of_birth": "Date of birth",
    "name": "Name",
    "domain": "Domain",
    "industry": "Industry",
    "employee_count": "Employees",
    "annual_revenue": "Annual revenue",
    "email": "Primary email",
    "phone": "Primary phone",
    "address": "Primary address",
}
HAND = "hand"
ONLY = "only"  # one value among the sources: no rule had to choose


def fields_of(object_type: str) -> list[str]:
    return [*SCALAR_FIELDS[object_type], *POINT_FIELDS]


def rules_for(object_type: str) -> dict[str, str]:
    """The rule of every golden-record field: the admin's choice, else the default."""
    rules = dict(DEFAULT_RULES[object_type])
    for field, rule in SurvivorshipRule.objects.filter(object_type=object_type).values_list(
        "field", "rule"
    ):
        if field in rules:
            rules[field] = rule
    return rules


# --- what the sources say --------------------------------------------------------------------


@dataclass(frozen=True)
class Offer:
    """One value one source record sent for one field."""

    value: str
    record_id: int
    trust: int
    seen_at: datetime.datetime

    @property
    def key(self) -> str:
        return " ".join(self.value.casefold().split())


def _address_text(values: dict[str, Any]) -> str:
    parts = [
        values.get("address.street", ""),
        values.get("address.street2", ""),
        " ".join(p for p in (values.get("address.postal_code"), values.get("address.city")) if p),
        values.get("address.country", ""),
    ]
    return ", ".join(str(p).strip() for p in parts if p and str(p).strip())


def offers_of(object_type: str, record: SourceRecord, trust: int) -> dict[str, list[Offer]]:
    """Every value this source record sends for each golden-record field."""
    values = record.normalised or {}
    out: dict[str, list[Offer]] = defaultdict(list)

    def add(field: str, value: Any) -> None:
        if value is None or str(value).strip() == "":
            return
        out[field].append(Offer(str(value).strip(), record.pk, trust, record.last_seen_at))

    for field, key in SCALAR_FIELDS[object_type].items():
        add(field, values.get(key))
    for email in values.get("emails") or []:
        add("email", (email.get("email") or "").lower())
    for phone in values.get("phones") or []:
        add("phone", phone.get("e164") or phone.get("number"))
    add("address", _address_text(values))
    return out


def choose(rule: str, offers: Sequence[Offer]) -> tuple[str, list[int], str]:
    """The surviving value among `offers` by `rule`, the source records that sent it, and the
    rule that decided ("only" when every source agrees). Ties go to the more trusted source,
    then the more recent, then the later record."""
    groups: dict[str, list[Offer]] = defaultdict(list)
    for offer in offers:
        groups[offer.key].append(offer)

    def best(group: list[Offer]) -> Offer:
        return max(group, key=lambda o: (o.trust, o.seen_at, o.record_id))

    def tiebreak(group: list[Offer]) -> tuple:
        b = best(group)
        return (b.trust, b.seen_at, b.record_id)

    if len(groups) == 1:
        (group,) = groups.values()
        return best(group).value, sorted({o.record_id for o in group}), ONLY
    if rule == Rule.RECENT:
        ranked = sorted(
            groups.values(),
            key=lambda g: (max(o.seen_at for o in g), *tiebreak(g)),
            reverse=True,
        )
    elif rule == Rule.FREQUENT:
        ranked = sorted(
            groups.values(),
            key=lambda g: (len({o.record_id for o in g}), *tiebreak(g)),
            reverse=True,
        )
    elif rule == Rule.COMPLETE:
        ranked = sorted(
            groups.values(), key=lambda g: (len(best(g).value), *tiebreak(g)), reverse=True
        )
    else:  # trust
        ranked = sorted(groups.values(), key=tiebreak, reverse=True)
    winner = ranked[0]
    return best(winner).value, sorted({o.record_id for o in winner}), rule


def _candidates(offers: Sequence[Offer]) -> list[dict[str, Any]]:
    groups: dict[str, list[Offer]] = defaultdict(list)
    for offer in offers:
        groups[offer.key].append(offer)
    return [
        {
            "value": max(g, key=lambda o: (o.trust, o.seen_at)).value,
            "source_record_ids": sorted({o.record_id for o in g}),
        }
        for g in sorted(groups.values(), key=lambda g: (-len(g), g[0].key))
    ]


# --- applying it -----------------------------------------------------------------------------


def _current(record: Contact | Account, field: str, points: dict[str, Any]) -> str:
    if field in POINT_FIELDS:
        return points.get(field) or ""
    value = getattr(record, field)
    if value is None:
        return ""
    if isinstance(value, datetime.date):
        return value.isoformat()
    return str(value)


def _primary_points(object_type: str, ids: list[int]) -> dict[int, dict[str, Any]]:
    """Each record's current primary email, phone and address, as survivorship compares them."""
    out: dict[int, dict[str, Any]] = defaultdict(dict)
    parent = f"{object_type}_id"
    for pid, email in EmailAddress.objects.filter(
        **{f"{parent}__in": ids}, is_primary=True
    ).values_list(parent, "email"):
        out[pid]["email"] = email.lower()
    for pid, e164, number in PhoneNumber.objects.filter(
        **{f"{parent}__in": ids}, is_primary=True
    ).values_list(parent, "e164", "number"):
        out[pid]["phone"] = e164 or number
    for address in PostalAddress.objects.filter(**{f"{parent}__in": ids}, is_primary=True):
        out[getattr(address, parent)]["address"] = _address_text(
            {
                "address.street": address.street,
                "address.street2": address.street2,
                "address.postal_code": address.postal_code,
                "address.city": address.city,
                "address.country": address.country,
            }
        )
    return out


def _make_primary(object_type: str, record_id: int, field: str, value: str) -> bool:
    """Make the record's contact point with this value its primary one; False if the record
    has no such point (a source's value the record does not carry)."""
    parent = {f"{object_type}_id": record_id}
    match: list[Any]
    if field == "email":
        emails = list(EmailAddress.objects.filter(**parent))
        match = [p for p in emails if p.email.lower() == value.lower()]
    elif field == "phone":
        phones = list(PhoneNumber.objects.filter(**parent))
        match = [p for p in phones if value in (p.e164, p.number)]
    else:
        addresses = list(PostalAddress.objects.filter(**parent))
        match = [
            p
            for p in addresses
            if _address_text(
                {
                    "address.street": p.street,
                    "address.street2": p.street2,
                    "address.postal_code": p.postal_code,
                    "address.city": p.city,
                    "address.country": p.country,
                }
            ).casefold()
            == value.casefold()
        ]
    if not match:
        return False
    model = type(match[0])
    model.objects.filter(**parent).exclude(pk=match[0].pk).update(is_primary=False)
    model.objects.filter(pk=match[0].pk).update(is_primary=True)
    return True


def _coerce(record: Contact | Account, field: str, value: str) -> Any:
    model_field: Any = record._meta.get_field(field)
    if value == "":
        return None if model_field.null else ""
    return model_field.to_python(value)


@transaction.atomic
def golden_refresh(*, object_type: str, ids: Iterable[int]) -> int:
    """Recompute the golden values and lineage of these customers from their source records;
    returns how many customers changed. Writes through the customers' own services (audited,
    versioned) as the system."""
    model = Contact if object_type == "contact" else Account
    ids = sorted(set(ids))
    if not ids:
        return 0
    rules = rules_for(object_type)
    records = {r.pk: r for r in model.objects.filter(pk__in=ids)}
    offers: dict[int, dict[str, list[Offer]]] = defaultdict(lambda: defaultdict(list))
    for sr, trust in (
        (sr, sr.source.trust_rank)
        for sr in SourceRecord.objects.filter(**{f"{object_type}_id__in": ids}).select_related(
            "source"
        )
    ):
        for field, field_offers in offers_of(object_type, sr, trust).items():
            offers[getattr(sr, f"{object_type}_id")][field].extend(field_offers)
    lineage = {
        (row.object_id, row.field): row
        for row in FieldLineage.objects.filter(object_type=object_type, object_id__in=ids)
    }
    points = _primary_points(object_type, ids)
    now = timezone.now()
    changed = 0
    to_create: list[FieldLineage] = []
    to_update: list[FieldLineage] = []
    for pk, record in records.items():
        data: dict[str, Any] = {}
        for field in fields_of(object_type):
            field_offers = offers[pk].get(field, [])
            row = lineage.get((pk, field))
            current = _current(record, field, points.get(pk, {}))
            if row is not None and row.rule == HAND and not _released(row, field_offers):
                row.candidates = _candidates(field_offers)
                row.updated_at = now
                to_update.append(row)
                continue
            if not field_offers:
                if row is not None and row.rule != HAND:
                    row.delete()
                continue
            value, sources, rule = choose(rules[field], field_offers)
            if field in POINT_FIELDS:
                if value.casefold() != current.casefold():
                    _make_primary(object_type, pk, field, value)
            elif value != current:
                data[field] = _coerce(record, field, value)
            if row is None:
                row = FieldLineage(object_type=object_type, object_id=pk, field=field)
                to_create.append(row)
            else:
                to_update.append(row)
            row.value = value
            row.source_record_ids = sources
            row.rule = rule
            row.candidates = _candidates(field_offers)
            row.edited_by = None
            row.edited_at = None
            row.pinned = {}
            row.updated_at = now
        if data:
            if isinstance(record, Contact):
                contact_update(actor=None, contact=record, expected_version=None, data=data)
            else:
                account_update(actor=None, account=record, expected_version=None, data=data)
            changed += 1
    FieldLineage.objects.bulk_create(to_create)
    FieldLineage.objects.bulk_update(
        to_update,
        ["value", "source_record_ids", "rule", "candidates", "edited_by", "edited_at", "pinned",
         "updated_at"],
    )  # fmt: skip
    return changed


def lineage_of(object_type: str, record_id: int) -> list[FieldLineage]:
    """Every golden-record field's lineage: the stored rows, and for fields no resolution run
    has decided yet, what the rules would say now (computed, not saved)."""
    stored = {
        row.field: row
        for row in FieldLineage.objects.filter(object_type=object_type, object_id=record_id)
    }
    missing = [f for f in fields_of(object_type) if f not in stored]
    if missing:
        rules = rules_for(object_type)
        offers: dict[str, list[Offer]] = defaultdict(list)
        for sr in SourceRecord.objects.filter(**{f"{object_type}_id": record_id}).select_related(
            "source"
        ):
            for field, field_offers in offers_of(object_type, sr, sr.source.trust_rank).items():
                offers[field].extend(field_offers)
        for field in missing:
            if offers.get(field):
                value, sources, rule = choose(rules[field], offers[field])
                stored[field] = FieldLineage(
                    object_type=object_type,
                    object_id=record_id,
                    field=field,
                    value=value,
                    source_record_ids=sources,
                    rule=rule,
                    candidates=_candidates(offers[field]),
                )
    return list(stored.values())


def _released(row: FieldLineage, offers: Sequence[Offer]) -> bool:
    """Whether a source has sent something new for a hand-edited field since the edit."""
    pinned = row.pinned or {}
    for offer in offers:
        said = pinned.get(str(offer.record_id))
        if said is None or " ".join(str(said).casefold().split()) != offer.key:
            return True
    return False


# --- hand edits ------------------------------------------------------------------------------


def hand_edits_record(events: Sequence[AuditEvent]) -> None:
    """Audit listener: a person changed golden-record fields in the UI or the API, so those
    values are pinned as hand edits, remembering what each source said at the time."""
    edits = [
        e
        for e in events
        if e.action == AuditEvent.Action.UPDATE and e.origin in ("ui", "api") and e.actor_id
    ]
    if not edits:
        return
    types = {
        ContentType.objects.get_for_model(Contact).pk: "contact",
        ContentType.objects.get_for_model(Account).pk: "account",
    }
    for event in edits:
        object_type = types.get(event.content_type_id)
        if object_type is None:
            continue
        fields = [f for f in (event.changes or {}) if f in SCALAR_FIELDS[object_type]]
        if not fields:
            continue
        said: dict[str, dict[str, str]] = defaultdict(dict)
        for sr in SourceRecord.objects.filter(
            **{f"{object_type}_id": event.object_id}
        ).select_related("source"):
            for field, field_offers in offers_of(object_type, sr, 0).items():
                for offer in field_offers:
                    said[field][str(sr.pk)] = offer.value
        for field in fields:
            value = event.changes[field][1]
            FieldLineage.objects.update_or_create(
                object_type=object_type,
                object_id=event.object_id,
                field=field,
                defaults={
                    "value": value,
                    "rule": HAND,
                    "source_record_ids": [],
                    "edited_by_id": event.actor_id,
                    "edited_at": event.created_at,
                    "pinned": dict(said.get(field, {})),
                    "updated_at": event.created_at,
                },
            )


@transaction.atomic
def lineage_release(*, actor: Any, object_type: str, object_id: int, field: str) -> None:
    """Let the sources decide a hand-edited field again (the rule picks its value now)."""
    from patron.core.permissions import may

    model = Contact if object_type == "contact" else Account
    record = model.objects.restrict(actor, "view").get(pk=object_id)
    if actor is not None and not may(actor, record, "change"):
        from django.core.exceptions import PermissionDenied

        raise PermissionDenied("You may not change this record.")
    FieldLineage.objects.filter(
        object_type=object_type, object_id=object_id, field=field, rule=HAND
    ).delete()
    golden_refresh(object_type=object_type, ids=[object_id])
