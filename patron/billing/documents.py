"""An invoice or credit note as a PDF, drawn by the shared business-document renderer
(`patron.utils.pdf`); this module only says what goes on the page."""

from __future__ import annotations

from patron.commerce.pdf import seller_party
from patron.customers.models import PostalAddress
from patron.utils import money, pdf

from .models import Invoice


def _address_lines(invoice: Invoice) -> list[str]:
    """The account's billing address (else its first), as printed lines."""
    addresses = PostalAddress.objects.filter(account_id=invoice.account_id)
    address = addresses.filter(kind=PostalAddress.Kind.BILLING).first() or addresses.first()
    lines: list[str] = []
    if address is not None:
        lines = [address.street, address.street2]
        lines.append(" ".join(p for p in (address.postal_code, address.city) if p))
        lines.extend([address.region, address.country])
    if invoice.contact is not None:
        lines.append(f"Attn. {invoice.contact.full_name}")
    return [line for line in lines if line]


def invoice_document(invoice: Invoice) -> pdf.BusinessDocument:
    """What the PDF of `invoice` shows (read through `restrict` by the caller, with lines)."""
    lines = list(invoice.lines.all())
    totals = money.DocumentTotals.of(
        [
            money.LineAmounts(
                quantity=line.quantity,
                unit_price=line.unit_price,
                currency=invoice.currency,
                discount_percent=line.discount_percent,
                tax_rate=line.tax_rate,
            )
            for line in lines
        ],
        currency=invoice.currency,
        discount_percent=invoice.discount_percent,
    )
    dates = []
    if invoice.issue_date:
        dates.append(("Issue date", invoice.issue_date.strftime("%d %b %Y")))
    if invoice.due_date and not invoice.is_credit_note:
        dates.append(("Due date", invoice.due_date.strftime("%d %b %Y")))
    references = []
    if invoice.credit_of is not None:
        references.append(("Credits invoice", invoice.credit_of.number_display))
    if invoice.amount_paid and not invoice.is_credit_note:
        paid = money.format_amount(invoice.amount_paid, invoice.currency)
        references.append(("Paid", f"{paid} {invoice.currency}"))
        owed = money.format_amount(invoice.balance, invoice.currency)
        references.append(("Balance due", f"{owed} {invoice.currency}"))
    title = "Credit note" if invoice.is_credit_note else "Invoice"
    if invoice.is_draft:
        title = f"Draft {title.lower()}"
    terms = ""
    if not invoice.is_credit_note and invoice.payment_terms_days:
        terms = f"Payment due within {invoice.payment_terms_days} days of the issue date."
    return pdf.BusinessDocument(
        title=title,
        number=invoice.number_display or "—",
        currency=invoice.currency,
        seller=seller_party(),
        customer=pdf.Party(name=invoice.account.name, lines=_address_lines(invoice)),
        lines=[
            pdf.DocumentLine(
                description=line.description,
                quantity=line.quantity,
                unit_price=line.unit_price,
                net=line.net_amount,
                discount_percent=line.discount_percent,
                tax_rate=line.tax_rate,
            )
            for line in lines
        ],
        totals=totals,
        dates=dates,
        notes="\n".join(p for p in (invoice.reason, invoice.notes) if p),
        terms=terms,
        reference_lines=tuple(references),
    )


def invoice_pdf(invoice: Invoice) -> bytes:
    return pdf.render_document(invoice_document(invoice))


def pdf_filename(invoice: Invoice) -> str:
    return f"{invoice.number_display or f'draft-{invoice.pk}'}.pdf"
