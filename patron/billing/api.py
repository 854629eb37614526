"""Billing API: invoices (list, detail, draft create/update/delete, issue, void, credit notes,
PDF), payments (record, reverse) and each account's or contact's economics. Parse, call the
selectors and services, shape — nothing else."""

from typing import Any, Literal

from django.core.exceptions import ValidationError
from django.http import HttpRequest, HttpResponse
from ninja import Field, Query, Router, Status

from patron.core.idempotency import idempotent
from patron.core.models import User
from patron.core.permissions import require
from patron.core.schemas import ERRORS, WRITE_ERRORS, PageParams
from patron.customers import selectors as customer_selectors
from patron.customers.models import Contact
from patron.utils.cursor import paginate

from . import documents, selectors, services
from .filters import INVOICE_ORDERINGS, InvoiceFilterSet
from .models import Invoice, InvoiceLine
from .schemas import (
    CreditNoteIn,
    EconomicsOut,
    FromOrderIn,
    InvoiceIn,
    InvoiceOut,
    InvoicePage,
    InvoicePatch,
    IssueIn,
    PaymentIn,
    PaymentOut,
    ReasonIn,
)

router = Router()

REFERENCES = {"account_id": "account", "contact_id": "contact", "order_id": "order"}
LIST_PARAMETERS = ("ordering", "cursor", "limit")
PDF_RESPONSE = {
    "responses": {"200": {"content": {"application/pdf": {"schema": {"type": "string"}}}}}
}


def _actor(request: HttpRequest) -> User:
    return request.auth  # type: ignore[attr-defined,return-value]


def _resolve(user: User, data: dict[str, Any]) -> dict[str, Any]:
    """Ids to records; an unknown id or a record the caller may not see is a 400 on its field."""
    sources = {
        "account_id": (customer_selectors.account_visible(user=user), "account"),
        "contact_id": (Contact.objects.restrict(user, "view"), "contact"),
    }
    result: dict[str, Any] = {}
    errors: dict[str, list[str]] = {}
    for name, value in data.items():
        if name not in sources:
            result[name] = value
            continue
        queryset, label = sources[name]
        record = None if value is None else queryset.filter(pk=value).first()
        if value is not None and record is None:
            errors[name] = [f"There is no {label} with id {value}."]
        result[REFERENCES[name]] = record
    if errors:
        raise ValidationError(errors)
    return result


def _rename_errors(exc: ValidationError) -> ValidationError:
    """Service errors under the names the client sent (`account` -> `account_id`)."""
    if not hasattr(exc, "error_dict"):
        return exc
    back = {field: given for given, field in REFERENCES.items()}
    return ValidationError({back.get(k, k): v for k, v in exc.error_dict.items()})


def _detail(user: User, pk: int) -> Invoice:
    return selectors.invoice_get(user=user, pk=pk)


class InvoiceListParams(PageParams):
    status: Invoice.Status | None = None
    kind: Invoice.Kind | None = None
    overdue: bool | None = Field(None, description="Only overdue (true) or only not (false).")
    account: int | None = Field(None, ge=1, le=2**63 - 1)
    contact: int | None = Field(None, ge=1, le=2**63 - 1)
    issued_after: str | None = Field(None, description="Issued on or after (YYYY-MM-DD).")
    issued_before: str | None = Field(None, description="Issued on or before (YYYY-MM-DD).")
    q: str | None = Field(None, max_length=100, description="Part of the number or account name.")
    ordering: Literal[tuple(INVOICE_ORDERINGS)] = Field(  # type: ignore[valid-type]
        "-created", description="Sort order."
    )


@router.get(
    "/invoices",
    response={200: InvoicePage, **ERRORS},
    tags=["Invoices"],
    description="Invoices and credit notes of the accounts you may see, filtered, one page at "
    "a time.",
)
def invoice_list(request: HttpRequest, params: Query[InvoiceListParams]):
    user = _actor(request)
    require(user, "invoice.view")
    filterset = InvoiceFilterSet(request.GET, queryset=selectors.invoice_visible(user=user))
    unknown = sorted(set(request.GET) - set(filterset.filters) - set(LIST_PARAMETERS))
    if unknown:
        raise ValidationError({name: ["Unknown parameter."] for name in unknown})
    queryset = selectors.invoices_for_list(filterset.filtered())
    page = paginate(
        queryset,
        ordering=INVOICE_ORDERINGS[params.ordering],
        cursor=params.cursor,
        limit=params.limit,
    )
    return {
        "results": page.items,
        "next_cursor": page.next_cursor,
        "previous_cursor": page.previous_cursor,
    }


