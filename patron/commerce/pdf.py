"""Quotes and orders as PDF documents (`patron.utils.pdf` draws them).

The seller is the organisation (its name in the organisation settings, its address lines from
`PATRON_SELLER_ADDRESS`, one line per "|"); the customer is the account, its primary postal
address and the contact. The caller has already read the document through `restrict`.
"""

from __future__ import annotations

from django.conf import settings

from patron.core.permissions import organisation_settings
from patron.utils.pdf import BusinessDocument, DocumentLine, Party, render_document

from .models import CommercialDocument, Order, Quote


def seller_party() -> Party:
    """The organisation as the seller on every business document (quotes, orders, invoices)."""
    lines = [
        part.strip()
        for part in str(getattr(settings, "PATRON_SELLER_ADDRESS", "") or "").split("|")
        if part.strip()
    ]
    return Party(name=organisation_settings().name, lines=lines)


def _customer(document: CommercialDocument) -> Party:
    account = document.account
    lines: list[str] = []
    address = (
        account.postaladdresss.order_by("-is_primary", "id").first()  # type: ignore[attr-defined]
    )
    if address is not None:
        lines.append(", ".join(p for p in (address.street, address.street2) if p))
        lines.append(" ".join(p for p in (address.postal_code, address.city) if p))
        lines.append(", ".join(p for p in (address.region, address.country) if p))
    if document.contact is not None:
        lines.append(f"Attn. {document.contact.full_name}")
    return Party(name=account.name, lines=[line for line in lines if line])


def _lines(document: CommercialDocument) -> list[DocumentLine]:
    return [
        DocumentLine(
            description=line.description,
            quantity=line.quantity,
            unit=line.unit,
            unit_price=line.unit_price,
            discount_percent=line.discount_percent,
            tax_rate=line.tax_rate,
            net=line.net_amount,
        )
        for line in document.lines.all()  # type: ignore[attr-defined]
    ]


def quote_pdf(quote: Quote) -> bytes:
    """The quote the customer receives."""
    lines = list(quote.lines.all())
    dates = [
        ("Date", (quote.sent_at or quote.created_at).date().isoformat()),
        ("Valid until", quote.valid_until.isoformat()),
    ]
    return render_document(
        BusinessDocument(
            title="Quote",
            number=quote.number,
            currency=quote.currency,
            seller=seller_party(),
            customer=_customer(quote),
            dates=dates,
            lines=_lines(quote),
            totals=quote.totals(lines),
            notes=quote.notes,
            terms=quote.terms,
        )
    )


def order_pdf(order: Order) -> bytes:
    """The order confirmation."""
    lines = list(order.lines.all())
    dates = [("Date", (order.confirmed_at or order.created_at).date().isoformat())]
    references = []
    if order.external_reference:
        references.append(("Your reference", order.external_reference))
    if order.quote_id:
        references.append(("Quote", order.quote.number))  # type: ignore[union-attr]
    return render_document(
        BusinessDocument(
            title="Order confirmation",
            number=order.number,
            currency=order.currency,
            seller=seller_party(),
            customer=_customer(order),
            dates=dates,
            reference_lines=references,
            lines=_lines(order),
            totals=order.totals(lines),
            notes=order.notes,
        )
    )
