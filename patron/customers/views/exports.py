"""Downloads of the contact and account lists — CSV, XLSX, JSON and, for contacts, vCard — and
of one contact's vCard.

An export is exactly the list on screen: the same filters, search, ordering and custom-field
columns, read through `restrict(user, "export")`. A role without the export permission is
refused with a 403 (not handed an empty file). Rows are read with `.iterator(chunk_size)` and
written while the client downloads, so memory stays flat however long the list.

The UI views below and the API endpoints in `customers/api.py` both call `list_download`, so a
file downloaded from either is the same. Exports are not written to the audit trail, which
records changes to records (as the CSV export never was).
"""

from __future__ import annotations

import itertools
from collections.abc import Iterator, Sequence
from typing import Any

from django.contrib.auth.decorators import login_required
from django.core.exceptions import ValidationError
from django.db.models import Prefetch, QuerySet
from django.http import Http404, HttpRequest, HttpResponse, StreamingHttpResponse
from django.utils import timezone
from django.utils.text import slugify
from django.views.decorators.http import require_GET

from patron.core.exceptions import PermissionDeniedError
from patron.core.models import CustomFieldDefinition
from patron.core.permissions import can
from patron.core.web import domain_errors, request_user
from patron.integration.vcard import contact_to_vcard, contacts_to_vcards
from patron.utils.export import (
    FORMATS,
    Column,
    ExportFormat,
    batched_text,
    download,
    table_response,
)

from .. import selectors
from ..models import AccountRelationship, EmailAddress, PhoneNumber, PostalAddress
from .lists import ACCOUNTS, CONTACTS, ListConfig, filtered_records

CHUNK_SIZE = 1000
VCARD = ExportFormat("vcf", "vCard (.vcf)", "text/vcard; charset=utf-8")
EXPORT_FORMATS: dict[str, dict[str, ExportFormat]] = {
    "contact": {**FORMATS, "vcf": VCARD},
    "account": dict(FORMATS),
}


def ensure_may_export(user: Any, object_type: str) -> None:
    """Refuse (403) a role that may not export this kind of record at all."""
    if not can(user, f"{object_type}.export"):
        raise PermissionDeniedError(f"Your role does not allow exporting {object_type}s.")


# --- columns and rows --------------------------------------------------------------------------


def _custom_columns(definitions: Sequence[CustomFieldDefinition]) -> list[Column]:
    return [Column(f"custom_fields.{d.name}", d.label) for d in definitions]


def _custom_values(record: Any, definitions: Sequence[CustomFieldDefinition]) -> list[Any]:
    values = record.custom_fields or {}
    return [values.get(d.name) for d in definitions]


def _list_phone(record: Any) -> str:
    """The primary phone annotated by the list selectors: E.164, else as typed."""
    return record.primary_phone_e164 or record.primary_phone_number or ""


CONTACT_COLUMNS = [
    Column(key, key)
    for key in (
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
    )
]
ACCOUNT_COLUMNS = [
    Column(key, key)
    for key in (
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
    )
]


def _contact_rows(queryset: QuerySet, definitions: Sequence[CustomFieldDefinition]):
    for c in queryset.iterator(chunk_size=CHUNK_SIZE):
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
            [r["account"]["name"] for r in c.account_links],
            c.owner.display_name if c.owner else "",
            c.team.name if c.team else "",
            [t["name"] for t in c.tag_list],
            c.created_at,
            c.updated_at,
            *_custom_values(c, definitions),
        ]


def _account_rows(queryset: QuerySet, definitions: Sequence[CustomFieldDefinition]):
    for a in queryset.iterator(chunk_size=CHUNK_SIZE):
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
            [t["name"] for t in a.tag_list],
            a.created_at,
            a.updated_at,
            *_custom_values(a, definitions),
        ]