@router.post("/invoices", response={201: InvoiceOut, **ERRORS}, tags=["Invoices"])
@idempotent
def invoice_create(request: HttpRequest, payload: InvoiceIn):
    """Create a draft invoice with its lines (needs `invoice.add`). It has no number until it
    is issued; the currency is the organisation's unless given."""
    user = _actor(request)
    data = payload.model_dump(exclude_unset=True)
    lines = data.pop("lines", [])
    if data.get("currency") is None:
        data.pop("currency", None)
    try:
        invoice = services.invoice_create(actor=user, data=_resolve(user, data), lines=lines)
    except ValidationError as exc:
        raise _rename_errors(exc) from None
    return Status(201, _detail(user, invoice.pk))


@router.post("/invoices/from-order", response={201: InvoiceOut, **ERRORS}, tags=["Invoices"])
@idempotent
def invoice_from_order(request: HttpRequest, payload: FromOrderIn):
    """A draft invoice copying a confirmed or fulfilled order (its lines with their unit-cost
    snapshots); the order is marked invoiced in the same transaction."""
    user = _actor(request)
    order = selectors.order_visible(user=user).filter(pk=payload.order_id).first()
    if order is None:
        raise ValidationError({"order_id": [f"There is no order with id {payload.order_id}."]})
    try:
        invoice = services.invoice_from_order(actor=user, order=order)
    except ValidationError as exc:
        raise _rename_errors(exc) from None
    return Status(201, _detail(user, invoice.pk))


@router.get("/invoices/{invoice_id}", response={200: InvoiceOut, **ERRORS}, tags=["Invoices"])
def invoice_detail(request: HttpRequest, invoice_id: int):
    return _detail(_actor(request), invoice_id)


@router.patch(
    "/invoices/{invoice_id}", response={200: InvoiceOut, **WRITE_ERRORS}, tags=["Invoices"]
)
def invoice_update(request: HttpRequest, invoice_id: int, payload: InvoicePatch):
    """Change a draft; `lines`, when sent, replace all its lines. Send the `version` you read
    (a stale one answers 409). An issued invoice is refused (400): credit it instead."""
    user = _actor(request)
    invoice = selectors.invoice_get(user=user, pk=invoice_id)
    data = payload.model_dump(exclude_unset=True, exclude={"version"})
    lines = data.pop("lines", None)
    for name in ("account_id", "currency", "payment_terms_days", "discount_percent", "notes"):
        if name in data and data[name] is None:
            raise ValidationError({name: ["This field may not be null."]})
    if "lines" in payload.model_fields_set and lines is None:
        raise ValidationError({"lines": ["This field may not be null."]})
    try:
        services.invoice_update(
            actor=user,
            invoice=invoice,
            expected_version=payload.version,
            data=_resolve(user, data),
            lines=lines,
        )
    except ValidationError as exc:
        raise _rename_errors(exc) from None
    return _detail(user, invoice_id)


@router.delete("/invoices/{invoice_id}", response={204: None, **ERRORS}, tags=["Invoices"])
def invoice_delete(request: HttpRequest, invoice_id: int):
    """Delete a draft. Issued documents keep their number and are voided instead."""
    user = _actor(request)
    services.invoice_delete(actor=user, invoice=selectors.invoice_get(user=user, pk=invoice_id))
    return Status(204, None)


@router.post(
    "/invoices/{invoice_id}/issue", response={200: InvoiceOut, **WRITE_ERRORS}, tags=["Invoices"]
)
def invoice_issue(request: HttpRequest, invoice_id: int, payload: IssueIn):
    """Issue a draft: it takes the next number of its series (no gaps), its issue date and due
    date, and cannot change afterwards."""
    user = _actor(request)
    invoice = selectors.invoice_get(user=user, pk=invoice_id)
    services.invoice_issue(
        actor=user,
        invoice=invoice,
        expected_version=payload.version,
        issue_date=payload.issue_date,
    )
    return _detail(user, invoice_id)


@router.post("/invoices/{invoice_id}/void", response={200: InvoiceOut, **ERRORS}, tags=["Invoices"])
def invoice_void(request: HttpRequest, invoice_id: int, payload: ReasonIn):
    """Void an issued invoice without payments: a credit note for what was not yet credited is
    issued and the invoice owes nothing more. It keeps its number."""
    user = _actor(request)
    invoice = selectors.invoice_get(user=user, pk=invoice_id)
    services.invoice_void(actor=user, invoice=invoice, reason=payload.reason)
    return _detail(user, invoice_id)


