"""Every read of billing data, through the permission chokepoint (`restrict`), and each
customer's economics: revenue, cost of goods, cost to serve and margin, month by month."""

from __future__ import annotations

import bisect
import datetime
from collections import defaultdict
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

from django.db.models import F, Prefetch, Q, QuerySet
from django.utils import timezone

from patron.customers.models import Account, AccountRelationship, Contact, TimelineEntry
from patron.utils import money

from .models import CostRate, Invoice, InvoiceLine, Payment, default_currency

ZERO = Decimal("0")
# What an hour costs when the admin has not set a rate (the data migration stores these).
DEFAULT_RATES = {"call": Decimal("60.00"), "meeting": Decimal("90.00")}
OPEN_STATUSES = (Invoice.Status.ISSUED, Invoice.Status.PARTIALLY_PAID)


def invoice_visible(*, user: Any, action: str = "view") -> QuerySet[Invoice]:
    return Invoice.objects.restrict(user, action)


def invoices_for_list(queryset: QuerySet[Invoice]) -> QuerySet[Invoice]:
    """What a list row shows, in a fixed number of queries."""
    return queryset.select_related("account", "contact", "series", "credit_of", "order")


def invoice_get(*, user: Any, pk: int, action: str = "view") -> Invoice:
    """One invoice the user may act on, with its lines, payments and credit notes;
    DoesNotExist otherwise."""
    return (
        invoices_for_list(invoice_visible(user=user, action=action))
        .select_related("created_by")
        .prefetch_related(
            Prefetch("lines", queryset=InvoiceLine.objects.order_by("position", "id")),
            Prefetch(
                "payments",
                queryset=Payment.objects.select_related("recorded_by", "reversed_by").order_by(
                    "paid_on", "id"
                ),
            ),
            Prefetch("credit_notes", queryset=Invoice.objects.order_by("issue_date", "id")),
        )
        .get(pk=pk)
    )


def payment_get(*, user: Any, pk: int, action: str = "view") -> Payment:
    return Payment.objects.restrict(user, action).select_related("invoice").get(pk=pk)


def creditable_lines(invoice: Invoice) -> dict[int, tuple[InvoiceLine, Decimal]]:
    """Each line of `invoice` (read through `restrict` by the caller) with the quantity not
    yet given back by its credit notes."""
    result: dict[int, tuple[InvoiceLine, Decimal]] = {}
    lines = InvoiceLine.objects.filter(invoice=invoice).prefetch_related("credits")
    for line in lines.order_by("position", "id"):
        credited = sum((-c.quantity for c in line.credits.all()), ZERO)
        result[line.pk] = (line, line.quantity - credited)
    return result


def overdue_q(today: datetime.date | None = None) -> Q:
    """Issued invoices past their due date that still have a balance."""
    today = today or timezone.localdate()
    return Q(
        kind=Invoice.Kind.INVOICE,
        status__in=OPEN_STATUSES,
        due_date__lt=today,
        gross_total__gt=F("amount_credited") + F("amount_paid"),
    )


def invoices_overdue(*, user: Any, today: datetime.date | None = None) -> QuerySet[Invoice]:
    return invoices_for_list(invoice_visible(user=user).filter(overdue_q(today))).order_by(
        "due_date", "id"
    )


def invoices_for_account(*, user: Any, account: Account) -> QuerySet[Invoice]:
    return invoices_for_list(invoice_visible(user=user).filter(account=account))


def orders_to_invoice(*, user: Any, account: Account | None = None) -> QuerySet[Any]:
    """Confirmed or fulfilled orders the user may see that no live invoice bills yet."""
    from patron.commerce.models import Order

    queryset = (
        Order.objects.restrict(user, "view")
        .filter(status__in=("confirmed", "fulfilled"))
        .exclude(invoices__status__in=[s for s in Invoice.Status.values if s != "void"])
        .select_related("account")
        .order_by("-created_at", "-id")
    )
    if account is not None:
        queryset = queryset.filter(account=account)
    return queryset


