"""Every write to billing data. The UI, the API, the daily job and the CLI call these.

Each service checks the actor's permission (an `actor` of None is the system itself), validates
with `full_clean()`, writes, records the audit event and the account's timeline entry, all in one
transaction. Amounts come from `patron.utils.money` (Decimal, half-up to the currency's minor
unit); nothing here rounds on its own.

Numbering is gap-free per series: a number is taken only when a draft is issued, inside the
issuing transaction, with the series row locked (`SELECT ... FOR UPDATE`), so two issues never
get the same number and an issue that fails rolls the series back with it.
"""

from __future__ import annotations

import datetime
from collections.abc import Iterable, Mapping, Sequence
from decimal import Decimal
from typing import Any

from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils import timezone

from patron.core import audit
from patron.core.permissions import may, require, require_record
from patron.core.unique import save_unique
from patron.core.versioning import save_versioned
from patron.customers import services as customer_services
from patron.utils import money
from patron.utils.fields import only_known

from .models import CostRate, Invoice, InvoiceLine, InvoiceSeries, Payment
from .selectors import creditable_lines

INVOICE_FIELDS = [
    "kind",
    "series",
    "number",
    "number_display",
    "status",
    "account",
    "contact",
    "credit_of",
    "order",
    "currency",
    "issue_date",
    "payment_terms_days",
    "due_date",
    "discount_percent",
    "notes",
    "reason",
    "net_total",
    "tax_total",
    "gross_total",
    "amount_paid",
    "amount_credited",
    "overdue_since",
]
# What a draft's author sets; the rest follows from issuing, payments and credit notes.
DRAFT_FIELDS = [
    "account",
    "contact",
    "currency",
    "issue_date",
    "payment_terms_days",
    "discount_percent",
    "notes",
]
LINE_FIELDS = [
    "product",
    "sku",
    "description",
    "quantity",
    "unit_price",
    "discount_percent",
    "tax_rate",
    "unit_cost",
]
PAYMENT_FIELDS = ["invoice", "amount", "paid_on", "method", "reference"]
MAX_LINES = 500
ZERO = Decimal("0")

IMMUTABLE = "An issued invoice cannot be changed; issue a credit note to correct it."


# --- helpers -------------------------------------------------------------------------------------


def default_series(kind: str) -> InvoiceSeries:
    """The default series of a kind (invoice or credit_note), else its first."""
    series = (
        InvoiceSeries.objects.filter(kind=kind, is_default=True).first()
        or InvoiceSeries.objects.filter(kind=kind).order_by("id").first()
    )
    if series is None:
        raise ValidationError({"series": [f"No numbering series is configured for {kind}s."]})
    return series


def _actor_name(actor: Any) -> str:
    return str(getattr(actor, "display_name", "") or "")[:200]


def _check_references(actor: Any, invoice: Invoice, data: Mapping[str, Any]) -> None:
    """The account and contact must be records the actor may see."""
    errors: dict[str, list[str]] = {}
    if actor is not None:
        account = data.get("account")
        if account is not None and not may(actor, account, "view"):
            errors["account"] = ["There is no such account."]
        contact = data.get("contact")
        if contact is not None and not may(actor, contact, "view"):
            errors["contact"] = ["There is no such contact."]
    if errors:
        raise ValidationError(errors)


def _line_amounts(line: InvoiceLine, currency: str) -> money.LineAmounts:
    try:
        return money.LineAmounts(
            quantity=line.quantity,
            unit_price=line.unit_price,
            currency=currency,
            discount_percent=line.discount_percent,
            tax_rate=line.tax_rate,
        )
    except (TypeError, ValueError) as exc:
        raise ValidationError({"lines": [str(exc)]}) from None


