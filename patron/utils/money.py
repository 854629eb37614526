"""Money arithmetic for business documents (quotes, orders, invoices): Decimal only, rounded
half-up to the currency's minor unit.

A line's net is rounded to the currency, then its tax is computed on that rounded net and rounded
again (per line), so the document's totals are exact sums of what the customer sees on each line.
Floats are refused with a TypeError: 0.1 + 0.2 must never reach an invoice.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from decimal import ROUND_HALF_UP, Decimal

# ISO 4217 currencies whose minor unit is not 2 decimals. Every other currency uses 2.
ZERO_DECIMAL_CURRENCIES = frozenset(
    {
        "BIF",
        "CLP",
        "DJF",
        "GNF",
        "ISK",
        "JPY",
        "KMF",
        "KRW",
        "PYG",
        "RWF",
        "UGX",
        "UYI",
        "VND",
        "VUV",
        "XAF",
        "XOF",
        "XPF",
    }
)
THREE_DECIMAL_CURRENCIES = frozenset({"BHD", "IQD", "JOD", "KWD", "LYD", "OMR", "TND"})
FOUR_DECIMAL_CURRENCIES = frozenset({"CLF", "UYW"})

HUNDRED = Decimal(100)
ZERO = Decimal(0)


def minor_units(currency: str) -> int:
    """Number of decimals of the currency's minor unit (ISO 4217 exponent); 2 when unknown."""
    code = (currency or "").strip().upper()
    if code in ZERO_DECIMAL_CURRENCIES:
        return 0
    if code in THREE_DECIMAL_CURRENCIES:
        return 3
    if code in FOUR_DECIMAL_CURRENCIES:
        return 4
    return 2


def _exponent(decimals: int) -> Decimal:
    return Decimal(1).scaleb(-decimals)


def as_decimal(value: Decimal | int | str, *, name: str = "amount") -> Decimal:
    """`value` as a Decimal; ints and numeric strings are accepted, floats are a TypeError."""
    if isinstance(value, (bool, float)):
        raise TypeError(f"{name} must be a Decimal, not {type(value).__name__}")
    if isinstance(value, Decimal):
        if not value.is_finite():
            raise ValueError(f"{name} must be a finite number")
        return value
    if isinstance(value, int):
        return Decimal(value)
    if isinstance(value, str):
        try:
            result = Decimal(value.strip())
        except ArithmeticError:
            raise ValueError(f"{name} is not a number: {value!r}") from None
        if not result.is_finite():
            raise ValueError(f"{name} must be a finite number")
        return result
    raise TypeError(f"{name} must be a Decimal, not {type(value).__name__}")


def quantize(amount: Decimal | int | str, currency: str) -> Decimal:
    """`amount` rounded half-up to the currency's minor unit (JPY 0, EUR 2, KWD 3 decimals)."""
    value = as_decimal(amount)
    return value.quantize(_exponent(minor_units(currency)), rounding=ROUND_HALF_UP)


def quantize_to(amount: Decimal | int | str, decimals: int) -> Decimal:
    """`amount` rounded half-up to `decimals` places (unit prices keep 4)."""
    return as_decimal(amount).quantize(_exponent(decimals), rounding=ROUND_HALF_UP)


def _percent(value: Decimal | int | str, name: str) -> Decimal:
    result = as_decimal(value, name=name)
    if result < 0 or result > HUNDRED:
        raise ValueError(f"{name} must be between 0 and 100")
    return result


def plain_rate(rate: Decimal) -> Decimal:
    """A percent without trailing zeros, for grouping and display: 20.00 → 20, 5.50 → 5.5."""
    value = as_decimal(rate, name="rate").normalize()
    return value.quantize(Decimal(1)) if value == value.to_integral_value() else value


