"""Every write to quotes and orders: creation with priced lines, edits while in draft, the
status transitions, and accepting a quote into an order. The UI, the API (including
electronic ordering) and billing call these functions.

Each service checks permissions, validates, writes, audits and puts the fact on the account's
timeline in one transaction. Numbers (Q-2026-00042, SO-2026-00001) are taken from a per-year
sequence under a row lock, inside that transaction.
"""

from __future__ import annotations

import datetime
from collections.abc import Mapping, Sequence
from decimal import Decimal
from typing import Any

from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction
from django.db.models import F
from django.utils import timezone

from patron.core import audit
from patron.core.exceptions import ConflictError
from patron.core.permissions import can, may, require, require_record
from patron.customers import services as customer_services
from patron.utils.fields import only_known
from patron.utils.money import ZERO, DocumentTotals, format_amount

from . import selectors
from .models import (
    CommercialDocument,
    CreditLimit,
    DocumentSequence,
    LineFields,
    Order,
    OrderLine,
    PriceList,
    Product,
    Quote,
    QuoteLine,
)
from .services import LINE_FIELDS, _fill_line

QUOTE_VALIDITY_DAYS = 30
DOCUMENT_FIELDS = [
    "account",
    "contact",
    "price_list",
    "currency",
    "discount_percent",
    "notes",
    "owner",
    "team",
]
QUOTE_FIELDS = [*DOCUMENT_FIELDS, "opportunity", "valid_until", "terms"]
QUOTE_AUDIT_FIELDS = [
    "number",
    *QUOTE_FIELDS,
    "status",
    "net_total",
    "tax_total",
    "gross_total",
    "decline_reason",
]
ORDER_FIELDS = [*DOCUMENT_FIELDS, "external_reference"]
ORDER_AUDIT_FIELDS = [
    "number",
    *ORDER_FIELDS,
    "quote",
    "status",
    "net_total",
    "tax_total",
    "gross_total",
    "cancel_reason",
]
LINE_INPUT_FIELDS = (
    "product",
    "description",
    "quantity",
    "unit_price",
    "expected_unit_price",
    "discount_percent",
    "tax_rate",
)

# Order status -> the statuses it may move to (billing moves confirmed/fulfilled to invoiced).
ORDER_TRANSITIONS: dict[str, tuple[str, ...]] = {
    Order.Status.DRAFT: (Order.Status.CONFIRMED, Order.Status.CANCELLED),
    Order.Status.CONFIRMED: (Order.Status.FULFILLED, Order.Status.INVOICED, Order.Status.CANCELLED),
    Order.Status.FULFILLED: (Order.Status.INVOICED,),
    Order.Status.INVOICED: (),
    Order.Status.CANCELLED: (),
}


# --- numbering -------------------------------------------------------------------------------


def next_number(prefix: str, *, today: datetime.date | None = None, width: int = 5) -> str:
    """The next number of the series `prefix`-`year` ("Q-2026-00042"), taken atomically: the
    sequence row stays locked until the caller's transaction ends, so two concurrent quotes
    never share a number."""
    year = (today or timezone.localdate()).year
    key = f"{prefix}-{year}"
    with transaction.atomic():
        for _ in range(3):
            updated = DocumentSequence.objects.filter(key=key).update(
                last_number=F("last_number") + 1
            )
            if updated:
                break
            try:
                with transaction.atomic():
                    DocumentSequence.objects.create(key=key, last_number=1)
                break
            except IntegrityError:
                continue  # created by a concurrent request: increment it
        number = DocumentSequence.objects.get(key=key).last_number
    return f"{key}-{number:0{width}d}"


# Foreign keys a service sets from records it has already read (and checked with `may`):
# `full_clean` need not query each one again.
RESOLVED_REFERENCES = ["account", "contact", "price_list", "owner", "team", "opportunity", "quote"]


# --- shared helpers --------------------------------------------------------------------------


def _check_references(actor: Any, data: Mapping[str, Any]) -> None:
    """Account, contact and opportunity must be records the actor may see."""
    if actor is None:
        return
    errors: dict[str, list[str]] = {}
    for name, label in (("account", "account"), ("contact", "contact"), ("opportunity", "")):
        record = data.get(name)
        if record is not None and not may(actor, record, "view"):
            errors[name] = [f"There is no such {label or name}."]
    price_list = data.get("price_list")
    if price_list is not None and not may(actor, price_list, "view"):
        errors["price_list"] = ["There is no such price list."]
    if errors:
        raise ValidationError(errors)


