"""Commerce API schemas: they parse and shape only; writes go through the services."""

from __future__ import annotations

import datetime
import decimal
from typing import Any, Literal

from ninja import Field, Schema

from patron.core.schemas import InputSchema, TeamRef, UserRef

MAX_ID = 2**63 - 1
Currency = r"^[A-Za-z]{3}$"
Sku = r"^[A-Za-z0-9][A-Za-z0-9._/-]*$"


def _id(default: Any = ..., description: str | None = None) -> Any:
    return Field(default, ge=1, le=MAX_ID, description=description)


def unit_price_field(default: Any = ..., description: str | None = None) -> Any:
    return Field(default, ge=0, max_digits=14, decimal_places=4, description=description)


def quantity_field(default: Any = ..., description: str | None = None) -> Any:
    return Field(
        default,
        gt=0,
        max_digits=12,
        decimal_places=3,
        description=description or "More than 0, up to 3 decimals.",
    )


def percent_field(default: Any = decimal.Decimal(0), places: int = 2) -> Any:
    return Field(default, ge=0, le=100, max_digits=places + 3, decimal_places=places)


# --- catalogue -------------------------------------------------------------------------------


class TaxRateOut(Schema):
    id: int
    name: str
    percent: decimal.Decimal
    is_active: bool


class TaxRateIn(InputSchema):
    name: str = Field(..., min_length=1, max_length=100)
    percent: decimal.Decimal = percent_field(..., places=3)
    is_active: bool = True


class TaxRateRef(Schema):
    id: int
    name: str
    percent: decimal.Decimal


class ProductOut(Schema):
    id: int
    version: int
    sku: str
    name: str
    description: str
    unit: str
    unit_cost: decimal.Decimal
    tax_rate: TaxRateRef | None
    is_active: bool
    created_at: datetime.datetime
    updated_at: datetime.datetime


class ProductPage(Schema):
    results: list[ProductOut]
    next_cursor: str | None
    previous_cursor: str | None


class ProductIn(InputSchema):
    sku: str = Field(..., min_length=1, max_length=64, pattern=Sku)
    name: str = Field(..., min_length=1, max_length=200)
    description: str = Field("", max_length=10_000)
    unit: str = Field("unit", min_length=1, max_length=20)
    unit_cost: decimal.Decimal = unit_price_field(decimal.Decimal(0))
    tax_rate_id: int | None = _id(None)
    is_active: bool = True


class ProductPatch(InputSchema):
    version: int = Field(..., ge=1, le=2_147_483_647)
    sku: str = Field(None, min_length=1, max_length=64, pattern=Sku)  # type: ignore[assignment]
    name: str = Field(None, min_length=1, max_length=200)  # type: ignore[assignment]
    description: str = Field(None, max_length=10_000)  # type: ignore[assignment]
    unit: str = Field(None, min_length=1, max_length=20)  # type: ignore[assignment]
    unit_cost: decimal.Decimal = unit_price_field(None)
    tax_rate_id: int | None = _id(None)
    is_active: bool = Field(None)  # type: ignore[assignment]


class PriceListRef(Schema):
    id: int
    name: str
    currency: str


class PriceOut(Schema):
    id: int
    price_list: PriceListRef
    unit_price: decimal.Decimal
    min_quantity: decimal.Decimal


class PriceListOut(Schema):
    id: int
    version: int
    name: str
    currency: str
    is_default: bool
    valid_from: datetime.date | None
    valid_until: datetime.date | None
    is_active: bool


class PriceListIn(InputSchema):
    name: str = Field(..., min_length=1, max_length=100)
    currency: str = Field(..., pattern=Currency)
    is_default: bool = False
    valid_from: datetime.date | None = None
    valid_until: datetime.date | None = None
    is_active: bool = True


class PriceListPatch(InputSchema):
    version: int = Field(..., ge=1, le=2_147_483_647)
    name: str = Field(None, min_length=1, max_length=100)  # type: ignore[assignment]
    currency: str = Field(None, pattern=Currency)  # type: ignore[assignment]
    is_default: bool = Field(None)  # type: ignore[assignment]
    valid_from: datetime.date | None = None
    valid_until: datetime.date | None = None
    is_active: bool = Field(None)  # type: ignore[assignment]


