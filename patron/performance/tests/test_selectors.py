"""Forecast figures, roll-ups, currencies, history, attainment and statements on a fixture
whose answers are worked out by hand in the docstrings."""

import datetime
from decimal import Decimal

import pytest

from patron.performance import periods, selectors, services
from patron.performance.models import (
    CommissionAssignment,
    CommissionPlan,
    CommissionTier,
    ExchangeRate,
    Quota,
    StageForecastCategory,
)

from .factories import closed_deal, open_deal, stage

pytestmark = pytest.mark.django_db

D = Decimal
TODAY = datetime.date(2026, 11, 15)
Q4 = periods.parse("2026-Q4")


@pytest.fixture
def world(admin_user, rep_north, rep_south, account):
    """rep_north (team North): A Proposal 1,000 (best case), B Negotiation 2,000 (commit),
    C Qualification 4,000 (pipeline), D Proposal 3,000 closing in January (outside), E Needs
    analysis 500 put in Omitted, W won 1,500 on 20 Oct.
    rep_south (team South): F Negotiation 1,000 USD (rate 0.90: 900), G Proposal 700 GBP (no
    rate), W2 won 2,000 on 1 Dec, W3 won 1,000 USD on 5 Dec (900), W4 won 400 GBP on 6 Dec."""
    ExchangeRate.objects.create(
        currency="USD", rate=D("0.90"), valid_from=datetime.date(2026, 1, 1)
    )
    deals = {
        "A": open_deal(
            rep_north,
            account,
            stage_name="Proposal",
            amount="1000",
            close=datetime.date(2026, 11, 20),
        ),
        "B": open_deal(
            rep_north,
            account,
            stage_name="Negotiation",
            amount="2000",
            close=datetime.date(2026, 12, 10),
        ),
        "C": open_deal(
            rep_north,
            account,
            stage_name="Qualification",
            amount="4000",
            close=datetime.date(2026, 10, 5),
        ),
        "D": open_deal(
            rep_north,
            account,
            stage_name="Proposal",
            amount="3000",
            close=datetime.date(2027, 1, 15),
        ),
        "E": open_deal(
            rep_north,
            account,
            stage_name="Needs analysis",
            amount="500",
            close=datetime.date(2026, 11, 1),
        ),
        "W": closed_deal(
            rep_north,
            account,
            won=True,
            through=None,
            closed=datetime.date(2026, 10, 20),
            amount="1500",
        ),
        "F": open_deal(
            rep_south,
            account,
            stage_name="Negotiation",
            amount="1000",
            currency="USD",
            close=datetime.date(2026, 11, 30),
        ),
        "G": open_deal(
            rep_south,
            account,
            stage_name="Proposal",
            amount="700",
            currency="GBP",
            close=datetime.date(2026, 11, 30),
        ),
        "W2": closed_deal(
            rep_south,
            account,
            won=True,
            through=None,
            closed=datetime.date(2026, 12, 1),
            amount="2000",
        ),
        "W3": closed_deal(
            rep_south,
            account,
            won=True,
            through=None,
            closed=datetime.date(2026, 12, 5),
            amount="1000",
            currency="USD",
        ),
        "W4": closed_deal(
            rep_south,
            account,
            won=True,
            through=None,
            closed=datetime.date(2026, 12, 6),
            amount="400",
            currency="GBP",
        ),
    }
    services.forecast_category_set(actor=admin_user, opportunity=deals["E"], category="omitted")
    return deals


def figures(f):
    return (f.closed_won, f.commit, f.best_case, f.pipeline, f.weighted)


def test_company_forecast_in_each_category(admin_user, world):
    result = selectors.forecast(user=admin_user, period=Q4, today=TODAY)
    total = result.total
    # closed 1,500 + 2,000 + 900; commit + B 2,000 + F 900; best case + A 1,000;
    # pipeline A + B + C + F; weighted 500 + 1,500 + 400 + 675.
    assert figures(total) == (D("4400"), D("7300"), D("8300"), D("7900"), D("3075"))
    assert total.omitted == D("500")
    assert total.not_converted == {"GBP": D("1100")}
    assert (total.open_count, total.won_count) == (4, 3)
    assert result.currency == "EUR"