def _build_lines(invoice: Invoice, raw_lines: Sequence[Mapping[str, Any]]) -> list[InvoiceLine]:
    """Validated, unsaved lines with their amounts; errors name the line (`lines.2.quantity`)."""
    if len(raw_lines) > MAX_LINES:
        raise ValidationError({"lines": [f"An invoice has at most {MAX_LINES} lines."]})
    lines: list[InvoiceLine] = []
    errors: dict[str, list[str]] = {}
    for position, raw in enumerate(raw_lines):
        unknown = sorted(set(raw) - set(LINE_FIELDS) - {"credited_line"})
        for name in unknown:
            errors[f"lines.{position}.{name}"] = ["Unknown field."]
        values = {k: v for k, v in raw.items() if k in LINE_FIELDS or k == "credited_line"}
        line = InvoiceLine(invoice=invoice, position=position, **values)
        if line.product is not None:
            # Snapshots of the product as invoiced: later catalogue changes do not move them.
            line.sku = line.sku or line.product.sku
            if "unit_cost" not in values:
                line.unit_cost = line.product.unit_cost
        if line.quantity is not None and line.quantity == 0:
            errors[f"lines.{position}.quantity"] = ["The quantity may not be zero."]
        elif line.quantity is not None and line.quantity < 0 and not invoice.is_credit_note:
            errors[f"lines.{position}.quantity"] = [
                "The quantity may not be negative; give money back with a credit note."
            ]
        try:
            line.full_clean(exclude=["invoice"])
        except ValidationError as exc:
            for name, messages in exc.message_dict.items():
                errors.setdefault(f"lines.{position}.{name}", []).extend(messages)
            continue
        amounts = _line_amounts(line, invoice.currency)
        line.net_amount = amounts.net
        line.tax_amount = amounts.tax
        line.gross_amount = amounts.gross
        line.cost_amount = money.quantize(line.quantity * line.unit_cost, invoice.currency)
        lines.append(line)
    if errors:
        raise ValidationError(errors)
    return lines


def _set_totals(invoice: Invoice, lines: Iterable[InvoiceLine]) -> None:
    try:
        totals = money.DocumentTotals.of(
            [_line_amounts(line, invoice.currency) for line in lines],
            currency=invoice.currency,
            discount_percent=invoice.discount_percent,
        )
    except (TypeError, ValueError) as exc:
        raise ValidationError({"discount_percent": [str(exc)]}) from None
    invoice.net_total = totals.net
    invoice.tax_total = totals.tax
    invoice.gross_total = totals.gross


def _replace_lines(invoice: Invoice, lines: list[InvoiceLine]) -> None:
    invoice.lines.all().delete()
    InvoiceLine.objects.bulk_create(lines)


def _lock(invoice: Invoice) -> Invoice:
    """The invoice re-read under a row lock: status and amounts as committed, and nobody else
    changes them until this transaction ends."""
    return Invoice.objects.select_for_update().get(pk=invoice.pk)


def _settle_status(invoice: Invoice) -> None:
    """Status from the amounts: paid, partially paid, fully credited (void) or issued."""
    if invoice.is_credit_note or invoice.status in (Invoice.Status.DRAFT,):
        return
    if invoice.amount_paid > 0:
        invoice.status = (
            Invoice.Status.PAID if invoice.balance <= 0 else Invoice.Status.PARTIALLY_PAID
        )
    elif invoice.amount_credited > 0 and invoice.balance <= 0:
        invoice.status = Invoice.Status.VOID
        invoice.voided_at = invoice.voided_at or timezone.now()
    else:
        invoice.status = Invoice.Status.ISSUED


def _timeline(
    *, actor: Any, invoice: Invoice, event: str, subject: str, amount: Decimal | None = None
) -> None:
    """The fact on the account's (and the invoice's contact's) timeline, written as the system:
    the invoice's own permission was checked, and the entry is Patron's record of it."""
    customer_services.timeline_entry_create(
        actor=None,
        kind="invoice",
        account=invoice.account,
        contact=invoice.contact,
        subject=subject[:300],
        data={
            "invoice_id": invoice.pk,
            "event": event,
            "number": invoice.number_display,
            "amount": str(invoice.gross_total if amount is None else amount),
            "currency": invoice.currency,
            "by": _actor_name(actor),
        },
        related=invoice,
        user_facing=False,
    )


def _refuse_unless_draft(invoice: Invoice) -> None:
    if not invoice.is_draft:
        raise ValidationError({"status": [IMMUTABLE]})


# --- drafts --------------------------------------------------------------------------------------