@dataclass(frozen=True)
class LineAmounts:
    """One document line: quantity × unit price, less a discount percent, and tax on the net."""

    quantity: Decimal
    unit_price: Decimal
    currency: str
    discount_percent: Decimal = ZERO
    tax_rate: Decimal = ZERO
    gross_before_discount: Decimal = field(init=False)
    discount: Decimal = field(init=False)
    net: Decimal = field(init=False)
    tax: Decimal = field(init=False)
    gross: Decimal = field(init=False)

    def __post_init__(self) -> None:
        quantity = as_decimal(self.quantity, name="quantity")
        unit_price = as_decimal(self.unit_price, name="unit_price")
        discount_percent = _percent(self.discount_percent, "discount_percent")
        tax_rate = _percent(self.tax_rate, "tax_rate")
        currency = (self.currency or "").strip().upper()
        before = quantize(quantity * unit_price, currency)
        net = quantize(quantity * unit_price * (HUNDRED - discount_percent) / HUNDRED, currency)
        tax = quantize(net * tax_rate / HUNDRED, currency)
        set_ = object.__setattr__
        set_(self, "quantity", quantity)
        set_(self, "unit_price", unit_price)
        set_(self, "discount_percent", discount_percent)
        set_(self, "tax_rate", tax_rate)
        set_(self, "currency", currency)
        set_(self, "gross_before_discount", before)
        set_(self, "discount", before - net)
        set_(self, "net", net)
        set_(self, "tax", tax)
        set_(self, "gross", net + tax)


@dataclass(frozen=True)
class TaxBreakdown:
    """The net and tax of all lines at one tax rate, after any document discount."""

    rate: Decimal
    net: Decimal
    tax: Decimal


@dataclass(frozen=True)
class DocumentTotals:
    """The totals of a document: sums of its rounded lines, then an optional document discount.

    The document discount applies to each tax rate's net (so tax stays correct per rate); tax is
    then recomputed per rate on the discounted net. Without a document discount, the tax per rate
    is the exact sum of the lines' rounded taxes.
    """

    currency: str
    lines_net: Decimal
    discount_percent: Decimal
    discount: Decimal
    net: Decimal
    taxes: tuple[TaxBreakdown, ...]
    tax: Decimal
    gross: Decimal

    @classmethod
    def of(
        cls,
        lines: Iterable[LineAmounts],
        *,
        currency: str,
        discount_percent: Decimal | int | str = ZERO,
    ) -> DocumentTotals:
        code = (currency or "").strip().upper()
        percent = _percent(discount_percent, "discount_percent")
        per_rate: dict[Decimal, list[Decimal]] = {}
        lines_net = quantize(ZERO, code)
        for line in lines:
            if not isinstance(line, LineAmounts):
                raise TypeError("lines must be LineAmounts")
            if line.currency != code:
                raise ValueError(f"a {line.currency} line cannot be added to a {code} document")
            lines_net += line.net
            sums = per_rate.setdefault(plain_rate(line.tax_rate), [ZERO, ZERO])
            sums[0] += line.net
            sums[1] += line.tax
        taxes = []
        for rate in sorted(per_rate):
            rate_net, rate_tax = per_rate[rate]
            if percent:
                rate_net = quantize(rate_net * (HUNDRED - percent) / HUNDRED, code)
                rate_tax = quantize(rate_net * rate / HUNDRED, code)
            taxes.append(
                TaxBreakdown(rate=rate, net=quantize(rate_net, code), tax=quantize(rate_tax, code))
            )
        net = quantize(sum((t.net for t in taxes), ZERO), code)
        tax = quantize(sum((t.tax for t in taxes), ZERO), code)
        return cls(
            currency=code,
            lines_net=lines_net,
            discount_percent=percent,
            discount=lines_net - net,
            net=net,
            taxes=tuple(taxes),
            tax=tax,
            gross=net + tax,
        )


def format_amount(amount: Decimal, currency: str, *, decimals: int | None = None) -> str:
    """`amount` with thousands separators and the currency's decimals: 1234.5 EUR → "1,234.50".

    With `decimals`, at least that many places are shown but extra significant ones are kept
    (unit prices: 12.3450 → "12.345", 12.5000 → "12.50").
    """
    value = as_decimal(amount)
    places = minor_units(currency)
    if decimals is not None:
        value = quantize_to(value, decimals)
        normalized = value.normalize()
        exponent = normalized.as_tuple().exponent
        significant = -exponent if isinstance(exponent, int) and exponent < 0 else 0
        places = max(places, min(significant, decimals))
    value = quantize_to(value, places)
    return f"{value:,.{places}f}"
