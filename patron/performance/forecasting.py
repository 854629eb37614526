"""The forecast from history: pure functions, no database (selectors feed them rows).

For every open stage S, the closed opportunities that were ever in S tell

* the **win rate** from S: of those that were ever in S, the share that ended won, and
* the **cycle times** from S: for the won ones, the days from first entering S to the close.

An open opportunity in S that entered it on day `e` then wins with the rate of S, and, if it
wins, closes `c` days after `e` with `c` drawn from the cycle times of S that are still
possible (at least the days it has already spent there). It lands in the period when
`start ≤ e + c ≤ end`. Each opportunity is a Bernoulli trial worth its amount with
`q = win rate × P(closes in the period | wins)`; the forecast is the closed-won amount plus
the sum of those trials: expected value `Σ q·a`, variance `Σ q(1−q)·a²`, and a 10th–90th
percentile range from the normal approximation (`expected ± 1.2816 σ`), clipped to what can
actually happen (no less than closed won, no more than closed won plus every deal in play).

With fewer than `min_deals` closed opportunities through a stage, its rate falls back on the
stage's probability; with fewer than `min_cycles` won ones, the timing falls back on each
opportunity's expected close date. Both are reported, so the page can say so.
"""

from __future__ import annotations

import datetime
from bisect import bisect_left, bisect_right
from collections.abc import Iterable
from dataclasses import dataclass, field
from decimal import ROUND_HALF_UP, Decimal

MIN_DEALS = 10
MIN_CYCLES = 5
Z_90 = Decimal("1.2815516")  # the standard normal's 90th percentile
CENT = Decimal("0.01")


def cents(value: Decimal) -> Decimal:
    return value.quantize(CENT, rounding=ROUND_HALF_UP)


@dataclass(frozen=True)
class StageVisit:
    """A closed opportunity's first entry into an open stage."""

    opportunity_id: int
    stage_id: int
    entered_on: datetime.date
    closed_on: datetime.date
    won: bool


