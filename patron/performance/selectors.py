"""Every read of forecasts, quotas and commissions, through the permission chokepoint.

Figures are aggregated in SQL (GROUP BY owner, team, category and currency) and only the
groups come back to Python, so a page costs the same few queries at 100 or 100,000
opportunities. Amounts are converted to the organisation's currency per currency group with
`ExchangeRate`; a currency with no rate is reported as not converted, never summed.
"""

from __future__ import annotations

import datetime
from collections import defaultdict
from dataclasses import dataclass, field
from decimal import ROUND_HALF_UP, Decimal
from typing import Any

from django.db import IntegrityError
from django.db.models import (
    Case,
    CharField,
    Count,
    DecimalField,
    ExpressionWrapper,
    F,
    Min,
    Q,
    QuerySet,
    Sum,
    Value,
    When,
)
from django.db.models.functions import Coalesce, TruncDate
from django.utils import timezone

from patron.core.models import Team, User
from patron.core.permissions import can
from patron.sales.models import Opportunity, Stage, StageChange, default_currency

from . import commissions as commission_math
from . import forecasting
from .models import (
    Category,
    CommissionAssignment,
    CommissionPlan,
    ExchangeRate,
    ForecastCategory,
    Quota,
    StageConversion,
    StageForecastCategory,
)
from .periods import Period

CENT = Decimal("0.01")
COMMIT_FROM, BEST_CASE_FROM = 75, 40  # default categories by stage probability (%)
HISTORY_YEARS = 2  # closed opportunities older than this do not inform the forecast
OPPORTUNITIES_PER_CATEGORY = 50
REFRESH_AFTER = datetime.timedelta(hours=1)  # the stage-conversion rollup's useful life


def cents(value: Decimal) -> Decimal:
    return value.quantize(CENT, rounding=ROUND_HALF_UP)


# --- currencies ---------------------------------------------------------------------------


class Rates:
    """Exchange rates to the organisation's currency, looked up by date."""

    def __init__(self, rows: list[tuple[str, datetime.date, Decimal]]) -> None:
        self.currency = default_currency()
        self._by_currency: dict[str, list[tuple[datetime.date, Decimal]]] = defaultdict(list)
        for currency, valid_from, rate in sorted(rows, key=lambda r: (r[0], r[1])):
            self._by_currency[currency].append((valid_from, rate))

    def rate(self, currency: str, on: datetime.date) -> Decimal | None:
        if currency == self.currency:
            return Decimal("1")
        found = None
        for valid_from, rate in self._by_currency.get(currency, []):
            if valid_from <= on:
                found = rate
        return found

    def convert(self, amount: Decimal, currency: str, on: datetime.date) -> Decimal | None:
        """`amount` in the organisation's currency, to the cent; None without a rate."""
        rate = self.rate(currency, on)
        return None if rate is None else cents(amount * rate)


def rates() -> Rates:
    """Every exchange rate (a short configuration table)."""
    return Rates(list(ExchangeRate.objects.values_list("currency", "valid_from", "rate")))


def exchange_rates_visible(*, user: Any) -> QuerySet[ExchangeRate]:
    return ExchangeRate.objects.restrict(user, "view")


# --- categories ---------------------------------------------------------------------------


def default_category(probability: int) -> str:
    if probability >= COMMIT_FROM:
        return Category.COMMIT
    if probability >= BEST_CASE_FROM:
        return Category.BEST_CASE
    return Category.PIPELINE


def category_expression() -> Coalesce:
    """The opportunity's forecast category in SQL: its own override, else its stage's
    setting, else the default by stage probability."""
    by_probability = Case(
        When(stage__probability__gte=COMMIT_FROM, then=Value(Category.COMMIT.value)),
        When(stage__probability__gte=BEST_CASE_FROM, then=Value(Category.BEST_CASE.value)),
        default=Value(Category.PIPELINE.value),
        output_field=CharField(),
    )
    return Coalesce(
        F("forecast_category__category"),
        F("stage__forecast_setting__category"),
        by_probability,
        output_field=CharField(),
    )