def test_roll_up_by_team_and_owner(admin_user, rep_north, rep_south, world):
    result = selectors.forecast(user=admin_user, period=Q4, today=TODAY)
    teams = {t.team.name: t for t in result.teams}
    assert figures(teams["North"].figures) == (
        D("1500"),
        D("3500"),
        D("4500"),
        D("7000"),
        D("2400"),
    )
    assert figures(teams["South"].figures) == (D("2900"), D("3800"), D("3800"), D("900"), D("675"))
    assert teams["South"].figures.not_converted == {"GBP": D("1100")}
    [north_owner] = teams["North"].owners
    assert north_owner.owner == rep_north
    assert figures(north_owner.figures) == figures(teams["North"].figures)


def test_forecast_narrowed_to_an_owner_or_a_team(admin_user, rep_south, team_north, world):
    by_owner = selectors.forecast(user=admin_user, period=Q4, owner=rep_south, today=TODAY)
    assert figures(by_owner.total) == (D("2900"), D("3800"), D("3800"), D("900"), D("675"))
    by_team = selectors.forecast(user=admin_user, period=Q4, team=team_north, today=TODAY)
    assert by_team.total.closed_won == D("1500")


def test_forecast_counts_only_what_the_user_may_see(
    rep_north, manager_north, set_visibility, world
):
    set_visibility("private")
    mine = selectors.forecast(user=rep_north, period=Q4, today=TODAY)
    assert [t.team.name for t in mine.teams] == ["North"]
    assert mine.total.closed_won == D("1500")
    assert selectors.forecast(user=manager_north, period=Q4, today=TODAY).total.pipeline == D(
        "7000"
    )


def test_stage_setting_and_override_change_the_category(admin_user, world):
    StageForecastCategory.objects.create(stage=stage("Qualification"), category="commit")
    result = selectors.forecast(user=admin_user, period=Q4, today=TODAY)
    assert result.total.commit == D("7300") + D("4000")  # C moves to commit
    services.forecast_category_set(actor=admin_user, opportunity=world["C"], category=None)
    services.forecast_category_set(actor=admin_user, opportunity=world["B"], category="best_case")
    result = selectors.forecast(user=admin_user, period=Q4, today=TODAY)
    assert result.total.commit == D("7300") + D("4000") - D("2000")
    assert result.total.best_case == D("8300") + D("4000")
    rows = selectors.opportunities_by_category(user=admin_user, period=Q4, category="commit")
    assert [o.name for o in rows] == ["Deal", "Deal"]
    assert sorted(o.amount for o in rows) == [D("1000"), D("4000")]


def test_forecast_page_queries_do_not_grow_with_deals(
    admin_user, account, rep_north, django_assert_max_num_queries
):
    open_deal(rep_north, account, close=datetime.date(2026, 11, 20))
    selectors.forecast(user=admin_user, period=Q4, today=TODAY)
    for i in range(20):
        open_deal(rep_north, account, close=datetime.date(2026, 11, 20), name=f"D{i}")
    with django_assert_max_num_queries(8):
        selectors.forecast(user=admin_user, period=Q4, today=TODAY)


def test_exchange_rate_valid_on_a_date():
    ExchangeRate.objects.create(
        currency="USD", rate=D("0.90"), valid_from=datetime.date(2026, 1, 1)
    )
    ExchangeRate.objects.create(
        currency="USD", rate=D("0.80"), valid_from=datetime.date(2026, 12, 3)
    )
    table = selectors.rates()
    assert table.convert(D("1000"), "USD", datetime.date(2026, 12, 2)) == D("900.00")
    assert table.convert(D("1000"), "USD", datetime.date(2026, 12, 3)) == D("800.00")
    assert table.convert(D("1000"), "USD", datetime.date(2025, 12, 31)) is None
    assert table.convert(D("1000.005"), "EUR", datetime.date(2026, 1, 1)) == D("1000.01")


