"""Performance API schemas: they parse and shape only; writes go through `services`."""

from __future__ import annotations

import datetime
import decimal
from typing import Literal

from ninja import Field, Schema

from patron.core.schemas import InputSchema, TeamRef, UserRef

from .periods import PATTERN

MAX_ID = 2**63 - 1
PeriodField = Field(
    ...,
    pattern=PATTERN,
    max_length=7,
    description="A year (2026), a quarter (2026-Q4) or a month (2026-11).",
)
CategoryName = Literal["pipeline", "best_case", "commit", "omitted"]


class FiguresOut(Schema):
    pipeline: decimal.Decimal = Field(..., description="Open amount, omitted deals excluded.")
    weighted: decimal.Decimal = Field(..., description="Open amount × stage probability.")
    commit: decimal.Decimal = Field(..., description="Closed won + open commit.")
    best_case: decimal.Decimal = Field(..., description="Commit + open best case.")
    closed_won: decimal.Decimal
    omitted: decimal.Decimal
    open_count: int
    won_count: int
    not_converted: dict[str, decimal.Decimal] = Field(
        ..., description="Amounts in currencies with no exchange rate, by currency."
    )


class OwnerFiguresOut(Schema):
    owner: UserRef | None
    figures: FiguresOut


class TeamFiguresOut(Schema):
    team: TeamRef | None
    figures: FiguresOut
    owners: list[OwnerFiguresOut]


class StageEstimateOut(Schema):
    stage_id: int
    stage: str
    win_rate: decimal.Decimal = Field(..., description="0–1.")
    rate_from_history: bool
    timing_from_history: bool
    closed_deals: int
    won_deals: int
    median_cycle_days: int | None
    open_count: int
    expected: decimal.Decimal


class HistoryForecastOut(Schema):
    expected: decimal.Decimal
    low: decimal.Decimal = Field(..., description="10th percentile.")
    high: decimal.Decimal = Field(..., description="90th percentile.")
    closed_won: decimal.Decimal
    fallback: bool = Field(..., description="Some stage fell back on stage probabilities.")
    stages: list[StageEstimateOut]


class ForecastOut(Schema):
    period: str
    start: datetime.date
    end: datetime.date
    currency: str
    total: FiguresOut
    teams: list[TeamFiguresOut]
    history: HistoryForecastOut


class CategoryIn(InputSchema):
    category: CategoryName | None = Field(
        ..., description="The forecast category; null puts it back to its stage's."
    )


class CategoryOut(Schema):
    opportunity_id: int
    category: str
    overridden: bool


class QuotaOut(Schema):
    id: int
    version: int
    owner: UserRef | None
    team: TeamRef | None
    period: str = Field(..., alias="period_label")
    period_kind: str
    period_start: datetime.date
    period_end: datetime.date
    amount: decimal.Decimal
    currency: str


class QuotaPage(Schema):
    results: list[QuotaOut]
    next_cursor: str | None
    previous_cursor: str | None


class QuotaIn(InputSchema):
    owner_id: int | None = Field(None, ge=1, le=MAX_ID, description="The rep (or team_id).")
    team_id: int | None = Field(None, ge=1, le=MAX_ID, description="The team (or owner_id).")
    period: str = PeriodField
    amount: decimal.Decimal = Field(..., ge=0, max_digits=14, decimal_places=2)
    currency: str | None = Field(None, pattern=r"^[A-Za-z]{3}$")


class QuotaPatch(InputSchema):
    version: int = Field(..., ge=1, le=2_147_483_647)
    amount: decimal.Decimal = Field(None, ge=0, max_digits=14, decimal_places=2)  # type: ignore[assignment]
    currency: str = Field(None, pattern=r"^[A-Za-z]{3}$")  # type: ignore[assignment]


class AttainmentOut(Schema):
    quota: QuotaOut
    currency: str
    quota_amount: decimal.Decimal | None = Field(
        ..., description="In the organisation's currency; null without an exchange rate."
    )
    closed_won: decimal.Decimal
    attainment_percent: decimal.Decimal | None
    remaining: decimal.Decimal | None
    pipeline: decimal.Decimal
    coverage: decimal.Decimal | None = Field(..., description="Open pipeline ÷ remaining quota.")
    forecast: decimal.Decimal = Field(..., description="Commit: closed won + open commit.")


class TierOut(Schema):
    from_attainment: decimal.Decimal
    rate: decimal.Decimal


class StatementLineOut(Schema):
    opportunity_id: int | None
    invoice_id: int | None
    name: str
    account: str
    closed_on: datetime.date
    amount: decimal.Decimal
    currency: str
    converted: decimal.Decimal | None
    commission: decimal.Decimal


class StatementOut(Schema):
    assignment_id: int
    owner: UserRef
    plan: str
    method: str
    basis: str
    basis_available: bool
    period: str
    currency: str
    quota: decimal.Decimal
    revenue: decimal.Decimal
    attainment_percent: decimal.Decimal | None
    tiers: list[TierOut]
    lines: list[StatementLineOut]
    total: decimal.Decimal