@router.post(
    "/invoices/{invoice_id}/credit-notes",
    response={201: InvoiceOut, **ERRORS},
    tags=["Invoices"],
)
@idempotent
def credit_note_create(request: HttpRequest, invoice_id: int, payload: CreditNoteIn):
    """Issue a credit note against an issued invoice: every line not yet credited, or the
    `lines` given (`line_id` of the invoice's line and the quantity to give back)."""
    user = _actor(request)
    invoice = selectors.invoice_get(user=user, pk=invoice_id)
    lines = None
    if payload.lines is not None:
        by_id = {line.pk: line for line in InvoiceLine.objects.filter(invoice=invoice)}
        lines = [
            {"line": by_id.get(item.line_id), "quantity": item.quantity} for item in payload.lines
        ]
    note = services.credit_note_create(
        actor=user, invoice=invoice, reason=payload.reason, lines=lines
    )
    return Status(201, _detail(user, note.pk))


@router.get(
    "/invoices/{invoice_id}/pdf",
    response={200: None, **ERRORS},
    tags=["Invoices"],
    openapi_extra=PDF_RESPONSE,
)
def invoice_pdf(request: HttpRequest, invoice_id: int):
    """The invoice or credit note as a PDF."""
    invoice = selectors.invoice_get(user=_actor(request), pk=invoice_id)
    response = HttpResponse(documents.invoice_pdf(invoice), content_type="application/pdf")
    response["Content-Disposition"] = f'inline; filename="{documents.pdf_filename(invoice)}"'
    return response


@router.post(
    "/invoices/{invoice_id}/payments", response={201: PaymentOut, **ERRORS}, tags=["Payments"]
)
@idempotent
def payment_create(request: HttpRequest, invoice_id: int, payload: PaymentIn):
    """Record money received against an issued invoice (needs `payment.add`). More than the
    balance is refused."""
    user = _actor(request)
    invoice = selectors.invoice_get(user=user, pk=invoice_id)
    payment = services.payment_record(actor=user, invoice=invoice, data=payload.model_dump())
    return Status(201, selectors.payment_get(user=user, pk=payment.pk))


@router.post(
    "/payments/{payment_id}/reverse", response={200: PaymentOut, **ERRORS}, tags=["Payments"]
)
def payment_reverse(request: HttpRequest, payment_id: int, payload: ReasonIn):
    """Reverse a payment (a bounced transfer): it stays on record and the invoice owes its
    amount again."""
    user = _actor(request)
    payment = selectors.payment_get(user=user, pk=payment_id)
    services.payment_reverse(actor=user, payment=payment, reason=payload.reason)
    return selectors.payment_get(user=user, pk=payment_id)


def _economics_out(economics: selectors.Economics) -> dict[str, Any]:
    def figures(f: selectors.Figures) -> dict[str, Any]:
        return {
            "revenue": f.revenue,
            "cogs": f.cogs,
            "cost_to_serve": f.cost_to_serve,
            "margin": f.margin,
        }

    return {
        "currency": economics.currency,
        "lifetime": figures(economics.lifetime),
        "months": [{"month": m.month, **figures(m)} for m in economics.months],
        "call_seconds": economics.call_seconds,
        "meeting_minutes": economics.meeting_minutes,
        "rates": economics.rates,
        "documents": economics.documents,
        "other_currency_documents": economics.other_currency_documents,
        "open_balance": economics.open_balance,
        "overdue_balance": economics.overdue_balance,
        "overdue_count": economics.overdue_count,
    }


@router.get(
    "/accounts/{account_id}/economics",
    response={200: EconomicsOut, **ERRORS},
    tags=["Invoices"],
)
def account_economics(request: HttpRequest, account_id: int):
    """Revenue (issued invoices net, less credit notes), cost of goods, cost to serve (calls and
    meetings on the account and its people, at the hourly rates) and margin: lifetime and over
    the last 12 months, in the organisation's currency."""
    user = _actor(request)
    require(user, "invoice.view")
    account = customer_selectors.account_visible(user=user).get(pk=account_id)
    return _economics_out(selectors.economics_for_account(user=user, account=account))


@router.get(
    "/contacts/{contact_id}/economics",
    response={200: EconomicsOut, **ERRORS},
    tags=["Invoices"],
)
def contact_economics(request: HttpRequest, contact_id: int):
    """The same for one person: the documents addressed to them and the calls and meetings
    logged on them."""
    user = _actor(request)
    require(user, "invoice.view")
    contact = Contact.objects.restrict(user, "view").get(pk=contact_id)
    return _economics_out(selectors.economics_for_contact(user=user, contact=contact))
