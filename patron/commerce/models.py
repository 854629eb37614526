"""Products and price lists, quotes and orders: electronic ordering from the catalogue.

Quotes and orders share the shape of a commercial document (a numbered header with an account,
a currency and totals) and of its lines (a product or free text, quantity, unit price, discount,
tax rate and a snapshot of the product's unit cost when the line was written). Amounts are
computed by `patron.utils.money` in the services and stored, so lists and billing read them.
"""

from __future__ import annotations

import datetime
from collections.abc import Sequence
from decimal import Decimal

from django.conf import settings
from django.core.validators import MaxValueValidator, MinValueValidator, RegexValidator
from django.db import models
from django.db.models import Q
from django.db.models.functions import Lower
from django.utils import timezone

from patron.core.permissions import RestrictedQuerySet
from patron.utils.money import DocumentTotals, LineAmounts


def default_currency() -> str:
    """The organisation's currency (`PATRON_DEFAULT_CURRENCY`), EUR when not configured."""
    return str(getattr(settings, "PATRON_DEFAULT_CURRENCY", "EUR") or "EUR").upper()


currency_code = RegexValidator(r"^[A-Z]{3}$", "Use a three-letter ISO 4217 code, e.g. EUR.")
sku_format = RegexValidator(
    r"^[A-Za-z0-9][A-Za-z0-9._/-]*$",
    "Use letters, digits and . _ / - (no spaces), starting with a letter or digit.",
)
PERCENT = [MinValueValidator(Decimal(0)), MaxValueValidator(Decimal(100))]
NOT_NEGATIVE = [MinValueValidator(Decimal(0))]


class TaxRate(models.Model):
    """A sales tax or VAT rate offered on lines ("Standard 20 %", "Reduced 5.5 %")."""

    permission_name = "product"
    record_ownership = False  # catalogue configuration: the role alone decides

    name = models.CharField(max_length=100, unique=True)
    percent = models.DecimalField(max_digits=6, decimal_places=3, validators=PERCENT)
    is_active = models.BooleanField(default=True)

    objects = RestrictedQuerySet.as_manager()

    class Meta:
        ordering = ["percent", "name", "id"]

    def __str__(self) -> str:
        return f"{self.name} ({self.percent.normalize():f} %)"


class Product(models.Model):
    """Something sold: a SKU (unique whatever its case), its unit, cost and default tax rate."""

    permission_name = "product"
    record_ownership = False

    sku = models.CharField("SKU", max_length=64, validators=[sku_format])
    name = models.CharField(max_length=200)
    description = models.TextField(blank=True)
    unit = models.CharField(
        "unit of measure", max_length=20, default="unit", help_text="e.g. unit, hour, kg"
    )
    unit_cost = models.DecimalField(
        max_digits=14, decimal_places=4, default=Decimal(0), validators=NOT_NEGATIVE
    )
    tax_rate = models.ForeignKey(
        TaxRate, null=True, blank=True, on_delete=models.PROTECT, related_name="products"
    )
    is_active = models.BooleanField(default=True)
    version = models.PositiveIntegerField(default=1, editable=False)
    created_at = models.DateTimeField(default=timezone.now, editable=False)
    updated_at = models.DateTimeField(default=timezone.now, editable=False)

    objects = RestrictedQuerySet.as_manager()

    class Meta:
        ordering = ["name", "id"]
        constraints = [
            models.UniqueConstraint(
                Lower("sku"),
                name="product_sku_unique_ci",
                violation_error_message="Another product has this SKU.",
            ),
            models.CheckConstraint(condition=Q(unit_cost__gte=0), name="product_cost_positive"),
        ]
        indexes = [models.Index(fields=["is_active", "name"], name="product_active_idx")]

    def __str__(self) -> str:
        return f"{self.sku} · {self.name}"


