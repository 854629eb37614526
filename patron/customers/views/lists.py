"""Contact and account lists: search, filters, sorting, keyset pages and CSV export."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, cast

from django.contrib.auth.decorators import login_required
from django.core.exceptions import ValidationError
from django.db.models import QuerySet
from django.http import HttpRequest, HttpResponse, StreamingHttpResponse
from django.shortcuts import render
from django.utils import timezone
from django.views.decorators.http import require_GET
from django.views.decorators.vary import vary_on_headers

from patron.core import selectors as core_selectors
from patron.core.models import CustomFieldDefinition
from patron.core.web import domain_errors, wants_partial
from patron.utils.cursor import Page, paginate
from patron.utils.export import csv_response

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


def _filtered(
    request: HttpRequest, config: ListConfig, action: str
) -> tuple[QuerySet, str, list[str], Any]:
    """The user's records for `action`, filtered and ordered as the query string asks."""
    filterset = config.filterset(
        request.GET, queryset=config.visible(user=request.user, action=action), request=request
    )
    queryset = filterset.filtered()
    key, ordering = ordering_for(config.orderings, request.GET.get("ordering") or None, "name")
    return queryset, key, ordering, filterset


def _list(request: HttpRequest, config: ListConfig) -> HttpResponse:
    errors: dict[str, list[str]] = {}
    ordering_key = request.GET.get("ordering") or "name"
    definitions: list[CustomFieldDefinition] = []
    try:
        queryset, ordering_key, ordering, filterset = _filtered(request, config, "view")
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


# --- CSV export -----------------------------------------------------------------------------


def _list_phone(record: Any) -> str:
    """The primary phone annotated by the list selectors: E.164, else as typed."""
    return record.primary_phone_e164 or record.primary_phone_number or ""


def _contact_rows(queryset: QuerySet, definitions: list[CustomFieldDefinition]):
    for c in queryset.iterator(chunk_size=1000):
        accounts = [r["account"]["name"] for r in c.account_links]
        yield [
            c.pk,
            c.prefix,
            c.first_name,
            c.middle_name,
            c.last_name,
            c.job_title,
            c.get_lifecycle_stage_display(),
            c.primary_email or "",
            _list_phone(c),
            "; ".join(accounts),
            c.owner.display_name if c.owner else "",
            c.team.name if c.team else "",
            "; ".join(t["name"] for t in c.tag_list),
            c.created_at.isoformat(),
            c.updated_at.isoformat(),
            *[(c.custom_fields or {}).get(d.name) for d in definitions],
        ]


def _account_rows(queryset: QuerySet, definitions: list[CustomFieldDefinition]):
    for a in queryset.iterator(chunk_size=1000):
        yield [
            a.pk,
            a.name,
            a.domain,
            a.industry,
            a.employee_count,
            a.annual_revenue,
            a.get_lifecycle_stage_display(),
            a.primary_email or "",
            _list_phone(a),
            a.parent.name if a.parent else "",
            a.owner.display_name if a.owner else "",
            a.team.name if a.team else "",
            "; ".join(t["name"] for t in a.tag_list),
            a.created_at.isoformat(),
            a.updated_at.isoformat(),
            *[(a.custom_fields or {}).get(d.name) for d in definitions],
        ]


def _export(request: HttpRequest, config: ListConfig) -> HttpResponse | StreamingHttpResponse:
    try:
        queryset, _, ordering, filterset = _filtered(request, config, "export")
    except ValidationError as exc:
        return HttpResponse(
            "; ".join(f"{k}: {' '.join(v)}" for k, v in exc.message_dict.items()),
            status=400,
            content_type="text/plain; charset=utf-8",
        )
    definitions = filterset.custom_definitions
    queryset = config.for_list(queryset).order_by(*ordering)
    stamp = timezone.now().strftime("%Y%m%d-%H%M")
    extra = [d.label for d in definitions]
    if config.object_type == "contact":
        header = [
            "id",
            "prefix",
            "first_name",
            "middle_name",
            "last_name",
            "job_title",
            "lifecycle_stage",
            "email",
            "phone",
            "accounts",
            "owner",
            "team",
            "tags",
            "created_at",
            "updated_at",
            *extra,
        ]
        return csv_response(f"contacts-{stamp}.csv", header, _contact_rows(queryset, definitions))
    header = [
        "id",
        "name",
        "domain",
        "industry",
        "employees",
        "annual_revenue",
        "lifecycle_stage",
        "email",
        "phone",
        "parent",
        "owner",
        "team",
        "tags",
        "created_at",
        "updated_at",
        *extra,
    ]
    return csv_response(f"accounts-{stamp}.csv", header, _account_rows(queryset, definitions))


@require_GET
@login_required
@domain_errors
def contact_export(request: HttpRequest) -> HttpResponse | StreamingHttpResponse:
    return _export(request, CONTACTS)


@require_GET
@login_required
@domain_errors
def account_export(request: HttpRequest) -> HttpResponse | StreamingHttpResponse:
    return _export(request, ACCOUNTS)
