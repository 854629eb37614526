"""Money in commerce pages: amounts with the currency's decimals, unit prices and quantities
without useless zeros, percents as people write them."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from django import template

from patron.utils.money import format_amount, plain_rate

register = template.Library()


def _decimal(value: Any) -> Decimal | None:
    if value is None or value == "":
        return None
    try:
        return Decimal(str(value))
    except ArithmeticError:
        return None


@register.filter
def amount(value: Any, currency: str = "") -> str:
    """1234.5 with "EUR" → "1,234.50"; with "JPY" → "1,235"."""
    number = _decimal(value)
    return "" if number is None else format_amount(number, currency or "EUR")


@register.filter
def unit_price(value: Any, currency: str = "") -> str:
    """A unit price with at least the currency's decimals and at most 4: 9.9900 → "9.99"."""
    number = _decimal(value)
    return "" if number is None else format_amount(number, currency or "EUR", decimals=4)


@register.filter
def plain(value: Any) -> str:
    """A quantity or percent without trailing zeros: 2.000 → "2", 5.500 → "5.5"."""
    number = _decimal(value)
    return "" if number is None else format(plain_rate(number), "f")