def _contacts_with_points(queryset: QuerySet) -> QuerySet:
    """What a vCard shows: every email, phone and address, and the relationships with their
    account, prefetched once per chunk of `.iterator(chunk_size)`."""
    return queryset.prefetch_related(
        Prefetch("emailaddresss", queryset=EmailAddress.objects.order_by("-is_primary", "id")),
        Prefetch("phonenumbers", queryset=PhoneNumber.objects.order_by("-is_primary", "id")),
        Prefetch("postaladdresss", queryset=PostalAddress.objects.order_by("-is_primary", "id")),
        Prefetch(
            "relationships",
            queryset=AccountRelationship.objects.select_related("account").order_by(
                "-is_primary", "id"
            ),
        ),
    )


def _primed[T](items: Iterator[T]) -> Iterator[T]:
    """Read the first item now, while the view can still answer a database error with an
    error page or an API error, instead of cutting a download short."""
    sentinel: Any = object()
    first = next(items, sentinel)
    if first is sentinel:
        return iter(())
    return itertools.chain([first], items)


def list_download(
    *,
    object_type: str,
    fmt: str,
    queryset: QuerySet,
    ordering: list[str],
    definitions: Sequence[CustomFieldDefinition],
) -> StreamingHttpResponse:
    """The download of a filtered list. `queryset` holds the records the user may export
    (`restrict(user, "export")`), filtered; `fmt` is one of `EXPORT_FORMATS[object_type]`."""
    if fmt not in EXPORT_FORMATS[object_type]:
        raise ValueError(f"Unknown export format {fmt!r} for {object_type}s")
    stamp = timezone.now().strftime("%Y%m%d-%H%M")
    name = f"{object_type}s-{stamp}"
    if fmt == "vcf":
        contacts = _contacts_with_points(queryset).order_by(*ordering)
        cards = _primed(contacts_to_vcards(contacts.iterator(chunk_size=CHUNK_SIZE)))
        return download(
            batched_text(cards), filename=f"{name}.vcf", content_type=VCARD.content_type
        )
    if object_type == "contact":
        columns = CONTACT_COLUMNS + _custom_columns(definitions)
        rows = _contact_rows(selectors.contacts_for_list(queryset).order_by(*ordering), definitions)
    else:
        columns = ACCOUNT_COLUMNS + _custom_columns(definitions)
        rows = _account_rows(selectors.accounts_for_list(queryset).order_by(*ordering), definitions)
    title = "Contacts" if object_type == "contact" else "Accounts"
    return table_response(fmt, name=name, columns=columns, rows=_primed(rows), title=title)


# --- views -------------------------------------------------------------------------------------


def _export(
    request: HttpRequest, config: ListConfig, fmt: str
) -> HttpResponse | StreamingHttpResponse:
    if fmt not in EXPORT_FORMATS[config.object_type]:
        raise Http404("No such export format")
    ensure_may_export(request_user(request), config.object_type)
    try:
        queryset, _, ordering, filterset = filtered_records(request, config, "export")
    except ValidationError as exc:
        return HttpResponse(
            "; ".join(f"{k}: {' '.join(v)}" for k, v in exc.message_dict.items()),
            status=400,
            content_type="text/plain; charset=utf-8",
        )
    return list_download(
        object_type=config.object_type,
        fmt=fmt,
        queryset=queryset,
        ordering=ordering,
        definitions=filterset.custom_definitions,
    )


@require_GET
@login_required
@domain_errors
def contact_export(request: HttpRequest, fmt: str) -> HttpResponse | StreamingHttpResponse:
    return _export(request, CONTACTS, fmt)


@require_GET
@login_required
@domain_errors
def account_export(request: HttpRequest, fmt: str) -> HttpResponse | StreamingHttpResponse:
    return _export(request, ACCOUNTS, fmt)


def vcard_filename(contact: Any) -> str:
    return f"{slugify(contact.full_name) or 'contact'}.vcf"


@require_GET
@login_required
@domain_errors
def contact_vcard(request: HttpRequest, pk: int) -> HttpResponse:
    """One contact as a vCard, for the contact page's "Download vCard"."""
    user = request_user(request)
    ensure_may_export(user, "contact")
    contact = selectors.contact_get(user=user, pk=pk, action="export")
    response = HttpResponse(contact_to_vcard(contact), content_type=VCARD.content_type)
    response["Content-Disposition"] = f'attachment; filename="{vcard_filename(contact)}"'
    return response