@transaction.atomic
def invoice_create(
    *, actor: Any, data: Mapping[str, Any], lines: Sequence[Mapping[str, Any]] = ()
) -> Invoice:
    """A draft invoice with its lines. Numbering waits for `invoice_issue`."""
    require(actor, "invoice.add")
    data = only_known(data, DRAFT_FIELDS)
    if data.get("account") is None:
        raise ValidationError({"account": ["Choose the account to invoice."]})
    invoice = Invoice(
        kind=Invoice.Kind.INVOICE,
        series=default_series(InvoiceSeries.Kind.INVOICE),
        created_by=actor if getattr(actor, "pk", None) else None,
        **data,
    )
    invoice.currency = (invoice.currency or "").strip().upper()
    _check_references(actor, invoice, data)
    built = _build_lines(invoice, lines)
    _set_totals(invoice, built)
    invoice.full_clean()
    invoice.save()
    for line in built:
        line.invoice = invoice
    InvoiceLine.objects.bulk_create(built)
    audit.record_create(actor=actor, obj=invoice, fields=INVOICE_FIELDS)
    return invoice


@transaction.atomic
def invoice_update(
    *,
    actor: Any,
    invoice: Invoice,
    expected_version: int | None,
    data: Mapping[str, Any],
    lines: Sequence[Mapping[str, Any]] | None = None,
) -> Invoice:
    """Change a draft (and, when `lines` is given, replace its lines). Issued invoices are
    immutable: the refusal leaves them untouched."""
    require_record(actor, invoice, "change")
    data = only_known(data, DRAFT_FIELDS)
    invoice = _lock(invoice)
    _refuse_unless_draft(invoice)
    before = audit.snapshot(invoice, INVOICE_FIELDS)
    for name, value in data.items():
        if name == "currency" and isinstance(value, str):
            value = value.strip().upper()
        setattr(invoice, name, value)
    _check_references(actor, invoice, data)
    recompute = lines is not None or "currency" in data or "discount_percent" in data
    if recompute:
        built = (
            _build_lines(invoice, lines)
            if lines is not None
            else _build_lines(invoice, [_line_input(line) for line in invoice.lines.all()])
        )
        _set_totals(invoice, built)
    invoice.full_clean()
    fields = [*data, "net_total", "tax_total", "gross_total"]
    save_versioned(invoice, expected_version=expected_version, fields=fields)
    if recompute:
        _replace_lines(invoice, built)
    changes = audit.diff(before, audit.snapshot(invoice, INVOICE_FIELDS))
    if lines is not None:
        changes["lines"] = [None, len(built)]
    if changes:
        audit.record(actor=actor, action="update", obj=invoice, changes=changes)
    return invoice


def _line_input(line: InvoiceLine) -> dict[str, Any]:
    return {name: getattr(line, name) for name in LINE_FIELDS}


@transaction.atomic
def invoice_delete(*, actor: Any, invoice: Invoice) -> None:
    """Delete a draft. An issued document has a number and is never deleted (no gaps)."""
    require_record(actor, invoice, "delete")
    invoice = _lock(invoice)
    if not invoice.is_draft:
        raise ValidationError(
            {"status": ["An issued invoice keeps its number and cannot be deleted; void it."]}
        )
    if invoice.order_id is not None:
        raise ValidationError(
            {"order": ["This draft bills an order, which is marked invoiced: issue it instead."]}
        )
    audit.record_delete(actor=actor, obj=invoice, fields=INVOICE_FIELDS)
    invoice.delete()


ORDER_INVOICEABLE = ("confirmed", "fulfilled")


