"""Template filters of the billing pages: amounts in a currency, bar lengths, status chips."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from django import template

from patron.utils import money

register = template.Library()


@register.filter
def amount(value: Any, currency: str) -> str:
    """`value` with the currency's decimals and thousands separators: 1234.5, EUR → 1,234.50."""
    if value is None or value == "":
        return ""
    return money.format_amount(Decimal(value), currency)


@register.filter
def bar(value: Any, largest: Any) -> int:
    """The length of a chart bar in percent of the largest one (0-100)."""
    value, largest = abs(Decimal(value or 0)), Decimal(largest or 0)
    if largest <= 0:
        return 0
    return int(min(Decimal(100), value * 100 / largest))


@register.filter
def status_chip(status: str) -> str:
    return {
        "paid": "chip-primary",
        "void": "chip-muted",
        "draft": "",
        "partially_paid": "chip-warning",
    }.get(status, "")


@register.filter
def hours(value: Any, unit: str = "seconds") -> str:
    """A duration as hours with one decimal: 5400 seconds → "1.5"."""
    divisor = 3600 if unit == "seconds" else 60
    return str(money.quantize_to(Decimal(value or 0) / divisor, 1))


@register.filter
def overdue_on(invoice: Any, today: Any) -> bool:
    return bool(invoice.is_overdue(today))


@register.filter
def add_costs(cogs: Any, cost_to_serve: Any) -> Decimal:
    return Decimal(cogs or 0) + Decimal(cost_to_serve or 0)
