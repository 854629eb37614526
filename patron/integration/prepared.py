"""A row made ready for writing: mapped, normalised and judged usable or not.

Everything here is pure Python over one row (no database), so it can run in worker
processes while the main process writes earlier batches (see `workers.py`).
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from functools import lru_cache
from typing import Any, cast

from django.db import connection

from patron.customers import search
from patron.customers.models import (
    Account,
    EmailAddress,
    LifecycleStage,
    PhoneNumber,
    PostalAddress,
)

from .fields import Normalised, RowNormaliser
from .readers import BadRow

ADDRESS_KEYS = ("street", "street2", "city", "region", "postal_code", "country")

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


@dataclass
class Prepared:
    """A usable row: what the source sent and what Patron made of it.

    `document` is the search document a new record made from the row would get, `texts` the
    JSON of payload, values and problems as a source record stores them, and `new` the new
    record's columns; worker processes fill them in ahead (the document parses every phone
    again), the writer otherwise. The writer never changes a prepared row, so they stay
    true."""

    line: int
    key: str
    payload: dict[str, Any]
    values: dict[str, Any]
    problems: list[dict[str, str]]
    content_hash: str
    document: str | None = None
    texts: tuple[str, str, str] | None = None
    new: NewRecord | None = None

    def json_texts(self) -> tuple[str, str, str]:
        """(payload, values, problems) as JSON, as Django's JSONField stores them."""
        if self.texts is None:
            self.texts = (
                json.dumps(self.payload),
                json.dumps(self.values),
                json.dumps(self.problems),
            )
        return self.texts


KEY_LENGTH = 255  # SourceRecord.source_key


def prepare(
    line: int, row: dict[str, Any], normaliser: RowNormaliser, key_column: str = ""
) -> Prepared | BadRow:
    """Map and normalise one row; decide whether it is usable at all. Its content hash is
    SHA-256 of the row as canonical JSON (keys sorted, no spaces, UTF-8)."""
    text = json.dumps(row, sort_keys=True, ensure_ascii=False, separators=(",", ":"))
    try:
        digest = hashlib.sha256(text.encode("utf-8")).hexdigest()
    except UnicodeEncodeError:
        return BadRow(
            line,
            "undecodable",
            "The row holds characters that are not valid text (lone surrogates); "
            "check the file's encoding.",
            raw=_printable(row),
        )
    if "\\u0000" in text and _has_nul(row):  # (the text alone: also an escaped "\\u0000")
        return BadRow(
            line,
            "nul_character",
            "The row holds a NUL character (byte 0), which cannot be stored; "
            "check the file's encoding.",
            raw=_printable(row),
        )
    result: Normalised = normaliser.normalise(row)
    if len(result.key) > KEY_LENGTH:
        return BadRow(
            line,
            "key_too_long",
            f"The source key is {len(result.key):,} characters long; Patron keeps keys of up "
            f"to {KEY_LENGTH}.",
            raw=row,
        )
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