@transaction.atomic
def invoice_from_order(*, actor: Any, order: Any) -> Invoice:
    """A draft invoice copying a confirmed or fulfilled order (customer, currency, discount,
    lines with their unit-cost snapshots); the order is marked invoiced through commerce's
    service, in the same transaction, so an order is invoiced once."""
    from patron.commerce import documents as commerce_documents
    from patron.commerce.models import Order

    require(actor, "invoice.add")
    require_record(actor, order, "view")
    order = Order.objects.select_for_update().get(pk=order.pk)
    if order.status not in ORDER_INVOICEABLE:
        raise ValidationError(
            {
                "order": [
                    f"Only a confirmed or fulfilled order is invoiced; this one is {order.status}."
                ]
            }
        )
    if Invoice.objects.filter(order=order).exclude(status=Invoice.Status.VOID).exists():
        raise ValidationError({"order": ["This order has already been invoiced."]})
    reference = f"Order {order.number}"
    if order.external_reference:
        reference += f", your reference {order.external_reference}"
    invoice = Invoice(
        kind=Invoice.Kind.INVOICE,
        series=default_series(InvoiceSeries.Kind.INVOICE),
        account=order.account,
        contact=order.contact,
        order=order,
        currency=order.currency,
        discount_percent=order.discount_percent,
        notes=reference,
        created_by=actor if getattr(actor, "pk", None) else None,
    )
    built = _build_lines(
        invoice,
        [
            {
                "product": line.product,
                "sku": line.product.sku if line.product is not None else "",
                "description": line.description,
                "quantity": line.quantity,
                "unit_price": line.unit_price,
                "discount_percent": line.discount_percent,
                "tax_rate": line.tax_rate,
                "unit_cost": line.unit_cost if line.unit_cost is not None else ZERO,
            }
            for line in order.lines.select_related("product").order_by("position", "id")
        ],
    )
    if not built:
        raise ValidationError({"order": ["This order has no lines to invoice."]})
    _set_totals(invoice, built)
    invoice.full_clean()
    invoice.save()
    for line in built:
        line.invoice = invoice
    InvoiceLine.objects.bulk_create(built)
    audit.record_create(actor=actor, obj=invoice, fields=INVOICE_FIELDS)
    commerce_documents.order_mark_invoiced(actor=actor, order=order)
    return invoice


def unpaid_total(account: Any, currency: str) -> Decimal:
    """What the account still owes on issued invoices in `currency`: counted by commerce in
    the account's credit exposure beside its open orders."""
    open_invoices = Invoice.objects.filter(
        account=account,
        currency=currency,
        kind=Invoice.Kind.INVOICE,
        status__in=[Invoice.Status.ISSUED, Invoice.Status.PARTIALLY_PAID],
    ).values_list("gross_total", "amount_credited", "amount_paid")
    owed = sum((gross - credited - paid for gross, credited, paid in open_invoices), ZERO)
    return money.quantize(max(owed, ZERO), currency)


# --- issuing -------------------------------------------------------------------------------------


def _take_number(invoice: Invoice, issue_date: datetime.date) -> None:
    """The series' next number, taken under the series row's lock in the caller's transaction."""
    series = InvoiceSeries.objects.select_for_update().get(pk=invoice.series_id)
    invoice.number = series.next_number
    invoice.number_display = series.format_number(series.next_number, issue_date)
    series.next_number += 1
    series.save(update_fields=["next_number"])


def _issue(invoice: Invoice, issue_date: datetime.date | None) -> None:
    """Number and freeze a locked draft (invoice or credit note)."""
    if not invoice.lines.exists():
        raise ValidationError({"lines": ["Add at least one line before issuing."]})
    issue_date = issue_date or invoice.issue_date or timezone.localdate()
    invoice.issue_date = issue_date
    try:
        invoice.due_date = issue_date + datetime.timedelta(days=invoice.payment_terms_days)
    except OverflowError:
        raise ValidationError({"issue_date": ["This date is out of range."]}) from None
    _take_number(invoice, issue_date)
    invoice.status = Invoice.Status.ISSUED
    invoice.issued_at = timezone.now()
    invoice.full_clean()


@transaction.atomic
def invoice_issue(
    *,
    actor: Any,
    invoice: Invoice,
    expected_version: int | None = None,
    issue_date: datetime.date | None = None,
) -> Invoice:
    """Issue a draft: it takes the next number of its series, its issue date (today unless
    given) and its due date (issue date + payment terms), and is frozen from then on."""
    require_record(actor, invoice, "change")
    invoice = _lock(invoice)
    if not invoice.is_draft:
        raise ValidationError({"status": ["This invoice has already been issued."]})
    before = audit.snapshot(invoice, INVOICE_FIELDS)
    _issue(invoice, issue_date)
    save_versioned(
        invoice,
        expected_version=expected_version,
        fields=["number", "number_display", "status", "issue_date", "due_date", "issued_at"],
    )
    changes = audit.diff(before, audit.snapshot(invoice, INVOICE_FIELDS))
    audit.record(actor=actor, action="update", obj=invoice, changes=changes)
    _timeline(
        actor=actor,
        invoice=invoice,
        event="issued",
        subject=f"Invoice {invoice.number_display} issued: "
        f"{money.format_amount(invoice.gross_total, invoice.currency)} {invoice.currency}",
    )
    return invoice


# --- payments ------------------------------------------------------------------------------------


