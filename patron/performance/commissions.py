"""Commission arithmetic: pure functions, no database.

A plan's tiers are attainment bands: a tier starting at 50 % of quota applies up to the next
tier's start (the last tier has no end; a tier starting at 100 % or more is an accelerator).

* **marginal** (the default, and what most plans mean by tiers): each band's rate applies to
  the part of the revenue that falls in that band. Deals fill the bands in closing order, so a
  deal that crosses 100 % is paid partly at the rate below and partly at the accelerator.
* **flat**: the rate of the band the period's final attainment reaches applies to all revenue.

With no quota (zero), attainment is undefined: every deal is paid at the first tier's rate.
Each deal's commission is rounded half-up to the cent; the total is the sum of the deals.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from decimal import ROUND_HALF_UP, Decimal

CENT = Decimal("0.01")
HUNDRED = Decimal("100")


@dataclass(frozen=True)
class Tier:
    from_attainment: Decimal  # % of quota
    rate: Decimal  # % of revenue


def _sorted(tiers: Sequence[Tier]) -> list[Tier]:
    return sorted(tiers, key=lambda t: t.from_attainment)


def rate_at(tiers: Sequence[Tier], attainment: Decimal) -> Decimal:
    """The rate of the band `attainment` (in %) falls in; a band includes its start."""
    rate = Decimal("0")
    for tier in _sorted(tiers):
        if attainment >= tier.from_attainment:
            rate = tier.rate
    return rate


def marginal_commission(tiers: Sequence[Tier], quota: Decimal, lo: Decimal, hi: Decimal) -> Decimal:
    """Commission on the revenue between cumulative amounts `lo` and `hi` (exact)."""
    ordered = _sorted(tiers)
    total = Decimal("0")
    for i, tier in enumerate(ordered):
        band_lo = tier.from_attainment * quota / HUNDRED
        band_hi = ordered[i + 1].from_attainment * quota / HUNDRED if i + 1 < len(ordered) else None
        top = hi if band_hi is None else min(hi, band_hi)
        overlap = top - max(lo, band_lo)
        if overlap > 0:
            total += overlap * tier.rate / HUNDRED
    return total


def deal_commissions(
    *, revenues: Sequence[Decimal], quota: Decimal, tiers: Sequence[Tier], method: str
) -> list[Decimal]:
    """Each deal's commission (in closing order), rounded to the cent."""
    if not tiers:
        return [Decimal("0.00") for _ in revenues]
    if quota <= 0:
        base = _sorted(tiers)[0].rate
        return [(r * base / HUNDRED).quantize(CENT, ROUND_HALF_UP) for r in revenues]
    if method == "flat":
        attainment = sum(revenues, Decimal("0")) / quota * HUNDRED
        rate = rate_at(tiers, attainment)
        return [(r * rate / HUNDRED).quantize(CENT, ROUND_HALF_UP) for r in revenues]
    result = []
    filled = Decimal("0")
    for revenue in revenues:
        exact = marginal_commission(tiers, quota, filled, filled + revenue)
        result.append(exact.quantize(CENT, ROUND_HALF_UP))
        filled += revenue
    return result