def order_visible(*, user: Any) -> QuerySet[Any]:
    from patron.commerce.models import Order

    return Order.objects.restrict(user, "view")


# --- customer economics --------------------------------------------------------------------------


@dataclass
class Figures:
    """Revenue, cost of goods and cost to serve over a period; margin is what is left."""

    revenue: Decimal = ZERO
    cogs: Decimal = ZERO
    cost_to_serve: Decimal = ZERO

    @property
    def margin(self) -> Decimal:
        return self.revenue - self.cogs - self.cost_to_serve

    @property
    def margin_percent(self) -> Decimal | None:
        if self.revenue <= 0:
            return None
        return money.quantize_to(self.margin * 100 / self.revenue, 1)

    def add(self, other: Figures) -> None:
        self.revenue += other.revenue
        self.cogs += other.cogs
        self.cost_to_serve += other.cost_to_serve


@dataclass
class Month(Figures):
    month: datetime.date = datetime.date(1970, 1, 1)  # its first day

    @property
    def label(self) -> str:
        return self.month.strftime("%b %Y")


@dataclass
class Economics:
    """One customer's economics in the organisation's currency: lifetime figures, the last 12
    months, the time logged that makes up the cost to serve, and the rates it was priced at."""

    currency: str
    lifetime: Figures
    months: list[Month]
    call_seconds: int
    meeting_minutes: int
    rates: dict[str, Decimal]
    documents: int
    other_currency_documents: int
    open_balance: Decimal = ZERO  # still owed on issued invoices
    overdue_balance: Decimal = ZERO  # of which past due
    overdue_count: int = 0
    extra: dict[str, Any] = field(default_factory=dict)

    @property
    def largest(self) -> Decimal:
        """The largest bar of the monthly chart (revenue or total cost)."""
        values = [ZERO]
        for m in self.months:
            values.extend([m.revenue, m.cogs + m.cost_to_serve, abs(m.margin)])
        return max(values)


class RateTable:
    """Each activity's hourly rates by the day they start, for pricing time logged on any
    day; before an activity's first rate (or without one) its default applies."""

    def __init__(self) -> None:
        self.starts: dict[str, list[datetime.date]] = defaultdict(list)
        self.rates: dict[str, list[Decimal]] = defaultdict(list)
        rows = CostRate.objects.order_by("activity", "valid_from")
        for activity, valid_from, rate in rows.values_list("activity", "valid_from", "hourly_rate"):
            self.starts[activity].append(valid_from)
            self.rates[activity].append(rate)

    def on(self, activity: str, day: datetime.date) -> Decimal:
        index = bisect.bisect_right(self.starts.get(activity, []), day) - 1
        if index < 0:
            return DEFAULT_RATES[activity]
        return self.rates[activity][index]


def cost_rates(day: datetime.date | None = None) -> dict[str, Decimal]:
    """The hourly rate of each activity on `day` (today): the admin's, else the default."""
    table = RateTable()
    day = day or timezone.localdate()
    return {activity: table.on(activity, day) for activity in DEFAULT_RATES}


def _month_of(day: datetime.date) -> datetime.date:
    return day.replace(day=1)


def _last_months(today: datetime.date, count: int = 12) -> list[datetime.date]:
    first = _month_of(today)
    months = []
    for _ in range(count):
        months.append(first)
        first = _month_of(first - datetime.timedelta(days=1))
    return list(reversed(months))