@transaction.atomic
def payment_record(*, actor: Any, invoice: Invoice, data: Mapping[str, Any]) -> Payment:
    """Money received against an issued invoice. More than the balance is refused; the
    invoice becomes partially paid or paid."""
    require(actor, "payment.add")
    require_record(actor, invoice, "view")
    data = only_known(data, [f for f in PAYMENT_FIELDS if f != "invoice"])
    invoice = _lock(invoice)
    if invoice.is_credit_note:
        raise ValidationError({"invoice": ["A credit note is not paid; it is refunded."]})
    if invoice.status in (Invoice.Status.DRAFT, Invoice.Status.VOID):
        raise ValidationError(
            {"invoice": [f"A {invoice.get_status_display().lower()} invoice takes no payments."]}
        )
    payment = Payment(
        invoice=invoice, recorded_by=actor if getattr(actor, "pk", None) else None, **data
    )
    amount = payment.amount
    if amount is not None and not isinstance(amount, Decimal):
        raise ValidationError({"amount": ["Give the amount as a decimal number."]})
    if amount is not None and amount > 0 and amount > invoice.balance:
        owed = money.format_amount(max(invoice.balance, ZERO), invoice.currency)
        raise ValidationError(
            {
                "amount": [
                    f"This is more than the {owed} {invoice.currency} still owed on "
                    f"{invoice.number_display}; overpayments are not recorded."
                ]
            }
        )
    if amount is not None and money.quantize(amount, invoice.currency) != amount:
        raise ValidationError({"amount": [f"{invoice.currency} has no smaller unit than this."]})
    payment.full_clean()
    payment.save()
    before = audit.snapshot(invoice, INVOICE_FIELDS)
    invoice.amount_paid += payment.amount
    _settle_status(invoice)
    save_versioned(invoice, expected_version=None, fields=["amount_paid", "status"])
    audit.record_create(actor=actor, obj=payment, fields=PAYMENT_FIELDS, parent=invoice)
    audit.record(
        actor=actor,
        action="update",
        obj=invoice,
        changes=audit.diff(before, audit.snapshot(invoice, INVOICE_FIELDS)),
    )
    formatted = money.format_amount(payment.amount, invoice.currency)
    _timeline(
        actor=actor,
        invoice=invoice,
        event="payment_received",
        subject=f"Payment of {formatted} {invoice.currency} received for {invoice.number_display}",
        amount=payment.amount,
    )
    return payment


@transaction.atomic
def payment_reverse(*, actor: Any, payment: Payment, reason: str) -> Payment:
    """Undo a payment recorded by mistake (a bounced transfer): it stays, marked reversed, and
    the invoice owes its amount again."""
    require_record(actor, payment, "change")
    reason = (reason or "").strip()
    if not reason:
        raise ValidationError({"reason": ["Say why the payment is reversed."]})
    invoice = _lock(payment.invoice)
    payment = Payment.objects.select_for_update().get(pk=payment.pk)
    if payment.is_reversed:
        raise ValidationError({"payment": ["This payment has already been reversed."]})
    payment.reversed_at = timezone.now()
    payment.reversed_by = actor if getattr(actor, "pk", None) else None
    payment.reversal_reason = reason[:300]
    payment.full_clean()
    payment.save(update_fields=["reversed_at", "reversed_by", "reversal_reason"])
    before = audit.snapshot(invoice, INVOICE_FIELDS)
    invoice.amount_paid -= payment.amount
    _settle_status(invoice)
    save_versioned(invoice, expected_version=None, fields=["amount_paid", "status"])
    audit.record(
        actor=actor,
        action="update",
        obj=payment,
        changes={"reversed_at": [None, payment.reversed_at.isoformat()], "reason": [None, reason]},
        parent=invoice,
    )
    audit.record(
        actor=actor,
        action="update",
        obj=invoice,
        changes=audit.diff(before, audit.snapshot(invoice, INVOICE_FIELDS)),
    )
    formatted = money.format_amount(payment.amount, invoice.currency)
    _timeline(
        actor=actor,
        invoice=invoice,
        event="payment_reversed",
        subject=f"Payment of {formatted} {invoice.currency} reversed on "
        f"{invoice.number_display}: {reason}",
        amount=payment.amount,
    )
    return payment


# --- credit notes and void -----------------------------------------------------------------------


