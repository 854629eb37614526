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

from patron.core import audit
from patron.core.models import AuditEvent
from patron.customers.models import Account, Contact, EmailAddress, PhoneNumber, PostalAddress
from patron.customers.services import refresh_search_document
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


ADDRESS_PARTS = ("street", "street2", "postal_code", "city", "country")
POINT_MODELS: dict[str, Any] = {
    "email": EmailAddress,
    "phone": PhoneNumber,
    "address": PostalAddress,
}
POINT_COLUMNS: dict[Any, tuple[str, ...]] = {
    EmailAddress: ("email",),
    PhoneNumber: ("e164", "number"),
    PostalAddress: ADDRESS_PARTS,
}


def address_of(address: PostalAddress) -> str:
    """A postal address as survivorship writes and compares it."""
    return _address_text({f"address.{k}": getattr(address, k) for k in ADDRESS_PARTS})


def _point_text(model: Any, row: dict[str, Any]) -> str:
    if model is EmailAddress:
        return row["email"].lower()
    if model is PhoneNumber:
        return row["e164"] or row["number"]
    return _address_text({f"address.{k}": row[k] for k in ADDRESS_PARTS})


def _points(object_type: str, ids: list[int]) -> dict[str, dict[int, list[tuple[int, bool, str]]]]:
    """field -> record id -> [(point id, is primary, text as survivorship compares it)], in
    id order: every contact point of these records, in one query per kind."""
    parent = f"{object_type}_id"
    out: dict[str, dict[int, list[tuple[int, bool, str]]]] = {}
    for field, model in POINT_MODELS.items():
        rows: dict[int, list[tuple[int, bool, str]]] = defaultdict(list)
        for row in (
            model.objects.filter(**{f"{parent}__in": ids})
            .order_by("id")
            .values("pk", parent, "is_primary", *POINT_COLUMNS[model])
        ):
            rows[row[parent]].append((row["pk"], row["is_primary"], _point_text(model, row)))
        out[field] = rows
    return out


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
    points = _points(object_type, ids)
    now = timezone.now()
    rows_out: list[FieldLineage] = []
    primaries: dict[str, dict[int, int]] = defaultdict(dict)  # field -> record -> point id
    updates: dict[int, dict[str, Any]] = {}
    for pk, record in records.items():
        data: dict[str, Any] = {}
        for field in fields_of(object_type):
            field_offers = offers[pk].get(field, [])
            row = lineage.get((pk, field))
            if row is not None and row.rule == HAND and not _released(row, field_offers):
                row.candidates = _candidates(field_offers)
                row.updated_at = now
                rows_out.append(row)
                continue
            if not field_offers:
                continue  # no source says anything: the record's own value stands
            value, sources, rule = choose(rules[field], field_offers)
            if field in POINT_FIELDS:
                held = points[field].get(pk, [])
                current = next((text for _, primary, text in held if primary), "")
                if value.casefold() != current.casefold():
                    chosen = next((i for i, _, t in held if t.casefold() == value.casefold()), None)
                    if chosen is not None:
                        primaries[field][pk] = chosen
            elif value != _current(record, field, {}):
                data[field] = _coerce(record, field, value)
            rows_out.append(
                FieldLineage(
                    object_type=object_type,
                    object_id=pk,
                    field=field,
                    value=value,
                    source_record_ids=sources,
                    rule=rule,
                    candidates=_candidates(field_offers),
                    updated_at=now,
                )
            )
        if data:
            updates[pk] = data
    for field, picked in primaries.items():
        point_model = POINT_MODELS[field]
        point_model.objects.filter(**{f"{object_type}_id__in": list(picked)}).update(
            is_primary=False
        )
        point_model.objects.filter(pk__in=list(picked.values())).update(is_primary=True)
    _write_values(model, records, updates, now)
    # Lineage rows are replaced whole: two statements, whatever the number of customers.
    FieldLineage.objects.filter(object_type=object_type, object_id__in=ids).delete()
    for row in rows_out:
        row.pk = None
    FieldLineage.objects.bulk_create(rows_out, batch_size=1000)
    changed = len(updates)
    return changed


NAME_FIELDS = {"first_name", "middle_name", "last_name", "prefix", "suffix", "name", "domain"}


def _write_values(model: Any, records: dict[int, Any], updates: dict[int, dict], now) -> None:
    """The chosen values onto the records, as the system: one UPDATE per record (its version
    moves on), their audit events in one insert, search text rebuilt where a name changed."""
    events: list[AuditEvent] = []
    fields = list(SCALAR_FIELDS["contact" if model is Contact else "account"])
    for pk, data in updates.items():
        record = records[pk]
        before = audit.snapshot(record, fields)
        for name, value in data.items():
            setattr(record, name, value)
        record.version += 1
        record.updated_at = now
        model.objects.filter(pk=pk).update(**data, version=record.version, updated_at=now)
        changes = audit.diff(before, audit.snapshot(record, fields))
        if changes:
            events.append(
                audit.build(
                    actor=None, action=AuditEvent.Action.UPDATE, obj=record, changes=changes
                )
            )
        if NAME_FIELDS & set(data):
            refresh_search_document(record)
    audit.insert_many(events)


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