def _economics(
    *,
    user: Any,
    documents: QuerySet[Invoice],
    entries: QuerySet[TimelineEntry],
    today: datetime.date | None,
) -> Economics:
    currency = default_currency()
    today = today or timezone.localdate()
    table = RateTable()
    buckets: dict[datetime.date, Figures] = defaultdict(Figures)
    counted = documents.exclude(status=Invoice.Status.DRAFT).filter(currency=currency)
    other = documents.exclude(status=Invoice.Status.DRAFT).exclude(currency=currency).count()
    issued = list(counted.values_list("pk", "issue_date", "net_total"))
    for _pk, issue_date, net in issued:
        if issue_date is not None:  # always set once issued
            buckets[_month_of(issue_date)].revenue += net
    lines = InvoiceLine.objects.filter(invoice__in=counted.values("pk")).values_list(
        "invoice__issue_date", "cost_amount"
    )
    for issue_date, cost in lines:
        if issue_date is not None:
            buckets[_month_of(issue_date)].cogs += cost
    seconds: dict[datetime.date, int] = defaultdict(int)
    minutes: dict[datetime.date, int] = defaultdict(int)
    costs: dict[datetime.date, Decimal] = defaultdict(Decimal)
    for kind, occurred_at, data in entries.filter(kind__in=("call", "meeting")).values_list(
        "kind", "occurred_at", "data"
    ):
        day = timezone.localtime(occurred_at).date()
        month = _month_of(day)
        data = data if isinstance(data, dict) else {}
        if kind == "call":  # each entry at the rate of its day
            duration = int(data.get("duration_seconds") or 0)
            seconds[month] += duration
            costs[month] += Decimal(duration) * table.on("call", day) / 3600
        else:
            duration = int(data.get("duration_minutes") or 0)
            minutes[month] += duration
            costs[month] += Decimal(duration) * table.on("meeting", day) / 60
    for month, cost in costs.items():
        buckets[month].cost_to_serve += money.quantize(cost, currency)
    lifetime = Figures()
    for figures in buckets.values():
        lifetime.add(figures)
    months = []
    for first in _last_months(today):
        figures = buckets.get(first, Figures())
        months.append(
            Month(
                month=first,
                revenue=figures.revenue,
                cogs=figures.cogs,
                cost_to_serve=figures.cost_to_serve,
            )
        )
    owed = counted.filter(kind=Invoice.Kind.INVOICE, status__in=OPEN_STATUSES)
    open_balance, overdue_balance, overdue_count = ZERO, ZERO, 0
    for invoice in owed.only(
        "kind", "status", "due_date", "gross_total", "amount_credited", "amount_paid"
    ):
        open_balance += max(invoice.balance, ZERO)
        if invoice.is_overdue(today):
            overdue_balance += invoice.balance
            overdue_count += 1
    return Economics(
        open_balance=open_balance,
        overdue_balance=overdue_balance,
        overdue_count=overdue_count,
        currency=currency,
        lifetime=lifetime,
        months=months,
        call_seconds=sum(seconds.values()),
        meeting_minutes=sum(minutes.values()),
        rates={activity: table.on(activity, today) for activity in DEFAULT_RATES},
        documents=len(issued),
        other_currency_documents=other,
    )


def economics_for_account(
    *, user: Any, account: Account, today: datetime.date | None = None
) -> Economics:
    """The account's issued invoices and credit notes, and the calls and meetings logged on
    the account and on the people who work there (each entry once). The caller has read the
    account through `restrict`; the timeline entries counted are those the user may see."""
    contacts = AccountRelationship.objects.filter(account=account).values("contact_id")
    entries = TimelineEntry.objects.restrict(user, "view").filter(
        Q(account=account) | Q(contact_id__in=contacts)
    )
    return _economics(
        user=user,
        documents=invoice_visible(user=user).filter(account=account),
        entries=entries,
        today=today,
    )


def economics_for_contact(
    *, user: Any, contact: Contact, today: datetime.date | None = None
) -> Economics:
    """The documents addressed to the person, and the calls and meetings logged on them."""
    entries = TimelineEntry.objects.restrict(user, "view").filter(contact=contact)
    return _economics(
        user=user,
        documents=invoice_visible(user=user).filter(contact=contact),
        entries=entries,
        today=today,
    )