@transaction.atomic
def credit_note_create(
    *,
    actor: Any,
    invoice: Invoice,
    reason: str,
    lines: Sequence[Mapping[str, Any]] | None = None,
    _void: bool = False,
) -> Invoice:
    """Issue a credit note against an issued invoice: a document of the credit-note series
    with negative lines referencing the original's. `lines` is `[{"line": <InvoiceLine>,
    "quantity": Decimal}]` to credit part; left out, everything not yet credited."""
    require(actor, "invoice.add")
    require_record(actor, invoice, "change")
    reason = (reason or "").strip()
    if not reason:
        raise ValidationError({"reason": ["Say why the invoice is credited."]})
    invoice = _lock(invoice)
    if invoice.is_credit_note:
        raise ValidationError({"invoice": ["A credit note cannot itself be credited."]})
    if invoice.status in (Invoice.Status.DRAFT, Invoice.Status.VOID):
        raise ValidationError(
            {"invoice": [f"A {invoice.get_status_display().lower()} invoice cannot be credited."]}
        )
    creditable = creditable_lines(invoice)
    wanted: list[tuple[InvoiceLine, Decimal]] = []
    if lines is None:
        wanted = [(line, left) for line, left in creditable.values() if left > 0]
    else:
        errors: dict[str, list[str]] = {}
        for i, item in enumerate(lines):
            line = item.get("line")
            quantity = item.get("quantity")
            if line is None or line.pk not in creditable:
                errors[f"lines.{i}.line_id"] = ["This line is not on the invoice."]
                continue
            left = creditable[line.pk][1]
            if not isinstance(quantity, Decimal) or quantity <= 0:
                errors[f"lines.{i}.quantity"] = ["Give a quantity above zero."]
            elif quantity > left:
                errors[f"lines.{i}.quantity"] = [f"Only {left.normalize():f} left to credit."]
            else:
                wanted.append((creditable[line.pk][0], quantity))
        if errors:
            raise ValidationError(errors)
    if not wanted:
        raise ValidationError({"lines": ["Nothing is left to credit on this invoice."]})
    note = Invoice(
        kind=Invoice.Kind.CREDIT_NOTE,
        series=default_series(InvoiceSeries.Kind.CREDIT_NOTE),
        account=invoice.account,
        contact=invoice.contact,
        credit_of=invoice,
        currency=invoice.currency,
        discount_percent=invoice.discount_percent,
        payment_terms_days=0,
        reason=reason[:300],
        created_by=actor if getattr(actor, "pk", None) else None,
    )
    built = _build_lines(
        note,
        [
            {
                "product": line.product,
                "sku": line.sku,
                "description": line.description,
                "quantity": -quantity,
                "unit_price": line.unit_price,
                "discount_percent": line.discount_percent,
                "tax_rate": line.tax_rate,
                "unit_cost": line.unit_cost,
                "credited_line": line,
            }
            for line, quantity in wanted
        ],
    )
    _set_totals(note, built)
    note.full_clean()
    note.save()
    for line in built:
        line.invoice = note
    InvoiceLine.objects.bulk_create(built)
    _issue(note, timezone.localdate())
    note.save()
    audit.record_create(actor=actor, obj=note, fields=INVOICE_FIELDS)
    before = audit.snapshot(invoice, INVOICE_FIELDS)
    invoice.amount_credited += -note.gross_total
    if _void:
        invoice.status = Invoice.Status.VOID
        invoice.voided_at = timezone.now()
        invoice.reason = reason[:300]
    else:
        _settle_status(invoice)
    save_versioned(
        invoice,
        expected_version=None,
        fields=["amount_credited", "status", "voided_at", "reason"],
    )
    audit.record(
        actor=actor,
        action="update",
        obj=invoice,
        changes=audit.diff(before, audit.snapshot(invoice, INVOICE_FIELDS)),
    )
    formatted = money.format_amount(note.gross_total, note.currency)
    _timeline(
        actor=actor,
        invoice=note,
        event="credit_note",
        subject=f"Credit note {note.number_display} for {invoice.number_display}: "
        f"{formatted} {note.currency}",
    )
    if invoice.status == Invoice.Status.VOID:
        _timeline(
            actor=actor,
            invoice=invoice,
            event="voided",
            subject=f"Invoice {invoice.number_display} voided: {reason}",
        )
    return note


