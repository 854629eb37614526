"""Demo opportunities for `patron demo`: open ones over the default pipeline's stages, closed
ones moved stage by stage to won or lost, all through the services."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from typing import Any

from patron.customers.demo import register_extension
from patron.customers.models import Account, AccountRelationship, Contact

from . import services
from .models import Opportunity, Stage

PRODUCTS = [
    "Fleet renewal",
    "Platform licence",
    "Support contract",
    "Onboarding package",
    "Annual subscription",
    "Data migration",
    "Training programme",
    "Hardware refresh",
    "Expansion seats",
    "Consulting retainer",
]
NEXT_STEPS = [
    "Send the proposal",
    "Book a demo with the buyers",
    "Call the finance director",
    "Agree the pilot scope",
    "Review the contract with legal",
    "Confirm the budget",
    "Meet the technical team",
]
WON_REASONS = ["Best fit for their needs", "Price and support", "Existing relationship"]
LOST_REASONS = ["Lost to a competitor", "No budget this year", "Project cancelled", "Too expensive"]
OPEN = 300
CLOSED = 120


def load(ctx: Any) -> None:
    if Opportunity.objects.exists():
        return
    rng = ctx.rng
    scale = min(1.0, ctx.contacts / 1000)
    n_open, n_closed = max(8, int(OPEN * scale)), max(6, int(CLOSED * scale))
    pipeline = services.default_pipeline()
    stages = list(pipeline.stages.order_by("order", "id"))
    open_stages = [s for s in stages if s.kind == Stage.Kind.OPEN]
    won = next(s for s in stages if s.kind == Stage.Kind.WON)
    lost = next(s for s in stages if s.kind == Stage.Kind.LOST)
    reps = [u for u in ctx.staff.users.values() if u.role.slug == "sales_rep"]
    accounts = list(Account.objects.filter(owner__in=reps).order_by("id")[:2000])
    if not accounts:
        accounts = list(Account.objects.order_by("id")[:2000])
    if not accounts or not open_stages:
        return
    chosen = [rng.choice(accounts) for _ in range(n_open + n_closed)]
    contact_of: dict[int, int] = {}
    for account_id, contact_id in AccountRelationship.objects.filter(
        account__in={a.pk for a in chosen}
    ).values_list("account_id", "contact_id"):
        contact_of.setdefault(account_id, contact_id)
    contacts = {c.pk: c for c in _contacts(contact_of.values())}
    rep_ids = {r.pk for r in reps}
    by_id = {r.pk: r for r in reps}
    for i, account in enumerate(chosen):
        closing = i >= n_open
        owner = by_id[account.owner_id] if account.owner_id in rep_ids else rng.choice(reps)
        currency = "USD" if rng.random() < 0.08 else "EUR"
        amount = Decimal(rng.randrange(20, 1200) * 250) / (1 if rng.random() < 0.8 else 10)
        days = rng.randint(7, 182)
        step_date = ctx.today + dt.timedelta(days=rng.randint(1, 21))
        data = {
            "name": f"{account.name[:150]} – {rng.choice(PRODUCTS)}",
            "account": account,
            "primary_contact": contacts.get(contact_of.get(account.pk, 0)),
            "amount": amount.quantize(Decimal("0.01")),
            "currency": currency,
            "expected_close_date": ctx.today + dt.timedelta(days=days),
            "owner": owner,
            "next_step": "" if closing else rng.choice(NEXT_STEPS),
            "next_step_date": None if closing else step_date,
        }
        if not closing:
            data["stage"] = rng.choice(open_stages)
        opportunity = services.opportunity_create(actor=ctx.admin, data=data)
        if closing:
            path = open_stages[1 : rng.randint(1, len(open_stages))]
            for stage in path:
                opportunity = services.opportunity_move(
                    actor=ctx.admin, opportunity=opportunity, expected_version=None, stage=stage
                )
            is_won = rng.random() < 0.45
            opportunity = services.opportunity_move(
                actor=ctx.admin,
                opportunity=opportunity,
                expected_version=None,
                stage=won if is_won else lost,
                reason=rng.choice(WON_REASONS if is_won else LOST_REASONS),
            )
    ctx.say(f"{n_open} open and {n_closed} closed opportunities.")


def _contacts(ids: Any) -> list[Contact]:
    return list(Contact.objects.filter(pk__in=set(ids)))


register_extension("sales", load)
