"""Helpers shared by the commerce pages: cursor pages and their links."""

from __future__ import annotations

from typing import Any

from django.core.exceptions import ValidationError
from django.http import Http404, HttpRequest

from patron.utils.cursor import paginate

PAGE_SIZE = 50


def _page(request: HttpRequest, queryset: Any, ordering: list[str]) -> Any:
    try:
        return paginate(
            queryset, ordering=ordering, cursor=request.GET.get("cursor") or None, limit=PAGE_SIZE
        )
    except (ValidationError, ValueError, TypeError):
        raise Http404("This page link is no longer valid.") from None


def _query_string(request: HttpRequest, **changes: str | None) -> str:
    params = request.GET.copy()
    for key, value in changes.items():
        if value is None:
            params.pop(key, None)
        else:
            params[key] = value
    return params.urlencode()
