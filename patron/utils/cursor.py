"""Keyset (cursor) pagination: stable and fast at any depth, unlike OFFSET on 1M rows.

A cursor is an opaque url-safe token holding the ordering values of the last row seen.
Every ordering ends with the primary key so that positions are unique.
"""

from __future__ import annotations

import base64
import datetime
import json
from dataclasses import dataclass
from typing import Any

from django.core.exceptions import ValidationError
from django.db.models import Q, QuerySet


@dataclass
class Page:
    items: list[Any]
    next_cursor: str | None
    previous_cursor: str | None


def _encode(values: list[Any], direction: str) -> str:
    payload = json.dumps({"v": [_dump(v) for v in values], "d": direction}, separators=(",", ":"))
    return base64.urlsafe_b64encode(payload.encode()).decode().rstrip("=")


def _dump(value: Any) -> Any:
    if isinstance(value, datetime.datetime):
        return {"dt": value.isoformat()}
    if isinstance(value, datetime.date):
        return {"d": value.isoformat()}
    return value


def _load(value: Any) -> Any:
    if isinstance(value, dict) and "dt" in value:
        return datetime.datetime.fromisoformat(value["dt"])
    if isinstance(value, dict) and "d" in value:
        return datetime.date.fromisoformat(value["d"])
    return value


def _decode(token: str, size: int) -> tuple[list[Any], str]:
    try:
        padded = token + "=" * (-len(token) % 4)
        payload = json.loads(base64.urlsafe_b64decode(padded.encode()).decode())
        values = [_load(v) for v in payload["v"]]
        direction = payload["d"]
    except (ValueError, KeyError, TypeError, UnicodeDecodeError):
        raise ValidationError(
            {"cursor": ["This cursor is not valid; start from the first page."]}
        ) from None
    if len(values) != size or direction not in ("next", "prev"):
        raise ValidationError({"cursor": ["This cursor belongs to another ordering."]})
    return values, direction


def _after(fields: list[str], values: list[Any]) -> Q:
    """Rows strictly after `values` in the order given by `fields` ("-x" means descending)."""
    condition = Q()
    for i, field in enumerate(fields):
        name = field.lstrip("-")
        op = "lt" if field.startswith("-") else "gt"
        step = Q(**{f"{name}__{op}": values[i]})
        for prev_field, prev_value in zip(fields[:i], values[:i], strict=True):
            step &= Q(**{prev_field.lstrip("-"): prev_value})
        condition |= step
    return condition


def _reverse(fields: list[str]) -> list[str]:
    return [f[1:] if f.startswith("-") else f"-{f}" for f in fields]


def paginate(queryset: QuerySet, *, ordering: list[str], cursor: str | None, limit: int) -> Page:
    """One page of `queryset` ordered by `ordering` (which must end with "id" or "-id"). The
    rows are models, or dicts (`.values()`) holding every column of `ordering`."""
    if not ordering or ordering[-1].lstrip("-") not in ("id", "pk"):
        raise ValueError("ordering must end with the primary key")
    names = [f.lstrip("-") for f in ordering]
    direction = "next"
    if cursor:
        values, direction = _decode(cursor, len(ordering))
        if direction == "next":
            queryset = queryset.filter(_after(ordering, values))
        else:
            queryset = queryset.filter(_after(_reverse(ordering), values))
    order = ordering if direction == "next" else _reverse(ordering)
    rows = list(queryset.order_by(*order)[: limit + 1])
    has_more = len(rows) > limit
    rows = rows[:limit]
    if direction == "prev":
        rows.reverse()
    if not rows:
        return Page(items=[], next_cursor=None, previous_cursor=None)

    def key(obj: Any) -> list[Any]:
        if isinstance(obj, dict):  # rows of `.values()`
            return [obj[n] for n in names]
        return [getattr(obj, n) for n in names]

    more_after = has_more if direction == "next" else True
    more_before = bool(cursor) if direction == "next" else has_more
    return Page(
        items=rows,
        next_cursor=_encode(key(rows[-1]), "next") if more_after else None,
        previous_cursor=_encode(key(rows[0]), "prev") if more_before else None,
    )


def first_page(rows: list[Any], *, ordering: list[str], limit: int) -> Page:
    """The first page from rows already read in `ordering` (at most `limit + 1` of them), as
    `paginate` with no cursor would give it: for callers with a fixed statement of their own."""
    names = [f.lstrip("-") for f in ordering]
    has_more = len(rows) > limit
    rows = rows[:limit]
    if not rows:
        return Page(items=[], next_cursor=None, previous_cursor=None)
    last = rows[-1]
    return Page(
        items=rows,
        next_cursor=_encode([getattr(last, n) for n in names], "next") if has_more else None,
        previous_cursor=None,
    )