@dataclass
class StageHistory:
    """What closed opportunities did after being in one stage."""

    stage_id: int
    deals: int = 0
    won: int = 0
    cycle_days: list[int] = field(default_factory=list)  # won deals, sorted

    @property
    def win_rate(self) -> Decimal | None:
        return Decimal(self.won) / Decimal(self.deals) if self.deals else None

    @property
    def median_cycle_days(self) -> int | None:
        if not self.cycle_days:
            return None
        return self.cycle_days[(len(self.cycle_days) - 1) // 2]


def stage_histories(visits: Iterable[StageVisit]) -> dict[int, StageHistory]:
    """Win rate and cycle times per stage from closed opportunities' first stage entries
    (one visit per opportunity and stage; a later duplicate is ignored)."""
    seen: set[tuple[int, int]] = set()
    result: dict[int, StageHistory] = {}
    for visit in visits:
        key = (visit.opportunity_id, visit.stage_id)
        if key in seen:
            continue
        seen.add(key)
        history = result.setdefault(visit.stage_id, StageHistory(stage_id=visit.stage_id))
        history.deals += 1
        if visit.won:
            history.won += 1
            history.cycle_days.append(max(0, (visit.closed_on - visit.entered_on).days))
    for history in result.values():
        history.cycle_days.sort()
    return result


@dataclass(frozen=True)
class OpenGroup:
    """Open opportunities that share everything their forecast depends on: stage, the day
    they entered it and whether their expected close date is in the period. Amounts are in
    the organisation's currency; `amount_squares` is the sum of each amount squared."""

    stage_id: int
    stage_probability: int
    entered_on: datetime.date
    expected_in_period: bool
    count: int
    amount: Decimal
    amount_squares: Decimal


@dataclass
class StageEstimate:
    """How one open stage was forecast."""

    stage_id: int
    win_rate: Decimal  # 0..1
    rate_from_history: bool
    timing_from_history: bool
    deals: int
    won: int
    median_cycle_days: int | None
    open_count: int = 0
    open_amount: Decimal = Decimal("0")
    expected: Decimal = Decimal("0")


@dataclass
class HistoryForecast:
    """Closed won plus the expected value of the open deals, with a 10th–90th percentile range."""

    closed_won: Decimal
    expected: Decimal
    low: Decimal
    high: Decimal
    stages: dict[int, StageEstimate]

    @property
    def fallback(self) -> bool:
        """Whether some stage had too little history for its rate or its timing."""
        return any(
            not (s.rate_from_history and s.timing_from_history)
            for s in self.stages.values()
            if s.open_count
        )


def chance_closes_in_period(
    *,
    cycle_days: list[int],
    entered_on: datetime.date,
    today: datetime.date,
    start: datetime.date,
    end: datetime.date,
) -> Decimal:
    """P(closes between `start` and `end` | it wins, has been in the stage since `entered_on`
    and is still open today), from the stage's won cycle times (sorted)."""
    if end < today:
        return Decimal("0")
    already = (today - entered_on).days
    possible = len(cycle_days) - bisect_left(cycle_days, already)
    if not possible:
        # Older than every won deal from this stage: if it wins, it wins now.
        return Decimal("1") if start <= today <= end else Decimal("0")
    first = max(already, (start - entered_on).days)
    last = (end - entered_on).days
    hits = max(0, bisect_right(cycle_days, last) - bisect_left(cycle_days, first))
    return Decimal(hits) / Decimal(possible)


def forecast_from_history(
    *,
    histories: dict[int, StageHistory],
    groups: Iterable[OpenGroup],
    closed_won: Decimal,
    start: datetime.date,
    end: datetime.date,
    today: datetime.date,
    min_deals: int = MIN_DEALS,
    min_cycles: int = MIN_CYCLES,
) -> HistoryForecast:
    """The expected closed-won amount of the period and its 10th–90th percentile range."""
    mean = Decimal("0")
    variance = Decimal("0")
    in_play = Decimal("0")
    stages: dict[int, StageEstimate] = {}
    for group in groups:
        history = histories.get(group.stage_id) or StageHistory(stage_id=group.stage_id)
        estimate = stages.get(group.stage_id)
        if estimate is None:
            from_history = history.deals >= min_deals
            rate = history.win_rate if from_history else None
            estimate = StageEstimate(
                stage_id=group.stage_id,
                win_rate=rate if rate is not None else Decimal(group.stage_probability) / 100,
                rate_from_history=from_history,
                timing_from_history=len(history.cycle_days) >= min_cycles,
                deals=history.deals,
                won=history.won,
                median_cycle_days=history.median_cycle_days,
            )
            stages[group.stage_id] = estimate
        if end < today:
            timing = Decimal("0")  # the period is over: open deals did not close in it
        elif estimate.timing_from_history:
            timing = chance_closes_in_period(
                cycle_days=history.cycle_days,
                entered_on=group.entered_on,
                today=today,
                start=start,
                end=end,
            )
        else:
            timing = Decimal("1") if group.expected_in_period else Decimal("0")
        q = estimate.win_rate * timing
        estimate.open_count += group.count
        estimate.open_amount += group.amount
        estimate.expected += q * group.amount
        mean += q * group.amount
        variance += q * (1 - q) * group.amount_squares
        if q > 0:
            in_play += group.amount
    sigma = variance.sqrt() if variance > 0 else Decimal("0")
    expected = closed_won + mean
    low = max(closed_won, expected - Z_90 * sigma)
    high = min(closed_won + in_play, expected + Z_90 * sigma)
    for estimate in stages.values():
        estimate.expected = cents(estimate.expected)
    return HistoryForecast(
        closed_won=cents(closed_won),
        expected=cents(expected),
        low=cents(low),
        high=cents(high),
        stages=stages,
    )