class ProductRef(Schema):
    id: int
    sku: str
    name: str


class PriceListItemOut(Schema):
    id: int
    product: ProductRef
    unit_price: decimal.Decimal
    min_quantity: decimal.Decimal


class PriceIn(InputSchema):
    product_id: int = _id()
    unit_price: decimal.Decimal = unit_price_field()
    min_quantity: decimal.Decimal = Field(decimal.Decimal(0), ge=0, max_digits=12, decimal_places=3)


class CreditLimitOut(Schema):
    account_id: int
    amount: decimal.Decimal | None
    currency: str | None
    exposure: decimal.Decimal = Field(..., description="Open orders (and unpaid invoices).")


class CreditLimitIn(InputSchema):
    amount: decimal.Decimal | None = Field(
        ..., ge=0, max_digits=14, decimal_places=2, description="null removes the limit."
    )
    currency: str = Field("", pattern=r"^([A-Za-z]{3})?$")


# --- lines and documents ---------------------------------------------------------------------


class LineOut(Schema):
    id: int
    position: int
    product: ProductRef | None
    description: str
    quantity: decimal.Decimal
    unit: str
    unit_price: decimal.Decimal
    discount_percent: decimal.Decimal
    tax_rate: decimal.Decimal
    unit_cost: decimal.Decimal | None
    net_amount: decimal.Decimal
    tax_amount: decimal.Decimal


class LineIn(InputSchema):
    """A quote or order line: a product (by id or SKU) or free text."""

    product_id: int | None = _id(None)
    sku: str | None = Field(None, min_length=1, max_length=64)
    description: str = Field("", max_length=500, description="Defaults to the product's name.")
    quantity: decimal.Decimal = quantity_field(decimal.Decimal(1))
    unit_price: decimal.Decimal | None = unit_price_field(
        None, "Defaults to the price list's price for the quantity."
    )
    discount_percent: decimal.Decimal = percent_field()
    tax_rate: decimal.Decimal | None = Field(
        None,
        ge=0,
        le=100,
        max_digits=6,
        decimal_places=3,
        description="Percent; defaults to the product's tax rate.",
    )


class RecordRef(Schema):
    id: int
    name: str


class ContactRef(Schema):
    id: int
    name: str = Field(..., alias="full_name")


class DocumentOut(Schema):
    id: int
    version: int
    number: str
    status: str = Field(..., alias="display_status")
    account: RecordRef
    contact: ContactRef | None
    price_list: PriceListRef | None
    currency: str
    discount_percent: decimal.Decimal
    notes: str
    net_total: decimal.Decimal
    tax_total: decimal.Decimal
    gross_total: decimal.Decimal
    owner: UserRef | None
    team: TeamRef | None
    lines: list[LineOut]
    created_at: datetime.datetime
    updated_at: datetime.datetime

    @staticmethod
    def resolve_lines(obj: Any) -> list[Any]:
        return list(obj.lines.all())


class QuoteOut(DocumentOut):
    opportunity: RecordRef | None
    valid_until: datetime.date
    terms: str
    sent_at: datetime.datetime | None
    accepted_at: datetime.datetime | None
    declined_at: datetime.datetime | None
    decline_reason: str
    order_id: int | None = None
    pdf_url: str

    @staticmethod
    def resolve_order_id(obj: Any) -> int | None:
        order = getattr(obj, "order", None) if obj.status == "accepted" else None
        return order.pk if order is not None else None

    @staticmethod
    def resolve_pdf_url(obj: Any) -> str:
        return f"/api/quotes/{obj.pk}/pdf"


class QuoteSummary(Schema):
    id: int
    version: int
    number: str
    status: str = Field(..., alias="display_status")
    account: RecordRef
    contact: ContactRef | None
    currency: str
    gross_total: decimal.Decimal
    valid_until: datetime.date
    owner: UserRef | None
    created_at: datetime.datetime


class QuotePage(Schema):
    results: list[QuoteSummary]
    next_cursor: str | None
    previous_cursor: str | None