@transaction.atomic
def invoice_void(*, actor: Any, invoice: Invoice, reason: str) -> Invoice:
    """Cancel an issued invoice: it keeps its number, a credit note for whatever was not yet
    credited is issued, and it owes nothing more. Reverse its payments first."""
    require_record(actor, invoice, "change")
    locked = _lock(invoice)
    if locked.is_credit_note:
        raise ValidationError({"invoice": ["A credit note cannot be voided."]})
    if locked.is_draft:
        raise ValidationError({"status": ["A draft is deleted, not voided."]})
    if locked.status == Invoice.Status.VOID:
        raise ValidationError({"status": ["This invoice is already void."]})
    if locked.amount_paid > 0:
        raise ValidationError(
            {"status": ["Payments were received on this invoice: reverse them before voiding."]}
        )
    credit_note_create(actor=actor, invoice=locked, reason=reason, _void=True)
    return Invoice.objects.get(pk=locked.pk)


# --- overdue -------------------------------------------------------------------------------------


@transaction.atomic
def invoices_mark_overdue(*, today: datetime.date | None = None) -> list[Invoice]:
    """Run daily by the system: invoices that became overdue since the last run are marked
    (`overdue_since`), audited and put on their account's timeline. Safe to run twice: an
    invoice is marked once."""
    today = today or timezone.localdate()
    candidates = (
        Invoice.objects.select_for_update(of=("self",))
        .filter(
            kind=Invoice.Kind.INVOICE,
            status__in=[Invoice.Status.ISSUED, Invoice.Status.PARTIALLY_PAID],
            due_date__lt=today,
            overdue_since__isnull=True,
        )
        .select_related("account", "contact")
        .order_by("due_date", "id")
    )
    marked = []
    for invoice in candidates:
        if not invoice.is_overdue(today):
            continue
        invoice.overdue_since = today
        invoice.save(update_fields=["overdue_since"])
        audit.record(
            actor=None,
            action="update",
            obj=invoice,
            changes={"overdue_since": [None, today.isoformat()]},
        )
        formatted = money.format_amount(invoice.balance, invoice.currency)
        _timeline(
            actor=None,
            invoice=invoice,
            event="overdue",
            subject=f"Invoice {invoice.number_display} is overdue: "
            f"{formatted} {invoice.currency} unpaid since {invoice.due_date:%d %b %Y}",
            amount=invoice.balance,
        )
        marked.append(invoice)
    return marked


# --- cost rates -----------------------------------------------------------------------------

COST_RATE_FIELDS = ["activity", "hourly_rate", "valid_from"]


def _save_cost_rate(rate: CostRate) -> None:
    rate.updated_at = timezone.now()
    rate.full_clean(validate_unique=False, validate_constraints=False)
    message = {"valid_from": ["This activity already has a rate from this day; change that one."]}
    taken = CostRate.objects.filter(activity=rate.activity, valid_from=rate.valid_from)
    save_unique(rate, taken=taken, error=message)


@transaction.atomic
def cost_rate_create(*, actor: Any, data: Mapping[str, Any]) -> CostRate:
    """What an hour of calls or meetings costs from a day on (earlier time keeps its rate)."""
    require(actor, "invoice.change")
    rate = CostRate(**only_known(data, COST_RATE_FIELDS))
    _save_cost_rate(rate)
    audit.record_create(actor=actor, obj=rate, fields=COST_RATE_FIELDS)
    return rate


@transaction.atomic
def cost_rate_update(*, actor: Any, rate: CostRate, data: Mapping[str, Any]) -> CostRate:
    require(actor, "invoice.change")
    before = audit.snapshot(rate, COST_RATE_FIELDS)
    for name, value in only_known(data, COST_RATE_FIELDS).items():
        setattr(rate, name, value)
    _save_cost_rate(rate)
    changes = audit.diff(before, audit.snapshot(rate, COST_RATE_FIELDS))
    if changes:
        audit.record(actor=actor, action="update", obj=rate, changes=changes)
    return rate


@transaction.atomic
def cost_rate_delete(*, actor: Any, rate: CostRate) -> None:
    """Remove a rate: its time is priced at the rate before it (or the default)."""
    require(actor, "invoice.change")
    audit.record_delete(actor=actor, obj=rate, fields=COST_RATE_FIELDS)
    rate.delete()
