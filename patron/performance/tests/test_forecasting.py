"""The forecast from history on fixtures whose answers can be worked out by hand."""

import datetime
from decimal import Decimal

from patron.performance import forecasting
from patron.performance.forecasting import OpenGroup, StageHistory, StageVisit

S, T = 1, 2
CLOSED = datetime.date(2026, 9, 30)
TODAY = datetime.date(2026, 11, 15)
Q4 = (datetime.date(2026, 10, 1), datetime.date(2026, 12, 31))


def visits_through_s() -> list[StageVisit]:
    """10 closed deals through S, 4 won, after 10, 20, 30 and 40 days in S."""
    won = [
        StageVisit(i, S, CLOSED - datetime.timedelta(days=d), CLOSED, True)
        for i, d in enumerate([40, 10, 30, 20], start=1)
    ]
    lost = [StageVisit(i, S, CLOSED, CLOSED, False) for i in range(5, 11)]
    return won + lost


def test_win_rate_and_cycle_times_per_stage():
    histories = forecasting.stage_histories(visits_through_s())
    s = histories[S]
    assert (s.deals, s.won) == (10, 4)
    assert s.win_rate == Decimal("0.4")
    assert s.cycle_days == [10, 20, 30, 40]
    assert s.median_cycle_days == 20
    assert T not in histories


def test_a_second_visit_to_the_same_stage_counts_once():
    visits = [*visits_through_s(), StageVisit(5, S, CLOSED, CLOSED, False)]
    assert forecasting.stage_histories(visits)[S].deals == 10


def test_chance_of_closing_in_the_period_from_cycle_times():
    cycles = [10, 20, 30, 40]
    # In S since 5 Nov (10 days): every cycle time is still possible; 10..56 days lands in
    # Q4, so 10, 20, 30 and 40 all do.
    entered = datetime.date(2026, 11, 5)
    chance = forecasting.chance_closes_in_period(
        cycle_days=cycles, entered_on=entered, today=TODAY, start=Q4[0], end=Q4[1]
    )
    assert chance == Decimal("1")
    # In S since 1 Oct (45 days): older than every won deal, so it wins now if at all.
    chance = forecasting.chance_closes_in_period(
        cycle_days=cycles,
        entered_on=datetime.date(2026, 10, 1),
        today=TODAY,
        start=Q4[0],
        end=Q4[1],
    )
    assert chance == Decimal("1")
    # In S since today, period = December (days 16..46): of 10, 20, 30, 40 all are still
    # possible and 20, 30, 40 land.
    chance = forecasting.chance_closes_in_period(
        cycle_days=cycles,
        entered_on=TODAY,
        today=TODAY,
        start=datetime.date(2026, 12, 1),
        end=datetime.date(2026, 12, 31),
    )
    assert chance == Decimal("0.75")
    # A 25-day-old deal: only 30 and 40 are still possible; up to 29 November is day 39,
    # so 30 lands and 40 does not.
    chance = forecasting.chance_closes_in_period(
        cycle_days=cycles,
        entered_on=datetime.date(2026, 10, 21),
        today=TODAY,
        start=datetime.date(2026, 11, 1),
        end=datetime.date(2026, 11, 29),
    )
    assert chance == Decimal("0.5")


def test_expected_value_and_range_of_a_sum_of_bernoullis():
    """100 deals of 1,000 in S, each won with 0.4 and sure to close in Q4 if won:
    expected 40,000, σ = √(100 × 0.4 × 0.6 × 1,000²) = 4,898.98, range ± 1.2816 σ."""
    histories = {S: StageHistory(S, deals=10, won=4, cycle_days=[10, 20, 30, 40, 50])}
    group = OpenGroup(
        stage_id=S,
        stage_probability=50,
        entered_on=datetime.date(2026, 11, 10),
        expected_in_period=True,
        count=100,
        amount=Decimal("100000"),
        amount_squares=Decimal("100000000"),
    )
    result = forecasting.forecast_from_history(
        histories=histories,
        groups=[group],
        closed_won=Decimal("5000"),
        start=Q4[0],
        end=Q4[1],
        today=TODAY,
    )
    assert result.expected == Decimal("45000.00")
    assert result.low == Decimal("38721.71")
    assert result.high == Decimal("51278.29")
    estimate = result.stages[S]
    assert estimate.win_rate == Decimal("0.4")
    assert estimate.rate_from_history and estimate.timing_from_history
    assert estimate.expected == Decimal("40000.00")
    assert not result.fallback


def test_range_is_clipped_to_what_can_happen():
    histories = {S: StageHistory(S, deals=10, won=4, cycle_days=[10, 20, 30, 40, 50])}
    group = OpenGroup(
        S, 50, datetime.date(2026, 11, 10), True, 1, Decimal("1000"), Decimal("1000000")
    )
    result = forecasting.forecast_from_history(
        histories=histories,
        groups=[group],
        closed_won=Decimal("0"),
        start=Q4[0],
        end=Q4[1],
        today=TODAY,
    )
    assert result.expected == Decimal("400.00")
    assert (result.low, result.high) == (Decimal("0.00"), Decimal("1000.00"))


def test_too_little_history_falls_back_on_stage_probability_and_expected_dates():
    """9 closed deals through T: the stage's 60 % is used; no won cycle times: a deal counts
    only if its expected close date is in the period."""
    histories = {T: StageHistory(T, deals=9, won=9, cycle_days=[])}
    groups = [
        OpenGroup(T, 60, datetime.date(2026, 11, 1), True, 2, Decimal("3000"), Decimal("5000000")),
        OpenGroup(
            T, 60, datetime.date(2026, 11, 1), False, 1, Decimal("7000"), Decimal("49000000")
        ),
    ]
    result = forecasting.forecast_from_history(
        histories=histories,
        groups=groups,
        closed_won=Decimal("0"),
        start=Q4[0],
        end=Q4[1],
        today=TODAY,
    )
    estimate = result.stages[T]
    assert not estimate.rate_from_history and not estimate.timing_from_history
    assert estimate.win_rate == Decimal("0.6")
    assert result.expected == Decimal("1800.00")
    assert result.fallback


def test_a_past_period_expects_only_what_was_won():
    histories = {S: StageHistory(S, deals=10, won=4, cycle_days=[10, 20, 30, 40, 50])}
    group = OpenGroup(
        S, 50, datetime.date(2026, 5, 1), True, 1, Decimal("1000"), Decimal("1000000")
    )
    result = forecasting.forecast_from_history(
        histories=histories,
        groups=[group],
        closed_won=Decimal("250"),
        start=datetime.date(2026, 7, 1),
        end=datetime.date(2026, 9, 30),
        today=TODAY,
    )
    assert (result.expected, result.low, result.high) == (Decimal("250.00"),) * 3