def _resolve_price_list(document: CommercialDocument, *, today: datetime.date) -> None:
    """Currency and price list agree; a missing price list is the currency's default."""
    document.currency = (document.currency or "").strip().upper()
    price_list = document.price_list
    if price_list is None:
        document.price_list = selectors.default_price_list(document.currency, today)
        return
    if price_list.currency != document.currency:
        raise ValidationError(
            {
                "price_list": [
                    f"This price list is in {price_list.currency}, the document in "
                    f"{document.currency}."
                ]
            }
        )
    if not price_list.is_valid_on(today):
        raise ValidationError({"price_list": ["This price list is not valid today."]})


def _build_lines(
    model: type[LineFields],
    rows: Sequence[Mapping[str, Any]],
    *,
    currency: str,
    price_list: PriceList | None,
    prices_from_list: bool = False,
) -> list[Any]:
    """Unsaved lines from input rows, every row checked; errors name the row
    (`lines.2.quantity`) so a client can point at it."""
    errors: dict[str, list[str]] = {}
    lines = []
    if not rows:
        raise ValidationError({"lines": ["Add at least one line."]})
    table = selectors.PriceTable(
        price_list, {row["product"].pk for row in rows if row.get("product") is not None}
    )
    for index, row in enumerate(rows):
        where = f"lines.{index}"
        unknown = sorted(set(row) - set(LINE_INPUT_FIELDS))
        if unknown:
            errors.update({f"{where}.{name}": ["Unknown field."] for name in unknown})
            continue
        product: Product | None = row.get("product")
        quantity = row.get("quantity", Decimal(1))
        if product is not None and not product.is_active:
            errors[f"{where}.product"] = [f"{product.sku} is no longer sold."]
            continue
        if product is None and not (row.get("description") or "").strip():
            errors[f"{where}.description"] = ["Choose a product or describe the line."]
            continue
        if quantity is None or quantity <= 0:
            errors[f"{where}.quantity"] = ["The quantity must be more than 0."]
            continue
        unit_price = row.get("unit_price")
        if prices_from_list and product is not None:
            listed = table.price(product, quantity)
            if listed is None:
                name = price_list.name if price_list else "no price list"
                errors[f"{where}.product"] = [f"{product.sku} has no price in {name}."]
                continue
            expected = row.get("expected_unit_price")
            if expected is not None and Decimal(expected) != listed:
                errors[f"{where}.expected_unit_price"] = [
                    f"{product.sku} costs {listed.normalize():f} {currency}, "
                    f"not {Decimal(expected).normalize():f}."
                ]
                continue
            unit_price = listed
        values: dict[str, Any] = {
            "position": index,
            "product": product,
            "description": (row.get("description") or "").strip(),
            "quantity": quantity,
            "unit_price": unit_price,
            "discount_percent": row.get("discount_percent", ZERO),
            "tax_rate": row.get("tax_rate"),
        }
        line = model(**values)
        try:
            _fill_line(line, currency, prices=table.price)
            # The product was read by the caller: no query per line to check it exists.
            line.full_clean(exclude=["quote", "order", "opportunity", "product"])
        except ValidationError as exc:
            if hasattr(exc, "error_dict"):
                for name, messages in exc.message_dict.items():
                    errors[f"{where}.{name}"] = messages
            else:
                errors[where] = exc.messages
            continue
        lines.append(line)
    if errors:
        raise ValidationError(errors)
    return lines


def _apply_totals(document: CommercialDocument, lines: Sequence[LineFields]) -> None:
    try:
        totals = document.totals(list(lines))
    except (ValueError, TypeError) as exc:
        raise ValidationError(str(exc)) from None
    document.net_total = totals.net
    document.tax_total = totals.tax
    document.gross_total = totals.gross