def stage_categories() -> dict[int, str]:
    """Each open stage's category: its setting, else the default by probability."""
    settings = dict(StageForecastCategory.objects.values_list("stage_id", "category"))
    return {
        s.pk: settings.get(s.pk, default_category(s.probability))
        for s in Stage.objects.filter(kind=Stage.Kind.OPEN)
    }


# --- the forecast -------------------------------------------------------------------------


@dataclass
class Figures:
    """The five forecast figures of one owner, team or the company, in the org's currency.

    `commit` and `best_case` are cumulative as in Salesforce: commit = closed won + open
    commit; best case = commit + open best case. `pipeline` is every open deal that is not
    omitted; `weighted` the same, each times its stage probability."""

    pipeline: Decimal = Decimal("0")
    weighted: Decimal = Decimal("0")
    open_commit: Decimal = Decimal("0")
    open_best_case: Decimal = Decimal("0")
    omitted: Decimal = Decimal("0")
    closed_won: Decimal = Decimal("0")
    open_count: int = 0
    won_count: int = 0
    not_converted: dict[str, Decimal] = field(default_factory=dict)

    @property
    def commit(self) -> Decimal:
        return self.closed_won + self.open_commit

    @property
    def best_case(self) -> Decimal:
        return self.commit + self.open_best_case

    def add_open(self, category: str, amount: Decimal, weighted: Decimal, count: int) -> None:
        if category == Category.OMITTED:
            self.omitted += amount
            return
        self.pipeline += amount
        self.weighted += weighted
        self.open_count += count
        if category == Category.COMMIT:
            self.open_commit += amount
        elif category == Category.BEST_CASE:
            self.open_best_case += amount

    def add_won(self, amount: Decimal, count: int) -> None:
        self.closed_won += amount
        self.won_count += count

    def add_unconverted(self, currency: str, amount: Decimal) -> None:
        self.not_converted[currency] = self.not_converted.get(currency, Decimal("0")) + amount


@dataclass
class OwnerRow:
    owner: User | None
    figures: Figures = field(default_factory=Figures)


@dataclass
class TeamRollup:
    team: Team | None
    figures: Figures = field(default_factory=Figures)
    owners: list[OwnerRow] = field(default_factory=list)


@dataclass
class Forecast:
    period: Period
    currency: str
    total: Figures
    teams: list[TeamRollup]
    history: forecasting.HistoryForecast
    stage_names: dict[int, str]
    category_counts: dict[str, int]


def forecast_visible(*, user: Any) -> QuerySet[Opportunity]:
    """The opportunities a forecast may count for `user`: those they may see, if their role
    lets them read forecasts at all."""
    if not can(user, "forecast.view"):
        return Opportunity.objects.none()
    return Opportunity.objects.restrict(user, "view")


def _period_instants(period: Period) -> tuple[datetime.datetime, datetime.datetime]:
    """The period as [start, end) instants in the organisation's time zone."""
    tz = timezone.get_current_timezone()
    start = datetime.datetime.combine(period.start, datetime.time.min, tzinfo=tz)
    end = datetime.datetime.combine(
        period.end + datetime.timedelta(days=1), datetime.time.min, tzinfo=tz
    )
    return start, end


def _scoped(queryset: QuerySet[Opportunity], owner: Any, team: Any) -> QuerySet[Opportunity]:
    if owner is not None:
        queryset = queryset.filter(owner=owner)
    if team is not None:
        queryset = queryset.filter(team=team)
    return queryset


def open_in_period(queryset: QuerySet[Opportunity], period: Period) -> QuerySet[Opportunity]:
    return queryset.filter(
        stage__kind=Stage.Kind.OPEN, expected_close_date__range=(period.start, period.end)
    )


def won_in_period(queryset: QuerySet[Opportunity], period: Period) -> QuerySet[Opportunity]:
    start, end = _period_instants(period)
    return queryset.filter(stage__kind=Stage.Kind.WON, closed_at__gte=start, closed_at__lt=end)


