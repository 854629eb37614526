"""Search over contacts and accounts: name, email, phone (any format typed), account name.

Each record carries a `search_document`: folded names, emails and phone digits in every
form a user may type. PostgreSQL finds substrings in it with a trigram GIN index; SQLite with
an FTS5 table using the trigram tokenizer, kept in step by triggers (migration 0002). The
services rebuild a record's document whenever one of its parts changes.
"""

from __future__ import annotations

import re
from collections.abc import Iterable

from django.db import connection
from django.db.models import Q, QuerySet, Value
from django.db.models.expressions import RawSQL
from django.db.models.functions import StrIndex
from django.db.models.lookups import GreaterThan

from patron.utils import phones
from patron.utils.text import digits, fold

from .models import Account, Contact

_PHONE_LIKE = re.compile(r"^[\d\s()+\-./]+$")
MIN_TRIGRAM = 3
# A long term (a whole email address) has dozens of trigrams, some in nearly every row
# ("exa", "com"): reading all their posting lists in the GIN index took 50 ms on 1M contacts.
# On PostgreSQL the index looks for the term's first characters only and the whole term is
# checked on the few rows found (strpos is not indexable, so it stays a filter).
INDEXED_PREFIX = 16
FTS_TABLES = {Contact: "customers_contact_fts", Account: "customers_account_fts"}


def contact_document(
    contact: Contact, emails: Iterable[str], phone_pairs: Iterable[tuple[str, str]]
) -> str:
    parts = [
        contact.prefix,
        contact.first_name,
        contact.middle_name,
        contact.last_name,
        contact.suffix,
    ]
    return _document(parts, emails, phone_pairs)


def account_document(
    account: Account, emails: Iterable[str], phone_pairs: Iterable[tuple[str, str]]
) -> str:
    return _document([account.name, account.domain], emails, phone_pairs)


def _document(
    parts: Iterable[str], emails: Iterable[str], phone_pairs: Iterable[tuple[str, str]]
) -> str:
    tokens = [fold(p) for p in parts if p]
    tokens += [fold(e) for e in emails if e]
    for raw, e164 in phone_pairs:
        tokens += phones.search_variants(raw, e164)
    return " ".join(t for t in tokens if t)


def query_terms(query: str, *, region: str) -> list[list[str]]:
    """What a query asks for: every group must match; within a group any alternative may.

    Words are folded ("Lövelace" -> "lovelace"). A phone number typed in any format becomes
    one group: its digits as typed, and its E.164 digits when it reads as a full number in
    the organisation's default region.
    """
    query = (query or "").strip()
    if not query:
        return []
    if _PHONE_LIKE.match(query) and len(digits(query)) >= 4:
        alternatives = [digits(query)]
        e164 = phones.to_e164(query, region) if len(digits(query)) >= 7 else ""
        if e164:
            alternatives.append(digits(e164))
        return [list(dict.fromkeys(alternatives))]
    return [[t] for t in fold(query).split(" ") if t]


def apply_search(queryset: QuerySet, query: str, *, region: str) -> QuerySet:
    """Filter `queryset` (of contacts or accounts) to records matching every term of `query`."""
    groups = query_terms(query, region=region)
    if not groups:
        return queryset
    model = queryset.model
    if connection.vendor == "sqlite":
        indexed = [g for g in groups if all(len(t) >= MIN_TRIGRAM for t in g)]
        if indexed:
            table = FTS_TABLES[model]
            match = " AND ".join(
                "(" + " OR ".join('"' + t.replace('"', '""') + '"' for t in g) + ")"
                for g in indexed
            )
            queryset = queryset.filter(
                pk__in=RawSQL(f"SELECT rowid FROM {table} WHERE {table} MATCH %s", (match,))  # noqa: S611
            )
        groups = [g for g in groups if g not in indexed]
    for group in groups:
        condition = Q()
        for term in group:
            condition |= _contains(term)
        queryset = queryset.filter(condition)
    return queryset


def _contains(term: str) -> Q:
    if connection.vendor != "postgresql" or len(term) <= INDEXED_PREFIX:
        return Q(search_document__contains=term)
    return Q(search_document__contains=term[:INDEXED_PREFIX]) & Q(
        GreaterThan(StrIndex("search_document", Value(term)), 0)
    )