def _save_update(
    actor: Any,
    document: CommercialDocument,
    before: dict[str, Any],
    audit_fields: Sequence[str],
    old_lines: Sequence[Any],
    new_lines: Sequence[Any],
    *,
    replace: bool,
    line_model: type[Any],
) -> None:
    """Save an edited quote or order: totals, a new version, its lines replaced when new ones
    were sent, and one audit event with the changed fields and lines."""
    _apply_totals(document, new_lines)
    document.updated_at = timezone.now()
    document.full_clean()
    document.version += 1
    document.save()
    if replace:
        document.lines.all().delete()  # type: ignore[attr-defined]
        for line in new_lines:
            setattr(line, document._meta.model_name or "", document)
        line_model.objects.bulk_create(new_lines)
    changes = audit.diff(before, audit.snapshot(document, audit_fields))
    if replace and _line_summary(old_lines) != _line_summary(new_lines):
        changes["lines"] = [_line_summary(old_lines), _line_summary(new_lines)]
    if changes:
        audit.record(actor=actor, action="update", obj=document, changes=changes)


def _line_summary(lines: Sequence[LineFields]) -> list[str]:
    return [
        f"{line.description} × {line.quantity.normalize():f} @ {line.unit_price.normalize():f}"
        f" -{line.discount_percent.normalize():f}% tax {line.tax_rate.normalize():f}%"
        for line in lines
    ]


def _owner_defaults(actor: Any, document: CommercialDocument, data: Mapping[str, Any]) -> None:
    if "owner" not in data and getattr(actor, "pk", None):
        document.owner = actor
    if "team" not in data and document.owner is not None:
        document.team_id = document.owner.team_id


def _timeline(
    *, actor: Any, document: Quote | Order, event: str, subject: str, body: str = ""
) -> None:
    """The fact on the account's (and contact's) timeline, written as Patron itself: the
    document's own permission was checked by the service."""
    is_quote = isinstance(document, Quote)
    data = {
        "quote_id" if is_quote else "order_id": document.pk,
        "number": document.number,
        "event": event,
        "status": document.status,
        "total": format_amount(document.gross_total, document.currency),
        "currency": document.currency,
        "by": str(getattr(actor, "display_name", "") or "")[:200],
    }
    customer_services.timeline_entry_create(
        actor=None,
        kind="quote" if is_quote else "order",
        account=document.account,
        contact=document.contact,
        subject=subject[:300],
        body=body,
        data=data,
        related=document,
        user_facing=False,
    )


def _order_subject(order: Order, verb: str) -> str:
    total = format_amount(order.gross_total, order.currency)
    return f"Order {order.number} {verb} · {total} {order.currency}"


# --- quotes ----------------------------------------------------------------------------------


def quote_preview(
    *, actor: Any, data: Mapping[str, Any], lines: Sequence[Mapping[str, Any]]
) -> tuple[list[QuoteLine], DocumentTotals]:
    """The priced lines and totals a quote with this price list, currency, discount and these
    lines would have, computed as `quote_create` does; nothing is saved (the builder's live
    totals)."""
    if actor is not None and not (can(actor, "quote.add") or can(actor, "order.add")):
        require(actor, "quote.add")
    data = only_known(data, ["price_list", "currency", "discount_percent"])
    quote = Quote(**data)
    if "currency" not in data and data.get("price_list") is not None:
        quote.currency = data["price_list"].currency
    _check_references(actor, data)
    _resolve_price_list(quote, today=timezone.localdate())
    built = _build_lines(QuoteLine, lines, currency=quote.currency, price_list=quote.price_list)
    try:
        totals = quote.totals(built)
    except (ValueError, TypeError) as exc:
        raise ValidationError(str(exc)) from None
    return built, totals


