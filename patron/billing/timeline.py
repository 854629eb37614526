"""The timeline kind billing writes on accounts (and the invoice's contact): an invoice was
issued, a payment received or reversed, a credit note issued, an invoice voided or found
overdue.

Timeline entries inherit the visibility of their account or contact, not of the invoice, so an
entry says the document's number and amount (what the customer was sent) and nothing else; the
invoice itself stays behind `restrict` (its link answers 404 to whoever may not see it)."""

from __future__ import annotations

from typing import Literal

from pydantic import Field

from patron.customers.timeline import KindData, TimelineKind


class InvoiceEventData(KindData):
    invoice_id: int
    event: Literal[
        "issued", "payment_received", "payment_reversed", "credit_note", "voided", "overdue"
    ]
    number: str = Field(default="", max_length=60)
    amount: str = Field(default="", max_length=30)
    currency: str = Field(default="", max_length=3)
    by: str = Field(default="", max_length=200)


INVOICE_KIND = TimelineKind("invoice", "Invoice", "€", InvoiceEventData, user_creatable=False)