def _printable(value: Any) -> Any:
    """`value` as it can be stored and shown: NULs and lone surrogates replaced."""
    if isinstance(value, str):
        return value.encode("utf-8", "replace").decode().replace("\x00", "\ufffd")
    if isinstance(value, dict):
        return {_printable(str(k)): _printable(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_printable(v) for v in value]
    return value


def _has_nul(value: Any) -> bool:
    if isinstance(value, str):
        return "\x00" in value
    if isinstance(value, dict):
        return any(_has_nul(str(k)) or _has_nul(v) for k, v in value.items())
    if isinstance(value, list):
        return any(_has_nul(v) for v in value)
    return False


@dataclass
class _Names:
    """The name fields the search document reads, for a record not built as a model."""

    prefix: str = ""
    first_name: str = ""
    middle_name: str = ""
    last_name: str = ""
    suffix: str = ""
    name: str = ""
    domain: str = ""


def new_record_document(entity: str, values: dict[str, Any]) -> str:
    """The search document of a record created from `values`, as `search` builds it for a
    saved record with these names, emails and phones."""
    emails = [e["email"] for e in values.get("emails", [])]
    pairs = [(p["number"], p["e164"]) for p in values.get("phones", [])]
    if entity == "contact":
        names = _Names(
            prefix=values.get("contact.prefix") or "",
            first_name=values.get("contact.first_name") or "",
            middle_name=values.get("contact.middle_name") or "",
            last_name=values.get("contact.last_name") or "",
            suffix=values.get("contact.suffix") or "",
        )
        return search.contact_document(cast(Any, names), emails, pairs)
    names = _Names(name=values.get("account.name") or "", domain=values.get("account.domain") or "")
    return search.account_document(cast(Any, names), emails, pairs)


def precompute(item: Prepared | BadRow, entity: str) -> Prepared | BadRow:
    """Fill in, in a worker process, what costs the writer more to compute than to receive:
    the JSON texts and the search document. (The new record's columns are cheaper to build
    in the writer than to unpickle there: measured, docs/benchmarks.md.)"""
    if isinstance(item, Prepared):
        item.json_texts()
        if item.document is None:
            item.document = new_record_document(entity, item.values)
    return item


# --- a new record, but for its ids and times ---------------------------------------------------

# Columns of the tuples below, after those only the writer knows (ids, owner, times).
RECORD_TAIL = {
    "contact": ("lifecycle_stage", "custom_fields", "search_document", "version")
    + tuple(SIMPLE_FIELDS["contact"][:-1]),
    "account": ("lifecycle_stage", "custom_fields", "search_document", "version")
    + (*SIMPLE_FIELDS["account"][:-1], "parent_id"),
}
POINT_TAIL = ("is_primary", "verified_at", "version")
EMAIL_TAIL = (*POINT_TAIL, "email", "kind")
PHONE_TAIL = (*POINT_TAIL, "number", "e164", "extension", "kind")
ADDRESS_TAIL = (*POINT_TAIL, "kind", *ADDRESS_KEYS)
_NULLABLE = {"date_of_birth", "employee_count", "annual_revenue"}


@dataclass
class NewRecord:
    """A new customer record made from a row, but for what only the writer knows (ids,
    owner's team, times, account and tag ids): its columns, contact points, account name,
    tags, and its `create` audit event's label and changes (also as JSON)."""

    columns: tuple[Any, ...]  # RECORD_TAIL
    emails: list[tuple[Any, ...]]  # EMAIL_TAIL
    phones: list[tuple[Any, ...]]  # PHONE_TAIL
    address: tuple[Any, ...] | None  # ADDRESS_TAIL
    company: str
    tags: list[str]
    label: str
    changes: dict[str, Any]
    changes_text: str


def new_record(row: Prepared, entity: str, owner_id: int | None) -> NewRecord:
    """`row.new`, built once (the columns are what the ORM would write for a record made by
    the services: same defaults, one primary contact point per kind)."""
    if row.new is not None:
        return row.new
    values = row.values
    if row.document is None:
        row.document = new_record_document(entity, values)
    fields: list[Any] = []
    changes: dict[str, Any] = {}
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
            field = Account._meta.get_field("annual_revenue")
            value = field.get_db_prep_save(value, connection)
        fields.append(value)
    custom = {k[7:]: v for k, v in values.items() if k.startswith("custom.")}
    columns = (fields[-1], json.dumps(custom), row.document, 1, *fields[:-1])
    if entity == "account":
        columns += (None,)
    email_kinds, phone_kinds = _kinds()
    emails = [
        (i == 0, None, 1, item["email"], item["kind"] if item["kind"] in email_kinds else "other")
        for i, item in enumerate(unique_by(values.get("emails", []), "email"))
    ]
    phones = [
        (i == 0, None, 1, item["number"], item["e164"], item["extension"][:10])
        + (item["kind"] if item["kind"] in phone_kinds else "other",)
        for i, item in enumerate(unique_by(values.get("phones", []), "e164"))
    ]
    address = address_of(values)
    if custom:
        changes["custom_fields"] = [None, custom]
    _point_changes(entity, values, changes, owner_id, address)
    if entity == "contact":
        parts = [values.get(f"contact.{n}") for n in ("first_name", "middle_name", "last_name")]
        label = " ".join(p for p in parts if p) or "(no name)"
    else:
        label = values["account.name"]
    row.new = NewRecord(
        columns=columns,
        emails=emails,
        phones=phones,
        address=(True, None, 1, PostalAddress.Kind.HOME.value, *address.values())
        if address
        else None,
        company=(values.get("account.name") or "") if entity == "contact" else "",
        tags=values.get(f"{entity}.tags") or [],
        label=label,
        changes=changes,
        changes_text=json.dumps(changes),
    )
    return row.new


@lru_cache(maxsize=1)
def _kinds() -> tuple[frozenset[str], frozenset[str]]:
    """The kinds an email and a phone may have (Django's `Choices.values` builds a new list
    on every call)."""
    return frozenset(EmailAddress.Kind.values), frozenset(PhoneNumber.Kind.values)


def _point_changes(
    entity: str,
    values: dict[str, Any],
    changes: dict[str, Any],
    owner_id: int | None,
    address: dict[str, str],
) -> None:
    """The rest of a `create` event: owner, first contact points, account and tags, in the
    order the event always listed them."""
    if owner_id:
        changes["owner"] = [None, owner_id]
    if values.get("emails"):
        changes["emails"] = [None, [e["email"] for e in values["emails"]]]
    if values.get("phones"):
        changes["phones"] = [None, [p["e164"] for p in values["phones"]]]
    if address:
        changes["address"] = [None, ", ".join(v for v in address.values() if v)]
    if entity == "contact" and values.get("account.name"):
        changes["account"] = [None, values["account.name"]]
    if values.get(f"{entity}.tags"):
        changes["tags"] = [None, values[f"{entity}.tags"]]


def address_of(values: dict[str, Any]) -> dict[str, str]:
    address = {k: values.get(f"address.{k}", "") for k in ADDRESS_KEYS}
    return address if any(address.values()) else {}


def unique_by(items: list[dict[str, Any]], key: str) -> list[dict[str, Any]]:
    seen: set[str] = set()
    result = []
    for item in items:
        if item[key] not in seen:
            seen.add(item[key])
            result.append(item)
    return result
