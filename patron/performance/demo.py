"""Demo quotas and commissions for `patron demo`, through the services: a quota for the
current quarter for every rep and every sales team, a USD exchange rate for the forecast, and
a tiered commission plan every rep is on this quarter."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from typing import Any

from patron.customers.demo import register_extension

from . import periods, services
from .models import CommissionPlan, ExchangeRate, Quota

TIERS = [
    {"from_attainment": Decimal("0"), "rate": Decimal("4")},
    {"from_attainment": Decimal("50"), "rate": Decimal("6")},
    {"from_attainment": Decimal("100"), "rate": Decimal("9")},
    {"from_attainment": Decimal("120"), "rate": Decimal("12")},
]


def load(ctx: Any) -> None:
    if Quota.objects.exists() or CommissionPlan.objects.exists():
        return
    rng = ctx.rng
    actor = ctx.admin
    quarter = periods.containing("quarter", ctx.today)
    reps = sorted(
        (u for u in ctx.staff.users.values() if u.role.slug == "sales_rep"),
        key=lambda u: u.username,
    )
    by_team: dict[Any, Decimal] = {}
    for rep in reps:
        amount = Decimal(rng.randrange(12, 31) * 10_000)
        services.quota_create(
            actor=actor,
            data={
                "owner": rep,
                "period_kind": "quarter",
                "period_start": quarter.start,
                "amount": amount,
                "currency": "EUR",
            },
        )
        if rep.team is not None:
            by_team[rep.team] = by_team.get(rep.team, Decimal(0)) + amount
    for team, amount in by_team.items():
        services.quota_create(
            actor=actor,
            data={
                "team": team,
                "period_kind": "quarter",
                "period_start": quarter.start,
                "amount": amount,
                "currency": "EUR",
            },
        )
    if not ExchangeRate.objects.filter(currency="USD").exists():
        services.exchange_rate_create(
            actor=actor,
            data={
                "currency": "USD",
                "rate": Decimal("0.92"),
                "valid_from": ctx.today - dt.timedelta(days=365),
            },
        )
    plan = services.commission_plan_create(
        actor=actor,
        data={
            "name": "Sales reps",
            "method": CommissionPlan.Method.MARGINAL,
            "basis": CommissionPlan.Basis.WON_DEALS,
            "description": "Marginal rates on won deals, accelerating above quota.",
        },
        tiers=TIERS,
    )
    for rep in reps:
        services.commission_assignment_create(
            actor=actor,
            data={
                "plan": plan,
                "owner": rep,
                "period_kind": "quarter",
                "period_start": quarter.start,
            },
        )
    ctx.say(
        f"Quotas for {quarter.title}: {len(reps)} reps, {len(by_team)} teams; "
        f"commission plan with {len(TIERS)} tiers."
    )


register_extension("performance", load)
