"""Commission tiers: boundaries, accelerators, marginal against flat, zero quota."""

from decimal import Decimal

import pytest

from patron.performance.commissions import Tier, deal_commissions, rate_at

D = Decimal
TIERS = [Tier(D("0"), D("2")), Tier(D("50"), D("5")), Tier(D("100"), D("8"))]
QUOTA = D("10000")


def pay(revenues, method="marginal", quota=QUOTA, tiers=TIERS):
    return deal_commissions(
        revenues=[D(r) for r in revenues], quota=quota, tiers=tiers, method=method
    )


def test_marginal_pays_each_band_at_its_rate():
    # 5,000 at 2 % + 5,000 at 5 % + 2,000 at 8 % (accelerator) = 100 + 250 + 160.
    assert sum(pay(["12000"])) == D("510.00")


def test_marginal_splits_a_deal_that_crosses_a_band():
    # Deals in closing order: 4,000 (all at 2 %) then 3,000 (1,000 at 2 %, 2,000 at 5 %).
    assert pay(["4000", "3000"]) == [D("80.00"), D("120.00")]


def test_marginal_accelerator_above_quota():
    # 10,000 reaches quota exactly: 100 + 250; the next 1,000 is all accelerator: 80.
    assert pay(["10000", "1000"]) == [D("350.00"), D("80.00")]


def test_flat_pays_the_reached_rate_on_everything():
    assert pay(["12000"], "flat") == [D("960.00")]
    assert pay(["6000", "6000"], "flat") == [D("480.00"), D("480.00")]


def test_tier_boundaries_belong_to_the_band_they_start():
    assert rate_at(TIERS, D("49.99")) == D("2")
    assert rate_at(TIERS, D("50")) == D("5")
    assert rate_at(TIERS, D("100")) == D("8")
    assert pay(["5000"], "flat") == [D("250.00")]
    assert pay(["4999.99"], "flat") == [D("100.00")]  # 99.9998 rounds half up


def test_zero_quota_pays_the_first_tier_rate():
    assert pay(["12000"], "marginal", quota=D("0")) == [D("240.00")]
    assert pay(["12000"], "flat", quota=D("0")) == [D("240.00")]


def test_no_tiers_pay_nothing():
    assert pay(["12000"], tiers=[]) == [D("0.00")]


@pytest.mark.parametrize("method", ["marginal", "flat"])
def test_each_deal_is_rounded_half_up_to_the_cent(method):
    # 0.25 at 2 % = 0.005 → 0.01.
    assert pay(["0.25"], method) == [D("0.01")]