def test_forecast_from_history(admin_user, rep_north, account):
    """10 closed deals through Proposal, 5 won after 10, 20, 30, 40 and 90 days: 50 %.
    Open: P in Proposal since 10 Nov, 1,000 — wins with 0.5, closes in Q4 (by day 51) with
    4/5: q = 0.4; N in Negotiation (no history: 75 %, expected in Q4), 2,000: q = 0.75.
    Closed won in Q4: 500. Expected 500 + 400 + 1,500 = 2,400; σ² = 0.24·1,000² +
    0.1875·2,000² = 990,000."""
    closed = datetime.date(2026, 9, 15)
    for days in (10, 20, 30, 40, 90):
        entered = closed - datetime.timedelta(days=days)
        closed_deal(rep_north, account, won=True, closed=closed, entered=entered)
    for _ in range(5):
        closed_deal(rep_north, account, won=False, closed=closed, entered=closed)
    closed_deal(
        rep_north, account, won=True, through=None, closed=datetime.date(2026, 10, 20), amount="500"
    )
    open_deal(
        rep_north,
        account,
        stage_name="Proposal",
        amount="1000",
        entered=datetime.date(2026, 11, 10),
        close=datetime.date(2027, 3, 1),
    )
    open_deal(
        rep_north,
        account,
        stage_name="Negotiation",
        amount="2000",
        close=datetime.date(2026, 12, 10),
    )
    history = selectors.forecast(user=admin_user, period=Q4, today=TODAY).history
    proposal = history.stages[stage("Proposal").pk]
    assert (proposal.deals, proposal.won, proposal.win_rate) == (10, 5, D("0.5"))
    assert proposal.rate_from_history and proposal.timing_from_history
    assert proposal.median_cycle_days == 30
    negotiation = history.stages[stage("Negotiation").pk]
    assert not negotiation.rate_from_history and negotiation.win_rate == D("0.75")
    assert history.fallback
    sigma = D("990000").sqrt()
    assert history.expected == D("2400.00")
    assert history.low == (D("2400") - D("1.2815516") * sigma).quantize(D("0.01"))
    assert history.high == D("3500.00")  # clipped: 500 won + 3,000 in play


# --- quotas and attainment ----------------------------------------------------------------


@pytest.fixture
def quotas(admin_user, rep_north, rep_south, team_north, world):
    def make(**data):
        return services.quota_create(
            actor=admin_user,
            data={"period_kind": "quarter", "period_start": datetime.date(2026, 10, 1), **data},
        )

    return {
        "north": make(owner=rep_north, amount=D("10000"), currency="EUR"),
        "team": make(team=team_north, amount=D("20000"), currency="EUR"),
        "south": make(owner=rep_south, amount=D("1000"), currency="USD"),
    }


def test_attainment_per_rep_and_team(admin_user, quotas):
    rows = {a.quota.pk: a for a in selectors.attainment(user=admin_user, period=Q4, today=TODAY)}
    north = rows[quotas["north"].pk]
    assert (north.quota_amount, north.closed_won, north.percent) == (
        D("10000.00"),
        D("1500"),
        D("15.0"),
    )
    assert (north.pipeline, north.remaining, north.coverage) == (D("7000"), D("8500.00"), D("0.82"))
    assert north.forecast == D("3500")
    team = rows[quotas["team"].pk]
    assert (team.closed_won, team.percent, team.bar) == (D("1500"), D("7.5"), 7)
    south = rows[quotas["south"].pk]
    assert (south.quota_amount, south.closed_won, south.percent) == (
        D("900.00"),
        D("2900"),
        D("322.2"),
    )
    assert (south.remaining, south.coverage, south.bar) == (D("0"), None, 100)
    assert south.not_converted == {"GBP": D("1100")}


def test_reps_see_their_own_quota_and_their_teams_even_when_records_are_shared(
    rep_north, rep_north_2, quotas
):
    seen = {a.quota.pk for a in selectors.attainment(user=rep_north_2, period=Q4)}
    assert seen == {quotas["team"].pk}  # not rep_north's


def test_attainment_shows_reps_their_own_and_managers_their_team(
    rep_north, manager_north, rep_south, set_visibility, quotas
):
    set_visibility("private")
    assert [a.quota for a in selectors.attainment(user=rep_north, period=Q4)] == [quotas["north"]]
    seen = {a.quota.pk for a in selectors.attainment(user=manager_north, period=Q4)}
    assert seen == {quotas["north"].pk, quotas["team"].pk}
    assert [a.quota for a in selectors.attainment(user=rep_south, period=Q4)] == [quotas["south"]]


# --- commission statements ----------------------------------------------------------------


@pytest.fixture
def plan(db):
    plan = CommissionPlan.objects.create(name="Standard")
    for start, rate in (("0", "2"), ("50", "5"), ("100", "8")):
        CommissionTier.objects.create(plan=plan, from_attainment=D(start), rate=D(rate))
    return plan


