"""Billing: invoices and credit notes, their numbering series, payments, and the hourly rates
that turn time spent with a customer into a cost to serve."""

from __future__ import annotations

import datetime
from decimal import Decimal

from django.conf import settings
from django.core.validators import MaxValueValidator, MinValueValidator, RegexValidator
from django.db import models
from django.db.models import Q
from django.utils import timezone

from patron.core.permissions import RestrictedQuerySet


def default_currency() -> str:
    """The organisation's currency (`PATRON_DEFAULT_CURRENCY`), EUR when not configured."""
    return str(getattr(settings, "PATRON_DEFAULT_CURRENCY", "EUR") or "EUR").upper()


currency_code = RegexValidator(r"^[A-Z]{3}$", "Use a three-letter ISO 4217 code, e.g. EUR.")
series_code = RegexValidator(r"^[A-Z0-9]{1,10}$", "Use 1-10 capital letters or digits, e.g. INV.")
ZERO = Decimal("0")
PERCENT_MIN = MinValueValidator(0)
PERCENT_MAX = MaxValueValidator(100)


class InvoiceSeries(models.Model):
    """A numbering sequence ("INV", "CN"): each issued document takes the next number, with
    no gaps, which tax authorities require of invoices."""

    class Kind(models.TextChoices):
        INVOICE = "invoice", "Invoices"
        CREDIT_NOTE = "credit_note", "Credit notes"

    permission_name = "invoice"
    record_ownership = False  # configuration: the role alone decides

    code = models.CharField(max_length=10, unique=True, validators=[series_code])
    name = models.CharField(max_length=100)
    kind = models.CharField(max_length=11, choices=Kind.choices, default=Kind.INVOICE)
    prefix = models.CharField(
        max_length=40,
        default="{code}-{year}-",
        help_text="Pattern before the number: {code} and {year} are replaced.",
    )
    padding = models.PositiveSmallIntegerField(default=5, help_text="Digits of the number.")
    next_number = models.PositiveIntegerField(default=1, editable=False)
    is_default = models.BooleanField(
        default=False, help_text="The series new documents of its kind use."
    )

    objects = RestrictedQuerySet.as_manager()

    class Meta:
        ordering = ["kind", "code"]
        verbose_name_plural = "invoice series"
        constraints = [
            models.UniqueConstraint(
                fields=["kind"], condition=Q(is_default=True), name="invoiceseries_one_default"
            ),
            models.CheckConstraint(
                condition=Q(next_number__gte=1), name="invoiceseries_next_number_positive"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.code} ({self.name})"

    def format_number(self, number: int, issued_on: datetime.date) -> str:
        """The printed number, e.g. INV-2026-00042."""
        prefix = self.prefix.replace("{code}", self.code).replace("{year}", str(issued_on.year))
        return f"{prefix}{number:0{self.padding}d}"


class Invoice(models.Model):
    """An invoice or a credit note to an account. A draft may change; issuing gives it its
    number in its series and freezes it: afterwards only payments and credit notes follow."""

    class Status(models.TextChoices):
        DRAFT = "draft", "Draft"
        ISSUED = "issued", "Issued"
        PARTIALLY_PAID = "partially_paid", "Partially paid"
        PAID = "paid", "Paid"
        VOID = "void", "Void"

    class Kind(models.TextChoices):
        INVOICE = "invoice", "Invoice"
        CREDIT_NOTE = "credit_note", "Credit note"

    permission_name = "invoice"
    # An invoice is seen by whoever sees its account (and whose role has invoice.<action>).
    restrict_via = ("account",)
    parent_actions = {a: "view" for a in ("view", "export", "add", "change", "delete")}

    kind = models.CharField(max_length=11, choices=Kind.choices, default=Kind.INVOICE)
    series = models.ForeignKey(InvoiceSeries, on_delete=models.PROTECT, related_name="invoices")
    number = models.PositiveIntegerField(null=True, blank=True, editable=False)
    number_display = models.CharField(max_length=60, blank=True, editable=False)
    status = models.CharField(max_length=14, choices=Status.choices, default=Status.DRAFT)
    account = models.ForeignKey(
        "customers.Account", on_delete=models.PROTECT, related_name="invoices"
    )
    contact = models.ForeignKey(
        "customers.Contact",
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="invoices",
    )
    order = models.ForeignKey(
        "commerce.Order",
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="invoices",
        help_text="The order this invoice bills.",
    )
    credit_of = models.ForeignKey(
        "self",
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="credit_notes",
        help_text="The invoice a credit note corrects.",
    )
    currency = models.CharField(max_length=3, default=default_currency, validators=[currency_code])
    issue_date = models.DateField(null=True, blank=True)
    payment_terms_days = models.PositiveSmallIntegerField(default=30)
    due_date = models.DateField(null=True, blank=True)
    discount_percent = models.DecimalField(
        "document discount (%)",
        max_digits=5,
        decimal_places=2,
        default=ZERO,
        validators=[PERCENT_MIN, PERCENT_MAX],
    )
    notes = models.TextField(blank=True, max_length=4000)
    reason = models.CharField(max_length=300, blank=True, help_text="Why a credit note or void.")
    net_total = models.DecimalField(max_digits=14, decimal_places=2, default=ZERO)
    tax_total = models.DecimalField(max_digits=14, decimal_places=2, default=ZERO)
    gross_total = models.DecimalField(max_digits=14, decimal_places=2, default=ZERO)
    amount_paid = models.DecimalField(max_digits=14, decimal_places=2, default=ZERO)
    amount_credited = models.DecimalField(
        max_digits=14, decimal_places=2, default=ZERO, help_text="Gross of its credit notes."
    )
    # Set by the daily overdue job the first time it finds the invoice overdue.
    overdue_since = models.DateField(null=True, blank=True, editable=False)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    issued_at = models.DateTimeField(null=True, blank=True, editable=False)
    voided_at = models.DateTimeField(null=True, blank=True, editable=False)
    version = models.PositiveIntegerField(default=1, editable=False)
    created_at = models.DateTimeField(default=timezone.now, editable=False)
    updated_at = models.DateTimeField(default=timezone.now, editable=False)

    objects = RestrictedQuerySet.as_manager()

    class Meta:
        ordering = ["-created_at", "-id"]
        indexes = [
            models.Index(fields=["account", "issue_date"], name="invoice_account_idx"),
            models.Index(fields=["status", "due_date"], name="invoice_status_due_idx"),
        ]
        constraints = [
            models.UniqueConstraint(fields=["series", "number"], name="invoice_unique_number"),
            models.CheckConstraint(
                condition=Q(status="draft") | Q(number__isnull=False),
                name="invoice_issued_has_number",
            ),
            models.CheckConstraint(
                condition=Q(amount_paid__gte=0), name="invoice_amount_paid_positive"
            ),
        ]

    def __str__(self) -> str:
        label = "Credit note" if self.kind == self.Kind.CREDIT_NOTE else "Invoice"
        return f"{label} {self.number_display}" if self.number_display else f"Draft {label.lower()}"

    @property
    def is_draft(self) -> bool:
        return self.status == self.Status.DRAFT

    @property
    def is_credit_note(self) -> bool:
        return self.kind == self.Kind.CREDIT_NOTE

    @property
    def balance(self) -> Decimal:
        """What the customer still owes: gross, less credit notes and payments."""
        return self.gross_total - self.amount_credited - self.amount_paid

    def is_overdue(self, today: datetime.date | None = None) -> bool:
        """Issued, past its due date and not settled."""
        today = today or timezone.localdate()
        return (
            self.kind == self.Kind.INVOICE
            and self.status in (self.Status.ISSUED, self.Status.PARTIALLY_PAID)
            and self.due_date is not None
            and self.due_date < today
            and self.balance > 0
        )


class InvoiceLine(models.Model):
    """One line of an invoice, with what it cost us (a snapshot taken when it was written, so
    margins do not move when a product's cost changes)."""

    permission_name = None
    restrict_via = ("invoice",)

    invoice = models.ForeignKey(Invoice, on_delete=models.CASCADE, related_name="lines")
    position = models.PositiveIntegerField(default=0)
    product = models.ForeignKey(
        "commerce.Product", null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    sku = models.CharField(max_length=64, blank=True, help_text="The product's SKU, as invoiced.")
    description = models.CharField(max_length=500)
    quantity = models.DecimalField(max_digits=12, decimal_places=3, default=Decimal("1"))
    unit_price = models.DecimalField(
        max_digits=14, decimal_places=4, validators=[MinValueValidator(0)]
    )
    discount_percent = models.DecimalField(
        max_digits=5, decimal_places=2, default=ZERO, validators=[PERCENT_MIN, PERCENT_MAX]
    )
    tax_rate = models.DecimalField(
        max_digits=6, decimal_places=3, default=ZERO, validators=[PERCENT_MIN, PERCENT_MAX]
    )
    unit_cost = models.DecimalField(
        max_digits=14, decimal_places=4, default=ZERO, validators=[MinValueValidator(0)]
    )
    net_amount = models.DecimalField(max_digits=14, decimal_places=2, default=ZERO)
    tax_amount = models.DecimalField(max_digits=14, decimal_places=2, default=ZERO)
    gross_amount = models.DecimalField(max_digits=14, decimal_places=2, default=ZERO)
    cost_amount = models.DecimalField(
        max_digits=14, decimal_places=2, default=ZERO, help_text="Quantity × unit cost."
    )
    # On a credit note: the invoice line it gives back (part of).
    credited_line = models.ForeignKey(
        "self", null=True, blank=True, on_delete=models.PROTECT, related_name="credits"
    )

    objects = RestrictedQuerySet.as_manager()

    class Meta:
        ordering = ["invoice", "position", "id"]
        constraints = [
            models.CheckConstraint(
                condition=Q(discount_percent__lte=100), name="invoiceline_discount_max"
            )
        ]

    def __str__(self) -> str:
        return self.description


class Payment(models.Model):
    """Money received against an issued invoice. A mistaken payment is reversed, never
    deleted, so the invoice's history stays readable."""

    class Method(models.TextChoices):
        BANK_TRANSFER = "bank_transfer", "Bank transfer"
        CARD = "card", "Card"
        CASH = "cash", "Cash"
        CHEQUE = "cheque", "Cheque"
        DIRECT_DEBIT = "direct_debit", "Direct debit"
        OTHER = "other", "Other"

    permission_name = "payment"
    restrict_via = ("invoice",)
    parent_actions = {a: "view" for a in ("view", "export", "add", "change", "delete")}

    invoice = models.ForeignKey(Invoice, on_delete=models.PROTECT, related_name="payments")
    amount = models.DecimalField(
        max_digits=14, decimal_places=2, validators=[MinValueValidator(Decimal("0.01"))]
    )
    paid_on = models.DateField(default=timezone.localdate)
    method = models.CharField(max_length=20, choices=Method.choices, default=Method.BANK_TRANSFER)
    reference = models.CharField(max_length=200, blank=True)
    recorded_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    reversed_at = models.DateTimeField(null=True, blank=True, editable=False)
    reversed_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    reversal_reason = models.CharField(max_length=300, blank=True)
    created_at = models.DateTimeField(default=timezone.now, editable=False)

    objects = RestrictedQuerySet.as_manager()

    class Meta:
        ordering = ["invoice", "paid_on", "id"]
        constraints = [
            models.CheckConstraint(condition=Q(amount__gt=0), name="payment_amount_positive")
        ]

    def __str__(self) -> str:
        return f"{self.amount} on {self.paid_on}"

    @property
    def is_reversed(self) -> bool:
        return self.reversed_at is not None


RATES_SINCE = datetime.date(2000, 1, 1)  # the start of a rate that has always applied


class CostRate(models.Model):
    """What an hour of one kind of activity with a customer costs us (a call, a meeting), from
    a day on: the basis of each customer's cost to serve. A new rate from a later day leaves
    the time logged before it at the rate it had. Edited in the Django admin (through
    `services.cost_rate_*`, audited)."""

    class Activity(models.TextChoices):
        CALL = "call", "Call"
        MEETING = "meeting", "Meeting"

    permission_name = "invoice"
    record_ownership = False

    activity = models.CharField(max_length=20, choices=Activity.choices)
    hourly_rate = models.DecimalField(
        max_digits=10, decimal_places=2, validators=[MinValueValidator(0)]
    )
    valid_from = models.DateField(
        default=RATES_SINCE, help_text="The rate applies to time logged from this day on."
    )
    updated_at = models.DateTimeField(default=timezone.now, editable=False)

    objects = RestrictedQuerySet.as_manager()

    class Meta:
        ordering = ["activity", "valid_from"]
        constraints = [
            models.UniqueConstraint(fields=["activity", "valid_from"], name="cost_rate_from")
        ]

    def __str__(self) -> str:
        return f"{self.get_activity_display()}: {self.hourly_rate} / hour from {self.valid_from}"
