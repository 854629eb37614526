"""Billing API schemas: they parse and shape only; writes go through `services`."""

from __future__ import annotations

import datetime
import decimal
from typing import Literal

from ninja import Field, Schema

from patron.core.schemas import InputSchema, UserRef

MAX_ID = 2**63 - 1
# Issue and payment dates a business document can carry (a due date is computed from them).
FIRST_DATE = datetime.date(1900, 1, 1)
LAST_DATE = datetime.date(2999, 12, 31)
Percent = Field(decimal.Decimal("0"), ge=0, le=100, max_digits=5, decimal_places=2)
PaymentMethod = Literal["bank_transfer", "card", "cash", "cheque", "direct_debit", "other"]


class RecordRef(Schema):
    id: int
    name: str


class ContactRef(Schema):
    id: int
    name: str = Field(..., alias="full_name")


class InvoiceRef(Schema):
    id: int
    number: str = Field(..., alias="number_display")


class OrderRef(Schema):
    id: int
    number: str


class LineIn(InputSchema):
    description: str = Field(..., min_length=1, max_length=500)
    sku: str = Field("", max_length=64)
    quantity: decimal.Decimal = Field(..., gt=0, max_digits=12, decimal_places=3)
    unit_price: decimal.Decimal = Field(..., ge=0, max_digits=14, decimal_places=4)
    discount_percent: decimal.Decimal = Percent
    tax_rate: decimal.Decimal = Field(
        decimal.Decimal("0"), ge=0, le=100, max_digits=6, decimal_places=3
    )
    unit_cost: decimal.Decimal = Field(
        decimal.Decimal("0"),
        ge=0,
        max_digits=14,
        decimal_places=4,
        description="What one unit cost us (for margins); never printed.",
    )


class LineOut(Schema):
    id: int
    position: int
    sku: str
    description: str
    quantity: decimal.Decimal
    unit_price: decimal.Decimal
    discount_percent: decimal.Decimal
    tax_rate: decimal.Decimal
    unit_cost: decimal.Decimal
    net_amount: decimal.Decimal
    tax_amount: decimal.Decimal
    gross_amount: decimal.Decimal
    cost_amount: decimal.Decimal
    credited_line_id: int | None


class PaymentOut(Schema):
    id: int
    invoice_id: int
    amount: decimal.Decimal
    paid_on: datetime.date
    method: str
    reference: str
    recorded_by: UserRef | None
    created_at: datetime.datetime
    reversed_at: datetime.datetime | None
    reversal_reason: str


class InvoiceSummaryOut(Schema):
    id: int
    version: int
    kind: str
    number: str = Field(..., alias="number_display", description="Empty while a draft.")
    series: str = Field(..., alias="series.code")
    status: str
    overdue: bool
    account: RecordRef
    contact: ContactRef | None
    credit_of: InvoiceRef | None
    order: OrderRef | None
    currency: str
    issue_date: datetime.date | None
    payment_terms_days: int
    due_date: datetime.date | None
    discount_percent: decimal.Decimal
    net_total: decimal.Decimal
    tax_total: decimal.Decimal
    gross_total: decimal.Decimal
    amount_paid: decimal.Decimal
    amount_credited: decimal.Decimal
    balance: decimal.Decimal
    created_at: datetime.datetime
    issued_at: datetime.datetime | None

    @staticmethod
    def resolve_overdue(obj: object) -> bool:
        return bool(obj.is_overdue())  # type: ignore[attr-defined]


class InvoiceOut(InvoiceSummaryOut):
    notes: str
    reason: str
    lines: list[LineOut]
    payments: list[PaymentOut]
    credit_notes: list[InvoiceRef]

    @staticmethod
    def resolve_lines(obj: object) -> list:
        return list(obj.lines.all())  # type: ignore[attr-defined]

    @staticmethod
    def resolve_payments(obj: object) -> list:
        return list(obj.payments.all())  # type: ignore[attr-defined]

    @staticmethod
    def resolve_credit_notes(obj: object) -> list:
        return list(obj.credit_notes.all())  # type: ignore[attr-defined]


class InvoicePage(Schema):
    results: list[InvoiceSummaryOut]
    next_cursor: str | None
    previous_cursor: str | None