def assign(actor, plan, owner, method="marginal"):
    plan.method = method
    plan.save()
    return services.commission_assignment_create(
        actor=actor,
        data={
            "plan": plan,
            "owner": owner,
            "period_kind": "quarter",
            "period_start": datetime.date(2026, 10, 1),
        },
    )


def test_statement_pays_each_deal_its_share_marginally(admin_user, rep_south, plan, quotas):
    """Quota 1,000 USD = 900. W2 2,000: 450 at 2 % (9) + 450 at 5 % (22.50) + 1,100 at 8 %
    (88) = 119.50; W3 900 (1,000 USD): all at 8 % = 72; W4 in GBP is not converted."""
    assignment = assign(admin_user, plan, rep_south)
    statement = selectors.commission_statement(user=admin_user, assignment_id=assignment.pk)
    assert [(line.converted, line.commission) for line in statement.lines] == [
        (D("2000.00"), D("119.50")),
        (D("900.00"), D("72.00")),
        (None, D("0.00")),
    ]
    assert (statement.quota, statement.revenue, statement.attainment) == (
        D("900.00"),
        D("2900.00"),
        D("322.2"),
    )
    assert statement.total == D("191.50")
    assert [line.currency for line in statement.not_converted] == ["GBP"]


def test_statement_flat_and_without_quota(admin_user, rep_south, rep_north, plan, world):
    flat = assign(admin_user, plan, rep_south, method="flat")
    statement = selectors.commission_statement(user=admin_user, assignment_id=flat.pk)
    # No quota: every deal at the first tier's 2 %: 40 + 18.
    assert statement.quota_missing
    assert statement.total == D("58.00")


def test_a_rep_cannot_read_another_reps_statement(
    admin_user, rep_north, rep_north_2, manager_north, rep_south, plan, world
):
    assignment = assign(admin_user, plan, rep_north)
    for user in (rep_north_2, rep_south):
        with pytest.raises(CommissionAssignment.DoesNotExist):
            selectors.commission_statement(user=user, assignment_id=assignment.pk)
    for user in (rep_north, manager_north, admin_user):
        assert selectors.commission_statement(user=user, assignment_id=assignment.pk).total == D(
            "30.00"
        )


def test_quota_rules(manager_north, rep_north, rep_south, team_south):
    from django.core.exceptions import ValidationError

    from patron.core.exceptions import PermissionDeniedError

    base = {
        "period_kind": "quarter",
        "period_start": datetime.date(2026, 10, 1),
        "amount": D("5"),
        "currency": "eur",
    }
    quota = services.quota_create(actor=manager_north, data={**base, "owner": rep_north})
    assert (quota.currency, quota.period_end) == ("EUR", datetime.date(2026, 12, 31))
    with pytest.raises(ValidationError) as exc:
        services.quota_create(actor=manager_north, data={**base, "owner": rep_north})
    assert "period_start" in exc.value.message_dict
    with pytest.raises(ValidationError):
        services.quota_create(actor=manager_north, data={**base, "owner": rep_south})
    with pytest.raises(ValidationError):
        services.quota_create(actor=manager_north, data={**base, "team": team_south})
    with pytest.raises(ValidationError) as exc:
        services.quota_create(
            actor=manager_north,
            data={**base, "owner": rep_north, "period_start": datetime.date(2026, 11, 1)},
        )
    assert "period_start" in exc.value.message_dict
    with pytest.raises(PermissionDeniedError):
        services.quota_create(
            actor=rep_north,
            data={
                **base,
                "owner": rep_north,
                "period_kind": "year",
                "period_start": datetime.date(2026, 1, 1),
            },
        )
    assert Quota.objects.count() == 1


def test_statement_on_paid_invoices(admin_user, rep_north, plan):
    """An invoice of 1,000 net + 20 % tax to rep_north's account, paid 600 in Q4: its net
    share is 500; no quota, so 2 %: 10.00. A payment outside the period does not count."""
    from patron.billing import services as billing
    from patron.customers import services as customer_services

    account = customer_services.account_create(
        actor=admin_user,
        data={"name": "Acme", "owner": rep_north},
        emails=[],
        phones=[],
        addresses=[],
    )
    line = {
        "description": "Licence",
        "quantity": D("1"),
        "unit_price": D("1000"),
        "tax_rate": D("20"),
    }
    invoice = billing.invoice_create(actor=admin_user, data={"account": account}, lines=[line])
    invoice = billing.invoice_issue(
        actor=admin_user, invoice=invoice, issue_date=datetime.date(2026, 9, 1)
    )
    billing.payment_record(
        actor=admin_user,
        invoice=invoice,
        data={"amount": D("600"), "paid_on": datetime.date(2026, 11, 10)},
    )
    billing.payment_record(
        actor=admin_user,
        invoice=invoice,
        data={"amount": D("100"), "paid_on": datetime.date(2026, 9, 10)},
    )
    plan.basis = CommissionPlan.Basis.PAID_INVOICES
    plan.save()
    assignment = assign(admin_user, plan, rep_north, method="flat")
    statement = selectors.commission_statement(user=rep_north, assignment_id=assignment.pk)
    assert [(line.invoice_id, line.converted, line.commission) for line in statement.lines] == [
        (invoice.pk, D("500.00"), D("10.00"))
    ]
    assert statement.total == D("10.00")


