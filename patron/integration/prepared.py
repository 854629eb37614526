"""A row made ready for writing: mapped, normalised and judged usable or not.

Everything here is pure Python over one row (no database), so it can run in worker
processes while the main process writes earlier batches (see `workers.py`).
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from typing import Any, cast

from patron.customers import search

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

    `document` is the search document a new record made from the row would get; worker
    processes fill it in ahead (it parses every phone again), the writer otherwise."""

    line: int
    key: str
    payload: dict[str, Any]
    values: dict[str, Any]
    problems: list[dict[str, str]]
    content_hash: str
    document: str | None = None


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


def with_document(item: Prepared | BadRow, entity: str) -> Prepared | BadRow:
    if isinstance(item, Prepared) and item.document is None:
        item.document = new_record_document(entity, item.values)
    return item


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