@transaction.atomic
def quote_create(
    *,
    actor: Any,
    data: Mapping[str, Any],
    lines: Sequence[Mapping[str, Any]] | None = None,
) -> Quote:
    """Create a draft quote. Without `lines`, a quote for an opportunity copies its product
    lines. Prices default from the price list, tax rates from the products; each line keeps
    the product's unit cost of today."""
    require(actor, "quote.add")
    data = only_known(data, QUOTE_FIELDS)
    today = timezone.localdate()
    quote = Quote(**{k: v for k, v in data.items()})
    if quote.account_id is None:
        raise ValidationError({"account": ["Choose the account the quote is for."]})
    opportunity = data.get("opportunity")
    if opportunity is not None and opportunity.account_id != quote.account_id:
        raise ValidationError({"opportunity": ["This opportunity is with another account."]})
    if "currency" not in data and data.get("price_list") is not None:
        quote.currency = data["price_list"].currency
    elif "currency" not in data and opportunity is not None:
        quote.currency = opportunity.currency
    if opportunity is not None and data.get("contact") is None:
        quote.contact = opportunity.primary_contact
    _check_references(actor, data)
    _resolve_price_list(quote, today=today)
    if quote.valid_until is None:
        quote.valid_until = today + datetime.timedelta(days=QUOTE_VALIDITY_DAYS)
    _owner_defaults(actor, quote, data)
    if lines is None and opportunity is not None:
        lines = [
            {
                "product": p.product,
                "description": p.description,
                "quantity": p.quantity,
                "unit_price": p.unit_price,
                "discount_percent": p.discount_percent,
                "tax_rate": p.tax_rate,
            }
            for p in selectors.opportunity_products(opportunity=opportunity)
        ]
    built = _build_lines(
        QuoteLine, lines or [], currency=quote.currency, price_list=quote.price_list
    )
    _apply_totals(quote, built)
    quote.number = next_number("Q", today=today)
    quote.full_clean(exclude=RESOLVED_REFERENCES)
    quote.save()
    for line in built:
        line.quote = quote
    QuoteLine.objects.bulk_create(built)
    audit.record_create(actor=actor, obj=quote, fields=QUOTE_AUDIT_FIELDS)
    audit.record(
        actor=actor, action="update", obj=quote, changes={"lines": [[], _line_summary(built)]}
    )
    return quote


@transaction.atomic
def quote_update(
    *,
    actor: Any,
    quote: Quote,
    expected_version: int | None,
    data: Mapping[str, Any],
    lines: Sequence[Mapping[str, Any]] | None = None,
) -> Quote:
    """Change a draft quote (its header, and its lines when `lines` is given)."""
    require_record(actor, quote, "change")
    _check_version(quote, expected_version)
    if not quote.is_editable:
        raise ValidationError("Only a draft quote can be changed.")
    data = only_known(data, [f for f in QUOTE_FIELDS if f != "opportunity"])
    if "account" in data and data["account"] != quote.account:
        raise ValidationError({"account": ["A quote stays with its account."]})
    before = audit.snapshot(quote, QUOTE_AUDIT_FIELDS)
    old_lines = list(quote.lines.all())
    for name, value in data.items():
        setattr(quote, name, value)
    _check_references(actor, data)
    if "currency" in data and "price_list" not in data:
        quote.price_list = None
    _resolve_price_list(quote, today=timezone.localdate())
    new_lines = (
        _build_lines(QuoteLine, lines, currency=quote.currency, price_list=quote.price_list)
        if lines is not None
        else old_lines
    )
    if lines is None and quote.currency != before["currency"]:
        raise ValidationError({"currency": ["Send the lines again in the new currency."]})
    _save_update(
        actor,
        quote,
        before,
        QUOTE_AUDIT_FIELDS,
        old_lines,
        new_lines,
        replace=lines is not None,
        line_model=QuoteLine,
    )
    return quote


def _check_version(document: CommercialDocument, expected_version: int | None) -> None:
    locked = type(document)._base_manager.select_for_update().filter(pk=document.pk)
    current = locked.values_list("version", flat=True).first()
    if current is None:
        raise type(document).DoesNotExist()
    if expected_version is not None and expected_version != current:
        raise ConflictError(current_version=current)
    if current != document.version:
        raise ConflictError(current_version=current)


def _set_status(
    document: Quote | Order, fields: dict[str, Any], *, actor: Any, audit_fields: list[str]
) -> None:
    before = audit.snapshot(document, audit_fields)
    for name, value in fields.items():
        setattr(document, name, value)
    document.updated_at = timezone.now()
    document.version += 1
    document.save(update_fields=[*fields, "updated_at", "version"])
    changes = audit.diff(before, audit.snapshot(document, audit_fields))
    audit.record(actor=actor, action="update", obj=document, changes=changes)