class AssignmentOut(Schema):
    id: int
    owner: UserRef
    plan: str
    period: str


# --- configuration: commission plans, assignments, exchange rates, stage categories --------

MethodName = Literal["marginal", "flat"]
BasisName = Literal["won_deals", "paid_invoices"]
CurrencyCode = Field(..., pattern=r"^[A-Za-z]{3}$", description="ISO 4217 code, e.g. USD.")


class TierIn(InputSchema):
    from_attainment: decimal.Decimal = Field(
        ...,
        ge=0,
        le=decimal.Decimal("99999.99"),
        max_digits=7,
        decimal_places=2,
        description="Start of the band, in % of quota; the first tier starts at 0.",
    )
    rate: decimal.Decimal = Field(
        ...,
        ge=0,
        le=100,
        max_digits=6,
        decimal_places=3,
        description="Commission rate in % of the revenue in the band (0–100).",
    )


class PlanOut(Schema):
    id: int
    name: str
    method: str
    basis: str
    description: str
    created_at: datetime.datetime
    tiers: list[TierOut]

    @staticmethod
    def resolve_tiers(obj: object) -> list[object]:
        return list(obj.tiers.all())  # type: ignore[attr-defined]


class PlanPage(Schema):
    results: list[PlanOut]
    next_cursor: str | None
    previous_cursor: str | None


class PlanIn(InputSchema):
    """A whole plan: its fields and all of its tiers, ascending from 0 %."""

    name: str = Field(..., min_length=1, max_length=100)
    method: MethodName = "marginal"
    basis: BasisName = "won_deals"
    description: str = Field("", max_length=5000)
    tiers: list[TierIn] = Field(..., min_length=1, max_length=50)


class PlanPatch(InputSchema):
    """The fields to change; `tiers`, when sent, replace all of the plan's tiers."""

    name: str | None = Field(None, min_length=1, max_length=100)
    method: MethodName | None = Field(None)
    basis: BasisName | None = Field(None)
    description: str | None = Field(None, max_length=5000)
    tiers: list[TierIn] | None = Field(None, min_length=1, max_length=50)


class PlanRef(Schema):
    id: int
    name: str


class CommissionAssignmentOut(Schema):
    id: int
    owner: UserRef
    plan: PlanRef
    period: str
    period_kind: str
    period_start: datetime.date
    period_end: datetime.date

    @staticmethod
    def resolve_period(obj: object) -> str:
        from .periods import Period

        return Period(obj.period_kind, obj.period_start).label  # type: ignore[attr-defined]


class CommissionAssignmentPage(Schema):
    results: list[CommissionAssignmentOut]
    next_cursor: str | None
    previous_cursor: str | None


class CommissionAssignmentIn(InputSchema):
    plan_id: int = Field(..., ge=1, le=MAX_ID)
    owner_id: int = Field(..., ge=1, le=MAX_ID, description="The rep.")
    period: str = PeriodField


class CommissionAssignmentPatch(InputSchema):
    plan_id: int | None = Field(None, ge=1, le=MAX_ID)
    period: str | None = Field(
        None,
        pattern=PATTERN,
        max_length=7,
        description="A year (2026), a quarter (2026-Q4) or a month (2026-11).",
    )


class ExchangeRateOut(Schema):
    id: int
    currency: str
    rate: decimal.Decimal = Field(..., description="Units of the organisation's currency.")
    valid_from: datetime.date


class ExchangeRatePage(Schema):
    results: list[ExchangeRateOut]
    next_cursor: str | None
    previous_cursor: str | None


RateField = Field(
    ...,
    gt=0,
    le=decimal.Decimal("9999999999"),
    max_digits=18,
    decimal_places=8,
    description="How many units of the organisation's currency one unit of `currency` is worth.",
)


class ExchangeRateIn(InputSchema):
    currency: str = CurrencyCode
    rate: decimal.Decimal = RateField
    valid_from: datetime.date = Field(..., description="The first day the rate applies.")


class ExchangeRatePatch(InputSchema):
    currency: str | None = Field(None, pattern=r"^[A-Za-z]{3}$")
    rate: decimal.Decimal | None = Field(
        None, gt=0, le=decimal.Decimal("9999999999"), max_digits=18, decimal_places=8
    )
    valid_from: datetime.date | None = Field(None)


class StageRef(Schema):
    id: int
    name: str
    pipeline: str
    probability: int

    @staticmethod
    def resolve_pipeline(obj: object) -> str:
        return obj.pipeline.name  # type: ignore[attr-defined]


class StageCategoryOut(Schema):
    id: int
    stage: StageRef
    category: str


class StageCategoryPage(Schema):
    results: list[StageCategoryOut]
    next_cursor: str | None
    previous_cursor: str | None


class StageCategoryIn(InputSchema):
    stage_id: int = Field(..., ge=1, le=MAX_ID, description="An open stage.")
    category: CategoryName


class StageCategoryPatch(InputSchema):
    category: CategoryName