class QuoteIn(InputSchema):
    account_id: int = _id()
    contact_id: int | None = _id(None)
    opportunity_id: int | None = _id(
        None, "Left without lines, the quote copies the opportunity's products."
    )
    price_list_id: int | None = _id(None, "Left out, the currency's default price list.")
    currency: str | None = Field(None, pattern=Currency)
    discount_percent: decimal.Decimal = percent_field()
    valid_until: datetime.date | None = Field(None, description="Left out, 30 days from today.")
    terms: str = Field("", max_length=10_000)
    notes: str = Field("", max_length=10_000)
    lines: list[LineIn] | None = Field(None, max_length=500)


class QuotePatch(InputSchema):
    version: int = Field(..., ge=1, le=2_147_483_647)
    contact_id: int | None = _id(None)
    price_list_id: int | None = _id(None)
    currency: str = Field(None, pattern=Currency)  # type: ignore[assignment]
    discount_percent: decimal.Decimal = percent_field(None)
    valid_until: datetime.date = Field(None)  # type: ignore[assignment]
    terms: str = Field(None, max_length=10_000)  # type: ignore[assignment]
    notes: str = Field(None, max_length=10_000)  # type: ignore[assignment]
    lines: list[LineIn] | None = Field(None, max_length=500)


class TransitionIn(InputSchema):
    version: int | None = Field(
        None, ge=1, le=2_147_483_647, description="The version you read (409 when stale)."
    )
    reason: str = Field("", max_length=300)


class OrderOut(DocumentOut):
    quote_id: int | None
    external_reference: str
    confirmed_at: datetime.datetime | None
    fulfilled_at: datetime.datetime | None
    invoiced_at: datetime.datetime | None
    cancelled_at: datetime.datetime | None
    cancel_reason: str


class OrderSummary(Schema):
    id: int
    version: int
    number: str
    status: str
    account: RecordRef
    currency: str
    gross_total: decimal.Decimal
    external_reference: str
    owner: UserRef | None
    created_at: datetime.datetime


class OrderPage(Schema):
    results: list[OrderSummary]
    next_cursor: str | None
    previous_cursor: str | None


class OrderLineIn(InputSchema):
    """An ordered line: a product by SKU and a quantity, priced by the price list."""

    sku: str = Field(..., min_length=1, max_length=64)
    quantity: decimal.Decimal = quantity_field()
    expected_unit_price: decimal.Decimal | None = unit_price_field(
        None, "The price you expect; an order whose price list disagrees is refused (422)."
    )
    description: str = Field("", max_length=500)


class OrderIn(InputSchema):
    account_id: int = _id()
    contact_id: int | None = _id(None)
    price_list_id: int | None = _id(None, "Left out, the currency's default price list.")
    currency: str | None = Field(None, pattern=Currency)
    external_reference: str = Field("", max_length=100, description="Your purchase order number.")
    notes: str = Field("", max_length=10_000)
    confirm: bool = Field(True, description="Confirm at once (credit limit checked).")
    lines: list[OrderLineIn] = Field(..., min_length=1, max_length=500)


class OrderPatch(InputSchema):
    version: int = Field(..., ge=1, le=2_147_483_647)
    contact_id: int | None = _id(None)
    external_reference: str = Field(None, max_length=100)  # type: ignore[assignment]
    notes: str = Field(None, max_length=10_000)  # type: ignore[assignment]
    discount_percent: decimal.Decimal = percent_field(None)


class OpportunityProductOut(Schema):
    id: int
    product: ProductRef | None
    description: str
    quantity: decimal.Decimal
    unit_price: decimal.Decimal
    discount_percent: decimal.Decimal
    tax_rate: decimal.Decimal
    net_amount: decimal.Decimal


class OpportunityProductIn(InputSchema):
    product_id: int | None = _id(None)
    description: str = Field("", max_length=500)
    quantity: decimal.Decimal = quantity_field(decimal.Decimal(1))
    unit_price: decimal.Decimal | None = unit_price_field(None)
    discount_percent: decimal.Decimal = percent_field()
    tax_rate: decimal.Decimal | None = Field(None, ge=0, le=100, max_digits=6, decimal_places=3)


QuoteStatus = Literal["draft", "sent", "accepted", "declined", "expired"]
OrderStatus = Literal["draft", "confirmed", "fulfilled", "invoiced", "cancelled"]