def forecast(
    *,
    user: Any,
    period: Period,
    owner: Any = None,
    team: Any = None,
    today: datetime.date | None = None,
) -> Forecast:
    """The period's forecast as `user` may see it, by team and owner with their roll-ups, and
    the forecast from history. A fixed number of queries, whatever the number of deals."""
    today = today or timezone.localdate()
    as_of = min(period.end, today)
    table = rates()
    base = _scoped(forecast_visible(user=user), owner, team)
    weighted_sum = ExpressionWrapper(
        F("amount") * F("stage__probability"), output_field=DecimalField()
    )
    open_rows = (
        open_in_period(base, period)
        .annotate(category=category_expression())
        .order_by()
        .values("owner_id", "team_id", "category", "currency")
        .annotate(n=Count("id"), total=Sum("amount"), weighted=Sum(weighted_sum))
    )
    won_rows = (
        won_in_period(base, period)
        .order_by()
        .values("owner_id", "team_id", "currency")
        .annotate(n=Count("id"), total=Sum("amount"))
    )
    total = Figures()
    teams: dict[int | None, TeamRollup] = {}
    owners: dict[tuple[int | None, int | None], OwnerRow] = {}
    category_counts: dict[str, int] = defaultdict(int)

    def buckets(row: Any) -> list[Figures]:
        rollup = teams.setdefault(row["team_id"], TeamRollup(team=None))
        key = (row["team_id"], row["owner_id"])
        if key not in owners:
            owners[key] = OwnerRow(owner=None)
            rollup.owners.append(owners[key])
        return [total, rollup.figures, owners[key].figures]

    for row in open_rows:
        amount = Decimal(row["total"] or 0)
        category_counts[row["category"]] += row["n"]
        converted = table.convert(amount, row["currency"], as_of)
        for figures in buckets(row):
            if converted is None:
                figures.add_unconverted(row["currency"], amount)
                continue
            weighted = table.convert(Decimal(row["weighted"] or 0) / 100, row["currency"], as_of)
            figures.add_open(row["category"], converted, weighted or Decimal("0"), row["n"])
    closed_won = Decimal("0")
    for won in won_rows:
        amount = Decimal(won["total"] or 0)
        category_counts["closed_won"] += won["n"]
        converted = table.convert(amount, won["currency"], as_of)
        if converted is not None:
            closed_won += converted
        for figures in buckets(won):
            if converted is None:
                figures.add_unconverted(won["currency"], amount)
            else:
                figures.add_won(converted, won["n"])
    _name_rows(teams, owners)
    history = history_forecast(
        base=base, period=period, today=today, closed_won=closed_won, table=table
    )
    ordered = sorted(teams.values(), key=lambda t: (t.team is None, t.team.name if t.team else ""))
    for rollup in ordered:
        rollup.owners.sort(key=lambda o: (o.owner is None, str(o.owner or "")))
    return Forecast(
        period=period,
        currency=table.currency,
        total=total,
        teams=ordered,
        history=history,
        stage_names=dict(Stage.objects.values_list("id", "name")),
        category_counts=dict(category_counts),
    )


def _name_rows(teams: dict[Any, TeamRollup], owners: dict[tuple[Any, Any], OwnerRow]) -> None:
    """Teams and owners of the rows, read in two queries."""
    team_ids = [k for k in teams if k is not None]
    by_team = Team.objects.in_bulk(team_ids)
    for key, rollup in teams.items():
        rollup.team = by_team.get(key) if key is not None else None
    owner_ids = {o for _, o in owners if o is not None}
    by_owner = User.objects.in_bulk(list(owner_ids))
    for (_, owner_id), row in owners.items():
        row.owner = by_owner.get(owner_id) if owner_id is not None else None