def test_paid_invoices_of_an_order_count_for_who_sold_it(admin_user, rep_north, rep_north_2, plan):
    """rep_north owns the account; rep_north_2 owns the order the invoice bills: the payment
    is rep_north_2's. An invoice typed in without an order stays the account owner's."""
    from patron.billing import services as billing
    from patron.commerce import documents as commerce_documents
    from patron.commerce.models import Order
    from patron.customers import services as customer_services

    account = customer_services.account_create(
        actor=admin_user,
        data={"name": "Acme", "owner": rep_north},
        emails=[],
        phones=[],
        addresses=[],
    )
    line = {"description": "Licence", "quantity": D("1"), "unit_price": D("100"), "tax_rate": 0}
    order = commerce_documents.order_create(
        actor=admin_user, data={"account": account}, lines=[line], confirm=True
    )
    Order.objects.filter(pk=order.pk).update(owner=rep_north_2)  # sold by the other rep
    sold = billing.invoice_from_order(actor=admin_user, order=order)
    typed = billing.invoice_create(actor=admin_user, data={"account": account}, lines=[line])
    for invoice in (sold, typed):
        invoice = billing.invoice_issue(
            actor=admin_user, invoice=invoice, issue_date=datetime.date(2026, 10, 1)
        )
        billing.payment_record(
            actor=admin_user,
            invoice=invoice,
            data={"amount": D("100"), "paid_on": datetime.date(2026, 10, 5)},
        )
    plan.basis = CommissionPlan.Basis.PAID_INVOICES
    plan.save()
    seller = assign(admin_user, plan, rep_north_2, method="flat")
    owner = assign(admin_user, plan, rep_north, method="flat")
    statement = selectors.commission_statement(user=admin_user, assignment_id=seller.pk)
    assert [line.invoice_id for line in statement.lines] == [sold.pk]
    statement = selectors.commission_statement(user=admin_user, assignment_id=owner.pk)
    assert [line.invoice_id for line in statement.lines] == [typed.pk]


def test_history_is_read_from_the_rollup_and_refreshed_when_stale(admin_user, rep_north, account):
    from django.utils import timezone

    from patron.performance.models import StageConversion

    closed = datetime.date(2026, 9, 15)
    closed_deal(
        rep_north, account, won=True, closed=closed, entered=closed - datetime.timedelta(days=7)
    )
    assert selectors.stage_histories(today=TODAY)[stage("Proposal").pk].cycle_days == [7]
    closed_deal(rep_north, account, won=False, closed=closed)
    # Fresh: the rollup is read as it is.
    assert selectors.stage_histories(today=TODAY)[stage("Proposal").pk].deals == 1
    StageConversion.objects.update(refreshed_at=timezone.now() - datetime.timedelta(hours=2))
    history = selectors.stage_histories(today=TODAY)[stage("Proposal").pk]
    assert (history.deals, history.won) == (2, 1)


def test_a_concurrent_refresh_of_the_rollup_is_not_an_error(admin_user, monkeypatch):
    from django.db import IntegrityError

    from patron.performance import services as performance_services

    performance_services.stage_conversions_refresh(today=TODAY)

    def clash(**kwargs):
        raise IntegrityError("duplicate key value violates unique constraint")

    monkeypatch.setattr(performance_services, "stage_conversions_refresh", clash)
    monkeypatch.setattr(selectors, "REFRESH_AFTER", datetime.timedelta(0))
    assert set(selectors.stage_histories(today=TODAY)) == {
        stage(n).pk for n in ("Qualification", "Needs analysis", "Proposal", "Negotiation")
    }