@transaction.atomic
def quote_send(*, actor: Any, quote: Quote, expected_version: int | None = None) -> Quote:
    """Mark a draft quote as sent to the customer: it can no longer be edited."""
    require_record(actor, quote, "change")
    _check_version(quote, expected_version)
    if quote.status != Quote.Status.DRAFT:
        raise ValidationError(f"Only a draft quote can be sent; this one is {quote.status}.")
    if not quote.lines.exists():
        raise ValidationError("Add at least one line before sending the quote.")
    if quote.valid_until < timezone.localdate():
        raise ValidationError({"valid_until": ["The validity date has passed; change it first."]})
    _set_status(
        quote,
        {"status": Quote.Status.SENT, "sent_at": timezone.now()},
        actor=actor,
        audit_fields=QUOTE_AUDIT_FIELDS,
    )
    total = format_amount(quote.gross_total, quote.currency)
    _timeline(
        actor=actor,
        document=quote,
        event="sent",
        subject=f"Quote {quote.number} sent · {total} {quote.currency}",
    )
    return quote


@transaction.atomic
def quote_decline(
    *, actor: Any, quote: Quote, reason: str = "", expected_version: int | None = None
) -> Quote:
    """The customer declined a sent quote (expired ones too)."""
    require_record(actor, quote, "change")
    _check_version(quote, expected_version)
    if quote.status != Quote.Status.SENT:
        raise ValidationError(f"Only a sent quote can be declined; this one is {quote.status}.")
    _set_status(
        quote,
        {
            "status": Quote.Status.DECLINED,
            "declined_at": timezone.now(),
            "decline_reason": (reason or "").strip()[:300],
        },
        actor=actor,
        audit_fields=QUOTE_AUDIT_FIELDS,
    )
    _timeline(
        actor=actor,
        document=quote,
        event="declined",
        subject=f"Quote {quote.number} declined",
        body=quote.decline_reason,
    )
    return quote


@transaction.atomic
def quote_accept(*, actor: Any, quote: Quote, expected_version: int | None = None) -> Order:
    """The customer accepted a sent quote: the quote is accepted, a draft order copying its
    lines (prices, discounts, tax rates and cost snapshots as quoted) is created, and its open
    opportunity, if any, is moved to its pipeline's won stage. One transaction: all or
    nothing."""
    require_record(actor, quote, "change")
    require(actor, "order.add")
    _check_version(quote, expected_version)
    if quote.status != Quote.Status.SENT:
        raise ValidationError(f"Only a sent quote can be accepted; this one is {quote.status}.")
    if quote.is_expired():
        raise ValidationError(
            f"This quote expired on {quote.valid_until.isoformat()}; send a new one to accept it."
        )
    _set_status(
        quote,
        {"status": Quote.Status.ACCEPTED, "accepted_at": timezone.now()},
        actor=actor,
        audit_fields=QUOTE_AUDIT_FIELDS,
    )
    order = Order(
        account=quote.account,
        contact=quote.contact,
        quote=quote,
        price_list=quote.price_list,
        currency=quote.currency,
        discount_percent=quote.discount_percent,
        notes=quote.notes,
        owner=quote.owner,
        team=quote.team,
        net_total=quote.net_total,
        tax_total=quote.tax_total,
        gross_total=quote.gross_total,
        number=next_number("SO"),
    )
    order.full_clean()
    order.save()
    copied = [
        OrderLine(
            order=order,
            product_id=line.product_id,
            **{name: getattr(line, name) for name in ["position", *LINE_FIELDS[1:]]},
        )
        for line in quote.lines.all()
    ]
    OrderLine.objects.bulk_create(copied)
    audit.record_create(actor=actor, obj=order, fields=ORDER_AUDIT_FIELDS)
    total = format_amount(quote.gross_total, quote.currency)
    _timeline(
        actor=actor,
        document=quote,
        event="accepted",
        subject=f"Quote {quote.number} accepted · {total} {quote.currency}",
    )
    _timeline(
        actor=actor,
        document=order,
        event="created",
        subject=_order_subject(order, f"created from quote {quote.number}"),
    )
    if quote.opportunity_id is not None:
        _win_opportunity(actor, quote)
    return order