def stage_histories(*, today: datetime.date | None = None) -> dict[int, forecasting.StageHistory]:
    """Win rates and cycle times per open stage, from the rollup (`StageConversion`); the
    rollup is refreshed first when it is empty or older than `REFRESH_AFTER` (the periodic
    job normally keeps it fresh, so a page view reads a few rows)."""
    rows = list(StageConversion.objects.all())
    stale = timezone.now() - REFRESH_AFTER
    if not rows or min(r.refreshed_at for r in rows) < stale:
        from . import services

        try:
            rows = services.stage_conversions_refresh(today=today)
        except IntegrityError:  # another request refreshed it at the same moment
            rows = list(StageConversion.objects.all())
    return {
        r.stage_id: forecasting.StageHistory(
            stage_id=r.stage_id,
            deals=r.closed_deals,
            won=r.won_deals,
            cycle_days=[int(d) for d in r.cycle_days],
        )
        for r in rows
    }


def stage_visits(*, since: datetime.date) -> list[forecasting.StageVisit]:
    """First entries of closed opportunities (closed since `since`) into open stages. The
    whole organisation's history informs the rates: they are statistics, not records."""
    tz = timezone.get_current_timezone()
    rows = (
        StageChange.objects.filter(
            opportunity__closed_at__gte=datetime.datetime.combine(
                since, datetime.time.min, tzinfo=tz
            ),
            opportunity__stage__kind__in=[Stage.Kind.WON, Stage.Kind.LOST],
            to_stage__kind=Stage.Kind.OPEN,
        )
        .annotate(closed_on=TruncDate("opportunity__closed_at"))
        .order_by()
        .values_list("opportunity_id", "to_stage_id", "closed_on", "opportunity__stage__kind")
        .annotate(entered_on=Min(TruncDate("changed_at")))
    )
    won = Stage.Kind.WON.value
    return [
        forecasting.StageVisit(opportunity_id, stage_id, entered_on, closed_on, kind == won)
        for opportunity_id, stage_id, closed_on, kind, entered_on in rows
    ]


def history_forecast(
    *,
    base: QuerySet[Opportunity],
    period: Period,
    today: datetime.date,
    closed_won: Decimal,
    table: Rates,
) -> forecasting.HistoryForecast:
    """The forecast from history for the open deals of `base` (every open deal may close in
    the period, whatever its expected close date), grouped in SQL."""
    histories = stage_histories(today=today)
    in_period = Case(
        When(expected_close_date__range=(period.start, period.end), then=Value(True)),
        default=Value(False),
    )
    squares = ExpressionWrapper(F("amount") * F("amount"), output_field=DecimalField())
    rows = (
        base.filter(stage__kind=Stage.Kind.OPEN)
        .annotate(category=category_expression())
        .exclude(category=Category.OMITTED)
        .annotate(entered=TruncDate("stage_entered_at"), in_period=in_period)
        .order_by()
        .values("stage_id", "stage__probability", "currency", "entered", "in_period")
        .annotate(n=Count("id"), total=Sum("amount"), squares=Sum(squares))
    )
    as_of = min(period.end, today)
    groups = []
    for row in rows:
        rate = table.rate(row["currency"], as_of)
        if rate is None:
            continue  # listed as not converted by the category figures
        groups.append(
            forecasting.OpenGroup(
                stage_id=row["stage_id"],
                stage_probability=row["stage__probability"],
                entered_on=row["entered"],
                expected_in_period=bool(row["in_period"]),
                count=row["n"],
                amount=Decimal(row["total"] or 0) * rate,
                amount_squares=Decimal(row["squares"] or 0) * rate * rate,
            )
        )
    return forecasting.forecast_from_history(
        histories=histories,
        groups=groups,
        closed_won=closed_won,
        start=period.start,
        end=period.end,
        today=today,
    )


def opportunities_by_category(
    *,
    user: Any,
    period: Period,
    category: str,
    owner: Any = None,
    team: Any = None,
    limit: int = OPPORTUNITIES_PER_CATEGORY,
) -> list[Opportunity]:
    """The largest deals of one category in the period (open ones; `closed_won` for won)."""
    base = _scoped(forecast_visible(user=user), owner, team)
    if category == "closed_won":
        queryset = won_in_period(base, period).annotate(category=Value("closed_won"))
    else:
        queryset = (
            open_in_period(base, period)
            .annotate(category=category_expression())
            .filter(category=category)
        )
    return list(
        queryset.select_related("account", "owner", "stage").order_by("-amount", "id")[:limit]
    )