class InvoiceIn(InputSchema):
    account_id: int = Field(..., ge=1, le=MAX_ID)
    contact_id: int | None = Field(None, ge=1, le=MAX_ID)
    currency: str | None = Field(
        None, pattern=r"^[A-Za-z]{3}$", description="ISO 4217; the organisation's by default."
    )
    issue_date: datetime.date | None = Field(
        None, ge=FIRST_DATE, le=LAST_DATE, description="Left out, the day it is issued."
    )
    payment_terms_days: int = Field(30, ge=0, le=365)
    discount_percent: decimal.Decimal = Field(
        decimal.Decimal("0"),
        ge=0,
        le=100,
        max_digits=5,
        decimal_places=2,
        description="A discount on the whole document, applied per tax rate.",
    )
    notes: str = Field("", max_length=4000)
    lines: list[LineIn] = Field(default_factory=list, max_length=500)


class InvoicePatch(InputSchema):
    version: int = Field(..., ge=1, le=2_147_483_647, description="The version you read.")
    account_id: int = Field(None, ge=1, le=MAX_ID)  # type: ignore[assignment]
    contact_id: int | None = Field(None, ge=1, le=MAX_ID)
    currency: str = Field(None, pattern=r"^[A-Za-z]{3}$")  # type: ignore[assignment]
    issue_date: datetime.date | None = Field(None, ge=FIRST_DATE, le=LAST_DATE)
    payment_terms_days: int = Field(None, ge=0, le=365)  # type: ignore[assignment]
    discount_percent: decimal.Decimal = Field(  # type: ignore[assignment]
        None, ge=0, le=100, max_digits=5, decimal_places=2
    )
    notes: str = Field(None, max_length=4000)  # type: ignore[assignment]
    lines: list[LineIn] = Field(  # type: ignore[assignment]
        None,  # type: ignore[arg-type]
        max_length=500,
        description="Replaces every line.",
    )


class IssueIn(InputSchema):
    version: int | None = Field(None, ge=1, le=2_147_483_647, description="The version you read.")
    issue_date: datetime.date | None = Field(
        None, ge=FIRST_DATE, le=LAST_DATE, description="Left out: the draft's, else today."
    )


class ReasonIn(InputSchema):
    reason: str = Field(..., min_length=1, max_length=300)


class CreditLineIn(InputSchema):
    line_id: int = Field(..., ge=1, le=MAX_ID, description="A line of the credited invoice.")
    quantity: decimal.Decimal = Field(..., gt=0, max_digits=12, decimal_places=3)


class CreditNoteIn(InputSchema):
    reason: str = Field(..., min_length=1, max_length=300)
    lines: list[CreditLineIn] | None = Field(
        None, max_length=500, description="Left out: everything not yet credited."
    )


class FromOrderIn(InputSchema):
    order_id: int = Field(..., ge=1, le=MAX_ID)


class PaymentIn(InputSchema):
    amount: decimal.Decimal = Field(..., gt=0, max_digits=14, decimal_places=2)
    paid_on: datetime.date = Field(default_factory=datetime.date.today, ge=FIRST_DATE, le=LAST_DATE)
    method: PaymentMethod = "bank_transfer"
    reference: str = Field("", max_length=200)


class FiguresOut(Schema):
    revenue: decimal.Decimal
    cogs: decimal.Decimal = Field(..., description="Quantity × unit cost of invoiced lines.")
    cost_to_serve: decimal.Decimal
    margin: decimal.Decimal


class MonthOut(FiguresOut):
    month: datetime.date = Field(..., description="The month's first day.")


class EconomicsOut(Schema):
    currency: str
    lifetime: FiguresOut
    months: list[MonthOut] = Field(..., description="The last 12 months, oldest first.")
    call_seconds: int
    meeting_minutes: int
    rates: dict[str, decimal.Decimal] = Field(..., description="Hourly cost per activity.")
    documents: int = Field(..., description="Issued invoices and credit notes counted.")
    other_currency_documents: int = Field(..., description="Documents in other currencies.")
    open_balance: decimal.Decimal = Field(..., description="Still owed on issued invoices.")
    overdue_balance: decimal.Decimal = Field(..., description="Of which past due.")
    overdue_count: int