def _win_opportunity(actor: Any, quote: Quote) -> None:
    """Move the quote's open opportunity to its pipeline's won stage (as the actor when they
    may change it, otherwise as Patron: the customer's acceptance decides, not the viewer)."""
    from patron.sales import services as sales_services
    from patron.sales.models import Opportunity, Stage

    opportunity = Opportunity.objects.select_related("stage").get(pk=int(quote.opportunity_id or 0))
    if opportunity.closed_at is not None or opportunity.stage.is_closed:
        return
    won = opportunity.pipeline.stages.filter(kind=Stage.Kind.WON).order_by("order", "id").first()
    if won is None:
        return
    mover = actor if actor is None or may(actor, opportunity, "change") else None
    sales_services.opportunity_move(
        actor=mover,
        opportunity=opportunity,
        expected_version=None,
        stage=won,
        reason=f"Quote {quote.number} accepted",
    )


@transaction.atomic
def quote_delete(*, actor: Any, quote: Quote) -> None:
    """Delete a draft quote (sent ones are kept: the customer has them)."""
    require_record(actor, quote, "delete")
    if quote.status != Quote.Status.DRAFT:
        raise ValidationError("Only a draft quote can be deleted.")
    audit.record_delete(actor=actor, obj=quote, fields=QUOTE_AUDIT_FIELDS)
    quote.delete()


# --- orders ----------------------------------------------------------------------------------


def _check_credit(order: Order) -> None:
    """Refuse an order that takes the account past its credit limit (open orders, plus what
    billing registers, plus this order)."""
    # Locked until the transaction ends: two orders of one account are checked one at a time.
    limit = CreditLimit.objects.select_for_update().filter(account=order.account).first()
    if limit is None:
        return
    if limit.currency != order.currency:
        raise ValidationError(
            {
                "account": [
                    f"The account's credit limit is in {limit.currency}; an order in "
                    f"{order.currency} cannot be checked against it."
                ]
            }
        )
    exposure = selectors.credit_exposure(order.account, limit.currency)
    if exposure + order.gross_total > limit.amount:
        available = max(limit.amount - exposure, ZERO)
        raise ValidationError(
            {
                "account": [
                    f"This order ({format_amount(order.gross_total, order.currency)} "
                    f"{order.currency}) exceeds the account's credit limit: "
                    f"{format_amount(available, limit.currency)} {limit.currency} of "
                    f"{format_amount(limit.amount, limit.currency)} is available."
                ]
            }
        )


@transaction.atomic
def order_create(
    *,
    actor: Any,
    data: Mapping[str, Any],
    lines: Sequence[Mapping[str, Any]],
    confirm: bool = False,
    prices_from_list: bool = False,
) -> Order:
    """Create an order (a draft, or confirmed at once with `confirm`, as electronic orders
    are). With `prices_from_list`, every line is priced by the price list and a line's
    `expected_unit_price` that disagrees refuses the order; a confirmed order must fit the
    account's credit limit."""
    require(actor, "order.add")
    data = only_known(data, ORDER_FIELDS)
    today = timezone.localdate()
    order = Order(**data)
    if "currency" not in data and data.get("price_list") is not None:
        order.currency = data["price_list"].currency
    if order.account_id is None:
        raise ValidationError({"account": ["Choose the account the order is for."]})
    _check_references(actor, data)
    _resolve_price_list(order, today=today)
    if prices_from_list and order.price_list is None:
        raise ValidationError(
            {"price_list": [f"There is no valid default price list in {order.currency}."]}
        )
    _owner_defaults(actor, order, data)
    built = _build_lines(
        OrderLine,
        lines,
        currency=order.currency,
        price_list=order.price_list,
        prices_from_list=prices_from_list,
    )
    _apply_totals(order, built)
    if confirm:
        _check_credit(order)
        order.status = Order.Status.CONFIRMED
        order.confirmed_at = timezone.now()
    # Last before saving: the series stays locked until the transaction ends.
    order.number = next_number("SO", today=today)
    order.full_clean(exclude=RESOLVED_REFERENCES)
    order.save()
    for line in built:
        line.order = order
    OrderLine.objects.bulk_create(built)
    audit.record_create(actor=actor, obj=order, fields=ORDER_AUDIT_FIELDS)
    audit.record(
        actor=actor, action="update", obj=order, changes={"lines": [[], _line_summary(built)]}
    )
    verb = "received and confirmed" if confirm else "created"
    _timeline(
        actor=actor,
        document=order,
        event="confirmed" if confirm else "created",
        subject=_order_subject(order, verb),
    )
    return order