def forecast_opportunity(*, user: Any, pk: int) -> Opportunity:
    """One opportunity whose forecast category `user` may see; DoesNotExist otherwise."""
    return (
        forecast_visible(user=user)
        .annotate(category=category_expression())
        .select_related("account", "owner", "stage")
        .get(pk=pk)
    )


def forecast_category_override(*, opportunity: Opportunity) -> ForecastCategory | None:
    return ForecastCategory.objects.filter(opportunity=opportunity).first()


# --- quotas and attainment ----------------------------------------------------------------


def quota_visible(*, user: Any, action: str = "view") -> QuerySet[Quota]:
    """Quotas `user` may see: a rep their own and their team's (never another rep's, even
    when records are shared); a manager their team's and its reps'; an administrator all."""
    queryset = Quota.objects.restrict(user, action).select_related("owner", "team")
    if user is None or not user.is_authenticated or user.sees_all_records or user.manages_team:
        return queryset
    mine = Q(owner=user)
    if user.team_id is not None:
        mine |= Q(owner__isnull=True, team_id=user.team_id)
    return queryset.filter(mine)


def quota_get(*, user: Any, pk: int, action: str = "view") -> Quota:
    return quota_visible(user=user, action=action).get(pk=pk)


def quotas_for_period(*, user: Any, period: Period) -> QuerySet[Quota]:
    return quota_visible(user=user).filter(period_kind=period.kind, period_start=period.start)


@dataclass
class Attainment:
    """A quota against what was closed and what is still open in its period."""

    quota: Quota
    quota_amount: Decimal | None  # in the organisation's currency; None: no rate
    closed_won: Decimal
    pipeline: Decimal
    forecast: Decimal  # commit: closed won + open commit
    not_converted: dict[str, Decimal]

    @property
    def percent(self) -> Decimal | None:
        if not self.quota_amount:
            return None
        return (self.closed_won / self.quota_amount * 100).quantize(Decimal("0.1"), ROUND_HALF_UP)

    @property
    def bar(self) -> int:
        """The attainment bar's width (0–100)."""
        return 0 if self.percent is None else int(min(Decimal("100"), self.percent))

    @property
    def remaining(self) -> Decimal | None:
        if self.quota_amount is None:
            return None
        return max(Decimal("0"), self.quota_amount - self.closed_won)

    @property
    def coverage(self) -> Decimal | None:
        """Open pipeline ÷ remaining quota (None when nothing remains)."""
        remaining = self.remaining
        if not remaining:
            return None
        return (self.pipeline / remaining).quantize(Decimal("0.01"), ROUND_HALF_UP)


def attainment(
    *, user: Any, period: Period, today: datetime.date | None = None
) -> list[Attainment]:
    """Every quota of the period `user` may see, with its attainment. A quota's figures count
    all the deals of its rep (or team): who may see a quota may see how far it got."""
    today = today or timezone.localdate()
    as_of = min(period.end, today)
    table = rates()
    quotas = list(quotas_for_period(user=user, period=period))
    owner_ids = [q.owner_id for q in quotas if q.owner_id]
    team_ids = [q.team_id for q in quotas if q.team_id]
    figures: dict[tuple[str, int], Figures] = defaultdict(Figures)
    scope = Q(owner_id__in=owner_ids) | Q(team_id__in=team_ids)
    deals = Opportunity.objects.filter(scope)
    open_rows = (
        open_in_period(deals, period)
        .annotate(category=category_expression())
        .order_by()
        .values("owner_id", "team_id", "category", "currency")
        .annotate(n=Count("id"), total=Sum("amount"))
    )
    won_rows = (
        won_in_period(deals, period)
        .order_by()
        .values("owner_id", "team_id", "currency")
        .annotate(n=Count("id"), total=Sum("amount"))
    )

    def targets(row: Any) -> list[Figures]:
        found = []
        if row["owner_id"] in owner_ids:
            found.append(figures[("owner", row["owner_id"])])
        if row["team_id"] in team_ids:
            found.append(figures[("team", row["team_id"])])
        return found

    if owner_ids or team_ids:
        for row in open_rows:
            amount = Decimal(row["total"] or 0)
            converted = table.convert(amount, row["currency"], as_of)
            for f in targets(row):
                if converted is None:
                    f.add_unconverted(row["currency"], amount)
                else:
                    f.add_open(row["category"], converted, Decimal("0"), row["n"])
        for won in won_rows:
            amount = Decimal(won["total"] or 0)
            converted = table.convert(amount, won["currency"], as_of)
            for f in targets(won):
                if converted is None:
                    f.add_unconverted(won["currency"], amount)
                else:
                    f.add_won(converted, won["n"])
    result = []
    for quota in quotas:
        key = ("owner", quota.owner_id) if quota.owner_id else ("team", quota.team_id)
        f = figures[key]  # type: ignore[index]
        result.append(
            Attainment(
                quota=quota,
                quota_amount=table.convert(quota.amount, quota.currency, as_of),
                closed_won=f.closed_won,
                pipeline=f.pipeline,
                forecast=f.commit,
                not_converted=f.not_converted,
            )
        )
    result.sort(key=lambda a: (a.quota.owner_id is not None, str(a.quota.team or a.quota.owner)))
    return result