class PriceList(models.Model):
    """Prices in one currency, valid between two dates; one default list per currency."""

    permission_name = "pricelist"
    record_ownership = False

    name = models.CharField(max_length=100, unique=True)
    currency = models.CharField(max_length=3, default=default_currency, validators=[currency_code])
    is_default = models.BooleanField(
        "default for its currency",
        default=False,
        help_text="Used when a quote or order names a currency but no price list.",
    )
    valid_from = models.DateField(null=True, blank=True)
    valid_until = models.DateField(null=True, blank=True)
    is_active = models.BooleanField(default=True)
    version = models.PositiveIntegerField(default=1, editable=False)
    created_at = models.DateTimeField(default=timezone.now, editable=False)

    objects = RestrictedQuerySet.as_manager()

    class Meta:
        ordering = ["currency", "-is_default", "name", "id"]
        constraints = [
            models.UniqueConstraint(
                fields=["currency"],
                condition=Q(is_default=True),
                name="pricelist_one_default_per_currency",
                violation_error_message="Another price list is already the default for "
                "this currency.",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.name} ({self.currency})"

    def clean(self) -> None:
        from django.core.exceptions import ValidationError

        if self.valid_from and self.valid_until and self.valid_until < self.valid_from:
            raise ValidationError({"valid_until": ["Ends before it starts."]})

    def is_valid_on(self, day: datetime.date) -> bool:
        return (
            self.is_active
            and (self.valid_from is None or self.valid_from <= day)
            and (self.valid_until is None or day <= self.valid_until)
        )


class PriceListItem(models.Model):
    """A product's unit price in a price list, from a minimum quantity (volume prices)."""

    permission_name = "pricelist"
    record_ownership = False

    price_list = models.ForeignKey(PriceList, on_delete=models.CASCADE, related_name="items")
    product = models.ForeignKey(Product, on_delete=models.CASCADE, related_name="prices")
    unit_price = models.DecimalField(max_digits=14, decimal_places=4, validators=NOT_NEGATIVE)
    min_quantity = models.DecimalField(
        max_digits=12,
        decimal_places=3,
        default=Decimal(0),
        validators=NOT_NEGATIVE,
        help_text="This price applies from this quantity on (0: any quantity).",
    )

    objects = RestrictedQuerySet.as_manager()

    class Meta:
        ordering = ["price_list", "product", "min_quantity", "id"]
        constraints = [
            models.UniqueConstraint(
                fields=["price_list", "product", "min_quantity"],
                name="pricelistitem_unique",
                violation_error_message="This product already has a price from this quantity "
                "in this price list.",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.product_id} @ {self.unit_price} {self.price_list_id}"


class CreditLimit(models.Model):
    """The most an account may owe in open orders (and, with billing, unpaid invoices)."""

    permission_name = None
    restrict_via = ("account",)

    account = models.OneToOneField(
        "customers.Account", on_delete=models.CASCADE, related_name="credit_limit"
    )
    amount = models.DecimalField(max_digits=14, decimal_places=2, validators=NOT_NEGATIVE)
    currency = models.CharField(max_length=3, default=default_currency, validators=[currency_code])
    updated_at = models.DateTimeField(default=timezone.now, editable=False)

    objects = RestrictedQuerySet.as_manager()

    def __str__(self) -> str:
        return f"{self.amount} {self.currency}"


class DocumentSequence(models.Model):
    """The last number given in one series ("Q-2026"): numbers are taken under a row lock."""

    key = models.CharField(max_length=20, unique=True)
    last_number = models.PositiveIntegerField(default=0)

    def __str__(self) -> str:
        return f"{self.key}: {self.last_number}"


class LineFields(models.Model):
    """What a quote, order or opportunity line holds; `net_amount`/`tax_amount` are computed."""

    position = models.PositiveIntegerField(default=0)
    product = models.ForeignKey(
        Product, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    description = models.CharField(max_length=500)
    quantity = models.DecimalField(
        max_digits=12,
        decimal_places=3,
        default=Decimal(1),
        validators=[MinValueValidator(Decimal("0.001"))],
    )
    unit = models.CharField(max_length=20, blank=True)
    unit_price = models.DecimalField(max_digits=14, decimal_places=4, validators=NOT_NEGATIVE)
    discount_percent = models.DecimalField(
        max_digits=5, decimal_places=2, default=Decimal(0), validators=PERCENT
    )
    tax_rate = models.DecimalField(
        "tax rate (%)", max_digits=6, decimal_places=3, default=Decimal(0), validators=PERCENT
    )
    # The product's unit cost when the line was written: margins stay true when costs change.
    unit_cost = models.DecimalField(
        max_digits=14, decimal_places=4, null=True, blank=True, validators=NOT_NEGATIVE
    )
    net_amount = models.DecimalField(max_digits=14, decimal_places=2, default=Decimal(0))
    tax_amount = models.DecimalField(max_digits=14, decimal_places=2, default=Decimal(0))

    class Meta:
        abstract = True

    def amounts(self, currency: str) -> LineAmounts:
        return LineAmounts(
            quantity=self.quantity,
            unit_price=self.unit_price,
            currency=currency,
            discount_percent=self.discount_percent,
            tax_rate=self.tax_rate,
        )

    @property
    def gross_amount(self) -> Decimal:
        return self.net_amount + self.tax_amount

    @property
    def margin(self) -> Decimal | None:
        """Net less the cost snapshot (None when the cost is not known)."""
        if self.unit_cost is None:
            return None
        return self.net_amount - (self.unit_cost * self.quantity)


class CommercialDocument(models.Model):
    """The header a quote and an order share: number, customer, currency, totals, owner."""

    number = models.CharField(max_length=20, unique=True, editable=False)
    account = models.ForeignKey("customers.Account", on_delete=models.PROTECT, related_name="+")
    contact = models.ForeignKey(
        "customers.Contact", null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    price_list = models.ForeignKey(
        PriceList, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    currency = models.CharField(max_length=3, default=default_currency, validators=[currency_code])
    discount_percent = models.DecimalField(
        "document discount (%)",
        max_digits=5,
        decimal_places=2,
        default=Decimal(0),
        validators=PERCENT,
    )
    notes = models.TextField(blank=True)
    net_total = models.DecimalField(max_digits=14, decimal_places=2, default=Decimal(0))
    tax_total = models.DecimalField(max_digits=14, decimal_places=2, default=Decimal(0))
    gross_total = models.DecimalField(max_digits=14, decimal_places=2, default=Decimal(0))
    owner = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    team = models.ForeignKey(
        "core.Team", null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    version = models.PositiveIntegerField(default=1, editable=False)
    created_at = models.DateTimeField(default=timezone.now, editable=False)
    updated_at = models.DateTimeField(default=timezone.now, editable=False)

    objects = RestrictedQuerySet.as_manager()

    class Meta:
        abstract = True

    def __str__(self) -> str:
        return self.number

    def totals(self, lines: Sequence[LineFields] | None = None) -> DocumentTotals:
        """The document's totals from its lines (read again unless given)."""
        rows = lines if lines is not None else list(self.lines.all())  # type: ignore[attr-defined]
        return DocumentTotals.of(
            [line.amounts(self.currency) for line in rows],
            currency=self.currency,
            discount_percent=self.discount_percent,
        )


class Quote(CommercialDocument):
    """An offer to an account: priced lines valid until a date, sent, then accepted or declined.

    "Expired" is not stored: a sent quote past its validity date is expired (`display_status`).
    """

    class Status(models.TextChoices):
        DRAFT = "draft", "Draft"
        SENT = "sent", "Sent"
        ACCEPTED = "accepted", "Accepted"
        DECLINED = "declined", "Declined"

    permission_name = "quote"

    account = models.ForeignKey(
        "customers.Account", on_delete=models.PROTECT, related_name="quotes"
    )
    opportunity = models.ForeignKey(
        "sales.Opportunity", null=True, blank=True, on_delete=models.SET_NULL, related_name="quotes"
    )
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.DRAFT)
    valid_until = models.DateField()
    terms = models.TextField(blank=True)
    sent_at = models.DateTimeField(null=True, blank=True, editable=False)
    accepted_at = models.DateTimeField(null=True, blank=True, editable=False)
    declined_at = models.DateTimeField(null=True, blank=True, editable=False)
    decline_reason = models.CharField(max_length=300, blank=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        indexes = [
            models.Index(fields=["account", "-created_at"], name="quote_account_idx"),
            models.Index(fields=["status", "valid_until"], name="quote_status_idx"),
            models.Index(fields=["owner", "-created_at"], name="quote_owner_idx"),
            models.Index(fields=["team", "-created_at"], name="quote_team_idx"),
        ]

    def is_expired(self, today: datetime.date | None = None) -> bool:
        today = today or timezone.localdate()
        return self.status == self.Status.SENT and self.valid_until < today

    @property
    def display_status(self) -> str:
        """The status shown to people: "expired" for a sent quote past its validity."""
        return "expired" if self.is_expired() else self.status

    @property
    def is_editable(self) -> bool:
        return self.status == self.Status.DRAFT


class QuoteLine(LineFields):
    """A line of a quote."""

    permission_name = None
    restrict_via = ("quote",)

    quote = models.ForeignKey(Quote, on_delete=models.CASCADE, related_name="lines")

    objects = RestrictedQuerySet.as_manager()

    class Meta:
        ordering = ["quote", "position", "id"]

    def __str__(self) -> str:
        return self.description


class Order(CommercialDocument):
    """A customer's firm order: confirmed, fulfilled, then invoiced by billing (or cancelled)."""

    class Status(models.TextChoices):
        DRAFT = "draft", "Draft"
        CONFIRMED = "confirmed", "Confirmed"
        FULFILLED = "fulfilled", "Fulfilled"
        INVOICED = "invoiced", "Invoiced"
        CANCELLED = "cancelled", "Cancelled"

    permission_name = "order"

    account = models.ForeignKey(
        "customers.Account", on_delete=models.PROTECT, related_name="orders"
    )
    quote = models.OneToOneField(
        Quote, null=True, blank=True, on_delete=models.SET_NULL, related_name="order"
    )
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.DRAFT)
    external_reference = models.CharField(
        max_length=100, blank=True, help_text="The customer's purchase order number."
    )
    confirmed_at = models.DateTimeField(null=True, blank=True, editable=False)
    fulfilled_at = models.DateTimeField(null=True, blank=True, editable=False)
    invoiced_at = models.DateTimeField(null=True, blank=True, editable=False)
    cancelled_at = models.DateTimeField(null=True, blank=True, editable=False)
    cancel_reason = models.CharField(max_length=300, blank=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        indexes = [
            models.Index(fields=["account", "status"], name="order_account_idx"),
            models.Index(fields=["status", "-created_at"], name="order_status_idx"),
            models.Index(fields=["owner", "-created_at"], name="order_owner_idx"),
            models.Index(fields=["team", "-created_at"], name="order_team_idx"),
        ]

    @property
    def display_status(self) -> str:
        return self.status

    @property
    def is_editable(self) -> bool:
        return self.status == self.Status.DRAFT


class OrderLine(LineFields):
    """A line of an order."""

    permission_name = None
    restrict_via = ("order",)

    order = models.ForeignKey(Order, on_delete=models.CASCADE, related_name="lines")

    objects = RestrictedQuerySet.as_manager()

    class Meta:
        ordering = ["order", "position", "id"]

    def __str__(self) -> str:
        return self.description


class OpportunityProduct(LineFields):
    """A product line on an opportunity: what the deal is about, copied into its quotes."""

    permission_name = None
    restrict_via = ("opportunity",)
    parent_actions = {
        "view": "view",
        "export": "export",
        "add": "change",
        "change": "change",
        "delete": "change",
    }

    opportunity = models.ForeignKey(
        "sales.Opportunity", on_delete=models.CASCADE, related_name="products"
    )

    objects = RestrictedQuerySet.as_manager()

    class Meta:
        ordering = ["opportunity", "position", "id"]

    def __str__(self) -> str:
        return self.description
