"""Contact and account lists: search, filters, sorting and keyset pages (their downloads are in
`exports.py`)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, cast

from django.contrib.auth.decorators import login_required
from django.core.exceptions import ValidationError
from django.db.models import QuerySet
from django.http import HttpRequest, HttpResponse, QueryDict
from django.shortcuts import render
from django.views.decorators.http import require_GET
from django.views.decorators.vary import vary_on_headers

from patron.core import selectors as core_selectors
from patron.core.models import CustomFieldDefinition
from patron.core.web import wants_partial
from patron.utils.cursor import Page, paginate

from .. import selectors
from ..filters import (
    ACCOUNT_ORDERINGS,
    CONTACT_ORDERINGS,
    AccountFilterSet,
    ContactFilterSet,
    ordering_for,
)
from ..models import LifecycleStage

PAGE_SIZE = 50


@dataclass(frozen=True)
class ListConfig:
    object_type: str
    filterset: type
    orderings: dict[str, list[str]]
    visible: Any
    for_list: Any
    template: str
    results_template: str


CONTACTS = ListConfig(
    "contact",
    ContactFilterSet,
    CONTACT_ORDERINGS,
    selectors.contact_visible,
    selectors.contacts_for_list,
    "customers/contact_list.html",
    "customers/partials/contact_results.html",
)
ACCOUNTS = ListConfig(
    "account",
    AccountFilterSet,
    ACCOUNT_ORDERINGS,
    selectors.account_visible,
    selectors.accounts_for_list,
    "customers/account_list.html",
    "customers/partials/account_results.html",
)


def _given(params: QueryDict) -> QueryDict:
    """The query string without its empty parameters. The filter form submits every field,
    "Any stage" as `lifecycle_stage=`, which means no filter, not a stage named ""."""
    given = QueryDict(mutable=True)
    for key, values in params.lists():
        if kept := [v for v in values if v != ""]:
            given.setlist(key, kept)
    return given


def filtered_records(
    request: HttpRequest, config: ListConfig, action: str
) -> tuple[QuerySet, str, list[str], Any]:
    """The user's records for `action`, filtered and ordered as the query string asks (the
    list on screen and its downloads, so that both show the same records)."""
    filterset = config.filterset(
        _given(request.GET),
        queryset=config.visible(user=request.user, action=action),
        request=request,
    )
    queryset = filterset.filtered()
    key, ordering = ordering_for(config.orderings, request.GET.get("ordering") or None, "name")
    return queryset, key, ordering, filterset


def _list(request: HttpRequest, config: ListConfig) -> HttpResponse:
    errors: dict[str, list[str]] = {}
    ordering_key = request.GET.get("ordering") or "name"
    definitions: list[CustomFieldDefinition] = []
    try:
        queryset, ordering_key, ordering, filterset = filtered_records(request, config, "view")
        definitions = filterset.custom_definitions
        page = paginate(
            config.for_list(queryset),
            ordering=ordering,
            cursor=request.GET.get("cursor") or None,
            limit=PAGE_SIZE,
        )
    except ValidationError as exc:
        errors = exc.message_dict
        page = Page(items=[], next_cursor=None, previous_cursor=None)
        from patron.core.custom_fields import definitions_for

        definitions = definitions_for(config.object_type)
    filtered = any(v for k, v in request.GET.items() if k not in ("ordering", "cursor"))
    context = {
        "page": page,
        "rows": page.items,
        "errors": errors,
        "ordering": ordering_key,
        "columns": [d for d in definitions if d.show_in_list],
        "definitions": definitions,
        "filtered": filtered,
    }
    if wants_partial(request) and cast(Any, request).htmx.target == "list-results":
        return render(request, config.results_template, context)
    context.update(
        stages=LifecycleStage.choices,
        owners=core_selectors.users_for_choice(),
        teams=core_selectors.teams_for_choice(),
        tags=selectors.tag_names(),
        params=request.GET,
        more_filters_open=any(request.GET.get(f"cf_{d.name}") for d in definitions)
        or bool(request.GET.get("team")),
    )
    return render(request, config.template, context)


@require_GET
@login_required
@vary_on_headers("HX-Request", "HX-Target")
def contact_list(request: HttpRequest) -> HttpResponse:
    return _list(request, CONTACTS)


@require_GET
@login_required
@vary_on_headers("HX-Request", "HX-Target")
def account_list(request: HttpRequest) -> HttpResponse:
    return _list(request, ACCOUNTS)