def quota_holders(*, user: Any) -> tuple[QuerySet[User], QuerySet[Team]]:
    """The reps and teams `user` may set quotas for: everyone for an administrator, the
    manager's own team (and its members) otherwise."""
    users = User.objects.filter(is_active=True).order_by("username")
    teams = Team.objects.order_by("name")
    if getattr(user, "sees_all_records", False):
        return users, teams
    if getattr(user, "team_id", None) is None:
        return users.filter(pk=user.pk), teams.none()
    return users.filter(team_id=user.team_id), teams.filter(pk=user.team_id)


# --- commissions --------------------------------------------------------------------------


def plans_visible(*, user: Any) -> QuerySet[CommissionPlan]:
    return CommissionPlan.objects.restrict(user, "view").prefetch_related("tiers")


def assignment_visible(*, user: Any) -> QuerySet[CommissionAssignment]:
    """Assignments whose statements `user` may read: their own; a manager's team's; all for
    an administrator. Reps never see each other's, even when records are shared."""
    queryset = CommissionAssignment.objects.restrict(user, "view").select_related("plan", "owner")
    if user is None or not user.is_authenticated:
        return queryset.none()
    if user.sees_all_records:
        return queryset
    if user.manages_team and user.team_id is not None:
        return queryset.filter(Q(owner=user) | Q(owner__team_id=user.team_id))
    return queryset.filter(owner=user)


@dataclass
class StatementLine:
    """One deal's (or one invoice payment's) contribution to a commission statement."""

    opportunity_id: int | None
    name: str
    account: str
    closed_on: datetime.date
    amount: Decimal
    currency: str
    converted: Decimal | None  # None: no exchange rate, left out of the basis
    commission: Decimal = Decimal("0.00")
    invoice_id: int | None = None


@dataclass
class Statement:
    assignment: CommissionAssignment
    period: Period
    currency: str
    quota: Decimal  # in the organisation's currency (0: no quota)
    quota_missing: bool
    revenue: Decimal
    attainment: Decimal | None
    lines: list[StatementLine]
    total: Decimal
    tiers: list[commission_math.Tier]
    basis_available: bool = True

    @property
    def not_converted(self) -> list[StatementLine]:
        return [line for line in self.lines if line.converted is None]


def won_deal_lines(*, owner: Any, period: Period, table: Rates) -> list[StatementLine]:
    """The basis "won deals": the rep's deals won in the period, at their amount at close,
    converted at the rate of their closing day; in closing order."""
    deals = (
        won_in_period(Opportunity.objects.filter(owner=owner), period)
        .select_related("account")
        .order_by("closed_at", "id")
    )
    lines = []
    for deal in deals:
        assert deal.closed_at is not None
        closed_on = timezone.localtime(deal.closed_at).date()
        lines.append(
            StatementLine(
                opportunity_id=deal.pk,
                name=deal.name,
                account=deal.account.name,
                closed_on=closed_on,
                amount=deal.amount,
                currency=deal.currency,
                converted=table.convert(deal.amount, deal.currency, closed_on),
            )
        )
    return lines