@transaction.atomic
def order_update(
    *,
    actor: Any,
    order: Order,
    expected_version: int | None,
    data: Mapping[str, Any],
    lines: Sequence[Mapping[str, Any]] | None = None,
) -> Order:
    """Change a draft order (its header, and its lines when `lines` is given)."""
    require_record(actor, order, "change")
    _check_version(order, expected_version)
    if not order.is_editable:
        raise ValidationError("Only a draft order can be changed.")
    data = only_known(data, ORDER_FIELDS)
    if "account" in data and data["account"] != order.account:
        raise ValidationError({"account": ["An order stays with its account."]})
    if "currency" in data and data["currency"] != order.currency and lines is None:
        raise ValidationError({"currency": ["Send the lines again in the new currency."]})
    before = audit.snapshot(order, ORDER_AUDIT_FIELDS)
    old_lines = list(order.lines.all())
    for name, value in data.items():
        setattr(order, name, value)
    _check_references(actor, data)
    if "currency" in data and "price_list" not in data:
        order.price_list = None
    _resolve_price_list(order, today=timezone.localdate())
    new_lines = (
        _build_lines(OrderLine, lines, currency=order.currency, price_list=order.price_list)
        if lines is not None
        else old_lines
    )
    _save_update(
        actor,
        order,
        before,
        ORDER_AUDIT_FIELDS,
        old_lines,
        new_lines,
        replace=lines is not None,
        line_model=OrderLine,
    )
    return order


def _transition(
    *,
    actor: Any,
    order: Order,
    to: str,
    expected_version: int | None,
    stamp: str,
    verb: str,
    extra: dict[str, Any] | None = None,
) -> Order:
    require_record(actor, order, "change")
    _check_version(order, expected_version)
    if to not in ORDER_TRANSITIONS[order.status]:
        label = Order.Status(to).label.lower()
        raise ValidationError(f"A {order.status} order cannot be {label}.")
    if to == Order.Status.CONFIRMED:
        _check_credit(order)
    _set_status(
        order,
        {"status": to, stamp: timezone.now(), **(extra or {})},
        actor=actor,
        audit_fields=ORDER_AUDIT_FIELDS,
    )
    _timeline(
        actor=actor,
        document=order,
        event=to,
        subject=_order_subject(order, verb),
        body=order.cancel_reason if to == Order.Status.CANCELLED else "",
    )
    return order


@transaction.atomic
def order_confirm(*, actor: Any, order: Order, expected_version: int | None = None) -> Order:
    """Confirm a draft order; it must fit the account's credit limit."""
    return _transition(
        actor=actor,
        order=order,
        to=Order.Status.CONFIRMED,
        expected_version=expected_version,
        stamp="confirmed_at",
        verb="confirmed",
    )


@transaction.atomic
def order_fulfil(*, actor: Any, order: Order, expected_version: int | None = None) -> Order:
    """The goods were delivered or the service performed."""
    return _transition(
        actor=actor,
        order=order,
        to=Order.Status.FULFILLED,
        expected_version=expected_version,
        stamp="fulfilled_at",
        verb="fulfilled",
    )


@transaction.atomic
def order_cancel(
    *, actor: Any, order: Order, reason: str = "", expected_version: int | None = None
) -> Order:
    """Cancel a draft or confirmed order (a fulfilled one is credited through billing)."""
    return _transition(
        actor=actor,
        order=order,
        to=Order.Status.CANCELLED,
        expected_version=expected_version,
        stamp="cancelled_at",
        verb="cancelled",
        extra={"cancel_reason": (reason or "").strip()[:300]},
    )


@transaction.atomic
def order_mark_invoiced(*, actor: Any, order: Order, expected_version: int | None = None) -> Order:
    """For billing: the order (confirmed or fulfilled) has been invoiced; it no longer counts
    as an open order in the credit exposure (its invoice does, until paid)."""
    return _transition(
        actor=actor,
        order=order,
        to=Order.Status.INVOICED,
        expected_version=expected_version,
        stamp="invoiced_at",
        verb="invoiced",
    )
