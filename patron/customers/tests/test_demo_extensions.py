"""`patron demo` runs the other apps' registered demo loaders after the customers' data."""

import io

import pytest
from django.core.management import call_command

from patron.billing.models import Invoice, Payment
from patron.commerce.models import Order, PriceList, Product, Quote, TaxRate
from patron.core.models import User
from patron.customers import demo
from patron.leads.models import AssignmentRule, Lead, LeadActivity, ScoringRule, WebForm
from patron.performance.models import CommissionAssignment, CommissionPlan, Quota
from patron.sales.models import Opportunity, Stage, StageChange

pytestmark = pytest.mark.django_db


def test_apps_register_in_installed_apps_order():
    names = [e.name for e in demo.extensions()]
    assert names[:5] == ["sales", "leads", "commerce", "billing", "performance"]
    assert len(names) == len(set(names))


def test_registering_a_name_again_replaces_it_in_place(monkeypatch):
    monkeypatch.setattr(demo, "_extensions", {})
    calls: list[str] = []
    demo.register_extension("a", lambda ctx: calls.append("a1"))
    demo.register_extension("b", lambda ctx: calls.append("b"))
    demo.register_extension("a", lambda ctx: calls.append("a2"))
    for extension in demo.extensions():
        extension.load(None)
    assert calls == ["a2", "b"]


def _load(contacts: int = 150) -> None:
    demo.generate(contacts=contacts, seed=5, progress=False, stdout=lambda s: None, extensions=True)


def test_demo_loads_every_apps_data_once():
    _load()
    opportunities = Opportunity.objects.all()
    open_stages = set(
        opportunities.filter(stage__kind=Stage.Kind.OPEN).values_list("stage__name", flat=True)
    )
    assert len(open_stages) >= 3
    won = opportunities.filter(stage__kind=Stage.Kind.WON)
    assert won.exists()
    assert opportunities.filter(stage__kind=Stage.Kind.LOST).exclude(close_reason="").exists()
    assert StageChange.objects.filter(opportunity__in=won, from_stage__isnull=False).exists()
    assert all(o.owner_id and o.amount and o.expected_close_date for o in opportunities)
    assert ScoringRule.objects.count() == 2
    assert AssignmentRule.objects.filter(kind="round_robin").count() == 1
    assert WebForm.objects.filter(name="Contact us").exists()
    assert Lead.objects.count() >= 12 and LeadActivity.objects.exists()
    assert Lead.objects.filter(status="converted", converted_contact__isnull=False).exists()
    assert TaxRate.objects.count() == 2
    assert Product.objects.exclude(sku="").filter(unit_cost__gt=0).count() == 12
    assert PriceList.objects.get(is_default=True).items.count() == 12
    assert {q.status for q in Quote.objects.all()} >= {"draft", "sent", "accepted"}
    assert Order.objects.filter(quote__isnull=False).exists()
    assert Order.objects.filter(status="fulfilled").exists()
    assert Invoice.objects.exclude(number_display="").count() >= 5
    assert Invoice.objects.filter(overdue_since__isnull=False).count() == 2
    assert Payment.objects.exists()
    reps = User.objects.filter(role__slug="sales_rep")
    assert Quota.objects.filter(owner__in=reps).count() == reps.count()
    assert Quota.objects.filter(team__isnull=False).count() == 6
    assert CommissionPlan.objects.get().tiers.count() >= 3
    assert CommissionAssignment.objects.count() == reps.count()
    counts = _counts()

    for extension in demo.extensions():  # loaders run again add nothing
        extension.load(_context())
    assert _counts() == counts


def _counts() -> tuple[int, ...]:
    return (
        Opportunity.objects.count(),
        Lead.objects.count(),
        Product.objects.count(),
        Quote.objects.count(),
        Order.objects.count(),
        Invoice.objects.count(),
        Quota.objects.count(),
    )


def _context() -> demo.DemoContext:
    import datetime as dt
    import random

    staff = demo.ensure_organisation(random.Random(5))
    return demo.DemoContext(
        rng=random.Random(5),
        seed=5,
        contacts=150,
        accounts=30,
        admin=staff.users["admin"],
        staff=staff,
        today=dt.date.today(),
        say=lambda s: None,
    )


def test_small_command_loads_no_extensions():
    call_command("demo", "--contacts", "150", "--no-progress", stdout=io.StringIO())
    assert not Opportunity.objects.exists()