def paid_invoice_lines(*, owner: Any, period: Period, table: Rates) -> list[StatementLine]:
    """The basis "paid invoices": payments received in the period (not reversed) on the rep's
    invoices, at the invoice's net share (tax is not revenue), converted at the rate of the
    payment's day; in payment order. An invoice is the rep's when it bills an order the rep
    owns (who sold it), or, without an order or its owner, when the rep owns the account."""
    from patron.billing.models import Invoice, Payment

    sold = Q(invoice__order__owner=owner)
    owns_account = Q(invoice__order__owner__isnull=True, invoice__account__owner=owner)
    payments = (
        Payment.objects.filter(
            sold | owns_account,
            invoice__kind=Invoice.Kind.INVOICE,
            reversed_at__isnull=True,
            paid_on__range=(period.start, period.end),
        )
        .select_related("invoice", "invoice__account")
        .order_by("paid_on", "id")
    )
    lines = []
    for payment in payments:
        invoice = payment.invoice
        net = payment.amount
        if invoice.gross_total:
            net = cents(payment.amount * invoice.net_total / invoice.gross_total)
        lines.append(
            StatementLine(
                opportunity_id=None,
                invoice_id=invoice.pk,
                name=f"Invoice {invoice.number_display or invoice.pk}",
                account=invoice.account.name,
                closed_on=payment.paid_on,
                amount=net,
                currency=invoice.currency,
                converted=table.convert(net, invoice.currency, payment.paid_on),
            )
        )
    return lines


def basis_lines(
    *, basis: str, owner: Any, period: Period, table: Rates
) -> tuple[list[StatementLine], bool]:
    """What a plan pays on, as statement lines; False when the basis is unknown."""
    if basis == CommissionPlan.Basis.WON_DEALS:
        return won_deal_lines(owner=owner, period=period, table=table), True
    if basis == CommissionPlan.Basis.PAID_INVOICES:
        return paid_invoice_lines(owner=owner, period=period, table=table), True
    return [], False


def commission_statement(*, user: Any, assignment_id: int) -> Statement:
    """A rep's commission statement for the assignment's period; DoesNotExist when `user` may
    not read it."""
    assignment = assignment_visible(user=user).get(pk=assignment_id)
    period = Period(assignment.period_kind, assignment.period_start)
    table = rates()
    quota = (
        Quota.objects.filter(
            owner=assignment.owner, period_kind=period.kind, period_start=period.start
        )
        .order_by("id")
        .first()
    )
    quota_amount = Decimal("0")
    if quota is not None:
        quota_amount = table.convert(quota.amount, quota.currency, period.end) or Decimal("0")
    lines, available = basis_lines(
        basis=assignment.plan.basis, owner=assignment.owner, period=period, table=table
    )
    counted = [line for line in lines if line.converted is not None]
    tiers = [
        commission_math.Tier(t.from_attainment, t.rate)
        for t in assignment.plan.tiers.order_by("from_attainment")
    ]
    amounts = commission_math.deal_commissions(
        revenues=[line.converted or Decimal("0") for line in counted],
        quota=quota_amount,
        tiers=tiers,
        method=assignment.plan.method,
    )
    for line, amount in zip(counted, amounts, strict=True):
        line.commission = amount
    revenue = sum((line.converted or Decimal("0") for line in counted), Decimal("0"))
    return Statement(
        assignment=assignment,
        period=period,
        currency=table.currency,
        quota=quota_amount,
        quota_missing=quota_amount <= 0,
        revenue=revenue,
        attainment=(revenue / quota_amount * 100).quantize(Decimal("0.1"), ROUND_HALF_UP)
        if quota_amount > 0
        else None,
        lines=lines,
        total=sum(amounts, Decimal("0.00")),
        tiers=tiers,
        basis_available=available,
    )
