"""Forecasts, quotas and commissions API. Parse, call the selectors and services, shape."""

from decimal import Decimal
from typing import Any

from django.core.exceptions import ValidationError
from django.http import HttpRequest
from ninja import Field, Query, Router, Schema, Status

from patron.core.exceptions import PermissionDeniedError
from patron.core.idempotency import idempotent
from patron.core.models import Team, User
from patron.core.permissions import can
from patron.core.schemas import ERRORS, WRITE_ERRORS, PageParams
from patron.sales.models import Stage
from patron.utils.cursor import paginate

from . import periods, selectors, services
from .models import CommissionPlan, StageForecastCategory
from .schemas import (
    MAX_ID,
    AssignmentOut,
    AttainmentOut,
    CategoryIn,
    CategoryName,
    CategoryOut,
    CommissionAssignmentIn,
    CommissionAssignmentOut,
    CommissionAssignmentPage,
    CommissionAssignmentPatch,
    ExchangeRateIn,
    ExchangeRateOut,
    ExchangeRatePage,
    ExchangeRatePatch,
    ForecastOut,
    PlanIn,
    PlanOut,
    PlanPage,
    PlanPatch,
    QuotaIn,
    QuotaOut,
    QuotaPage,
    QuotaPatch,
    StageCategoryIn,
    StageCategoryOut,
    StageCategoryPage,
    StageCategoryPatch,
    StatementOut,
)

router = Router()

PERIOD_HELP = "A year (2026), a quarter (2026-Q4) or a month (2026-11)."


def _actor(request: HttpRequest) -> User:
    return request.auth  # type: ignore[attr-defined,return-value]


def _require(user: User, permission: str) -> None:
    if not can(user, permission):
        raise PermissionDeniedError(f"Your role does not allow {permission.replace('.', ' ')}.")


class ForecastParams(Schema):
    period: str = Field(..., pattern=periods.PATTERN, max_length=7, description=PERIOD_HELP)
    owner: str | None = Field(
        None, pattern=r"^(me|[1-9]\d{0,17})$", description="A user id, or `me`."
    )
    team: int | None = Field(None, ge=1, le=MAX_ID)


def _scope(user: User, owner: str | None, team: int | None) -> tuple[Any, Any]:
    """The owner and team a request narrows to; an unknown one is a 400 on its parameter."""
    found_owner = found_team = None
    if owner == "me":
        found_owner = user
    elif owner:
        found_owner = User.objects.filter(pk=int(owner)).first()
        if found_owner is None:
            raise ValidationError({"owner": [f"There is no user with id {owner}."]})
    if team is not None:
        found_team = Team.objects.filter(pk=team).first()
        if found_team is None:
            raise ValidationError({"team": [f"There is no team with id {team}."]})
    return found_owner, found_team


def _figures(f: selectors.Figures) -> dict[str, Any]:
    return {
        "pipeline": f.pipeline,
        "weighted": f.weighted,
        "commit": f.commit,
        "best_case": f.best_case,
        "closed_won": f.closed_won,
        "omitted": f.omitted,
        "open_count": f.open_count,
        "won_count": f.won_count,
        "not_converted": f.not_converted,
    }


@router.get("/forecast", response={200: ForecastOut, **ERRORS}, tags=["Forecasts"])
def forecast(request: HttpRequest, params: Query[ForecastParams]):
    """The period's forecast (pipeline, weighted, commit, best case, closed won) for the
    deals you may see, by team and owner with their roll-ups, in the organisation's currency,
    and the forecast from history with its 10th–90th percentile range."""
    user = _actor(request)
    _require(user, "forecast.view")
    period = periods.parse(params.period)
    owner, team = _scope(user, params.owner, params.team)
    result = selectors.forecast(user=user, period=period, owner=owner, team=team)
    history = result.history
    return {
        "period": period.label,
        "start": period.start,
        "end": period.end,
        "currency": result.currency,
        "total": _figures(result.total),
        "teams": [
            {
                "team": t.team,
                "figures": _figures(t.figures),
                "owners": [{"owner": o.owner, "figures": _figures(o.figures)} for o in t.owners],
            }
            for t in result.teams
        ],
        "history": {
            "expected": history.expected,
            "low": history.low,
            "high": history.high,
            "closed_won": history.closed_won,
            "fallback": history.fallback,
            "stages": [
                {
                    "stage_id": s.stage_id,
                    "stage": result.stage_names.get(s.stage_id, ""),
                    "win_rate": s.win_rate.quantize(Decimal("0.0001")),
                    "rate_from_history": s.rate_from_history,
                    "timing_from_history": s.timing_from_history,
                    "closed_deals": s.deals,
                    "won_deals": s.won,
                    "median_cycle_days": s.median_cycle_days,
                    "open_count": s.open_count,
                    "expected": s.expected,
                }
                for s in history.stages.values()
            ],
        },
    }


@router.put(
    "/forecast/categories/{opportunity_id}",
    response={200: CategoryOut, **WRITE_ERRORS},
    tags=["Forecasts"],
)
def forecast_category_set(request: HttpRequest, opportunity_id: int, payload: CategoryIn):
    """Put an open opportunity in a forecast category (null: back to its stage's)."""
    user = _actor(request)
    opportunity = selectors.forecast_opportunity(user=user, pk=opportunity_id)
    services.forecast_category_set(actor=user, opportunity=opportunity, category=payload.category)
    found = selectors.forecast_opportunity(user=user, pk=opportunity_id)
    return {
        "opportunity_id": found.pk,
        "category": found.category,  # type: ignore[attr-defined]
        "overridden": payload.category is not None,
    }


class QuotaListParams(PageParams):
    period: str | None = Field(None, pattern=periods.PATTERN, max_length=7, description=PERIOD_HELP)
    owner: str | None = Field(None, pattern=r"^(me|[1-9]\d{0,17})$")
    team: int | None = Field(None, ge=1, le=MAX_ID)


@router.get("/quotas", response={200: QuotaPage, **ERRORS}, tags=["Quotas"])
def quota_list(request: HttpRequest, params: Query[QuotaListParams]):
    """Quotas you may see, latest period first."""
    user = _actor(request)
    queryset = selectors.quota_visible(user=user)
    if params.period:
        period = periods.parse(params.period)
        queryset = queryset.filter(period_kind=period.kind, period_start=period.start)
    owner, team = _scope(user, params.owner, params.team)
    if owner is not None:
        queryset = queryset.filter(owner=owner)
    if team is not None:
        queryset = queryset.filter(team=team)
    try:
        page = paginate(
            queryset, ordering=["-period_start", "-id"], cursor=params.cursor, limit=params.limit
        )
    except (ValueError, TypeError) as exc:
        raise ValidationError({"cursor": ["This cursor is not valid."]}) from exc
    return {
        "results": page.items,
        "next_cursor": page.next_cursor,
        "previous_cursor": page.previous_cursor,
    }


@router.post("/quotas", response={201: QuotaOut, **WRITE_ERRORS}, tags=["Quotas"])
@idempotent
def quota_create(request: HttpRequest, payload: QuotaIn):
    """Set a rep's (`owner_id`) or a team's (`team_id`) quota for a period; the currency
    defaults to the organisation's."""
    user = _actor(request)
    period = periods.parse(payload.period)
    data: dict[str, Any] = {
        "period_kind": period.kind,
        "period_start": period.start,
        "amount": payload.amount,
        "currency": (payload.currency or selectors.default_currency()).upper(),
    }
    errors: dict[str, list[str]] = {}
    if payload.owner_id is not None:
        data["owner"] = User.objects.filter(pk=payload.owner_id).first()
        if data["owner"] is None:
            errors["owner_id"] = [f"There is no user with id {payload.owner_id}."]
    if payload.team_id is not None:
        data["team"] = Team.objects.filter(pk=payload.team_id).first()
        if data["team"] is None:
            errors["team_id"] = [f"There is no team with id {payload.team_id}."]
    if errors:
        raise ValidationError(errors)
    try:
        quota = services.quota_create(actor=user, data=data)
    except ValidationError as exc:
        raise _rename(exc) from None
    return Status(201, selectors.quota_get(user=user, pk=quota.pk))


def _rename(exc: ValidationError) -> ValidationError:
    names = {"owner": "owner_id", "team": "team_id", "period_start": "period"}
    if not hasattr(exc, "error_dict"):
        return exc
    return ValidationError({names.get(k, k): v for k, v in exc.error_dict.items()})


@router.get("/quotas/{quota_id}", response={200: QuotaOut, **ERRORS}, tags=["Quotas"])
def quota_detail(request: HttpRequest, quota_id: int):
    return selectors.quota_get(user=_actor(request), pk=quota_id)


@router.patch("/quotas/{quota_id}", response={200: QuotaOut, **WRITE_ERRORS}, tags=["Quotas"])
def quota_update(request: HttpRequest, quota_id: int, payload: QuotaPatch):
    """Change a quota's amount or currency; send the `version` you read (stale: 409)."""
    user = _actor(request)
    quota = selectors.quota_get(user=user, pk=quota_id)
    data = payload.model_dump(exclude_unset=True, exclude={"version"})
    for name, value in data.items():
        if value is None:
            raise ValidationError({name: ["This field may not be null."]})
    services.quota_update(actor=user, quota=quota, expected_version=payload.version, data=data)
    return selectors.quota_get(user=user, pk=quota_id)


@router.delete("/quotas/{quota_id}", response={204: None, **ERRORS}, tags=["Quotas"])
def quota_delete(request: HttpRequest, quota_id: int):
    user = _actor(request)
    services.quota_delete(actor=user, quota=selectors.quota_get(user=user, pk=quota_id))
    return Status(204, None)


class PeriodParams(Schema):
    period: str = Field(..., pattern=periods.PATTERN, max_length=7, description=PERIOD_HELP)


@router.get("/attainment", response={200: list[AttainmentOut], **ERRORS}, tags=["Quotas"])
def attainment(request: HttpRequest, params: Query[PeriodParams]):
    """Each quota of the period you may see: closed won, % attained, open pipeline, coverage
    (open pipeline ÷ remaining quota) and the commit forecast."""
    user = _actor(request)
    _require(user, "quota.view")
    period = periods.parse(params.period)
    currency = selectors.default_currency()
    return [
        {
            "quota": a.quota,
            "currency": currency,
            "quota_amount": a.quota_amount,
            "closed_won": a.closed_won,
            "attainment_percent": a.percent,
            "remaining": a.remaining,
            "pipeline": a.pipeline,
            "coverage": a.coverage,
            "forecast": a.forecast,
        }
        for a in selectors.attainment(user=user, period=period)
    ]


class StatementListParams(Schema):
    period: str | None = Field(None, pattern=periods.PATTERN, max_length=7, description=PERIOD_HELP)


@router.get(
    "/commission-statements", response={200: list[AssignmentOut], **ERRORS}, tags=["Commissions"]
)
def statement_list(request: HttpRequest, params: Query[StatementListParams]):
    """The commission statements you may read (yours; a manager's team's), newest first."""
    user = _actor(request)
    queryset = selectors.assignment_visible(user=user)
    if params.period:
        period = periods.parse(params.period)
        queryset = queryset.filter(period_kind=period.kind, period_start=period.start)
    return [
        {
            "id": a.pk,
            "owner": a.owner,
            "plan": a.plan.name,
            "period": periods.Period(a.period_kind, a.period_start).label,
        }
        for a in queryset[:500]
    ]


@router.get(
    "/commission-statements/{assignment_id}",
    response={200: StatementOut, **ERRORS},
    tags=["Commissions"],
)
def statement_detail(request: HttpRequest, assignment_id: int):
    """A rep's statement for a period: each won deal's contribution under the plan's tiers."""
    statement = selectors.commission_statement(user=_actor(request), assignment_id=assignment_id)
    assignment = statement.assignment
    return {
        "assignment_id": assignment.pk,
        "owner": assignment.owner,
        "plan": assignment.plan.name,
        "method": assignment.plan.method,
        "basis": assignment.plan.basis,
        "basis_available": statement.basis_available,
        "period": statement.period.label,
        "currency": statement.currency,
        "quota": statement.quota,
        "revenue": statement.revenue,
        "attainment_percent": statement.attainment,
        "tiers": [{"from_attainment": t.from_attainment, "rate": t.rate} for t in statement.tiers],
        "lines": statement.lines,
        "total": statement.total,
    }


# --- configuration: commission plans and assignments, exchange rates, stage categories -----


def _page(queryset: Any, ordering: list[str], params: PageParams) -> dict[str, Any]:
    try:
        page = paginate(queryset, ordering=ordering, cursor=params.cursor, limit=params.limit)
    except (ValueError, TypeError) as exc:
        raise ValidationError({"cursor": ["This cursor is not valid."]}) from exc
    return {
        "results": page.items,
        "next_cursor": page.next_cursor,
        "previous_cursor": page.previous_cursor,
    }


def _no_nulls(data: dict[str, Any]) -> None:
    for name, value in data.items():
        if value is None:
            raise ValidationError({name: ["This field may not be null."]})


def _renamed(exc: ValidationError, names: dict[str, str]) -> ValidationError:
    if not hasattr(exc, "error_dict"):
        return exc
    return ValidationError({names.get(k, k): v for k, v in exc.error_dict.items()})


def _plan_get(user: User, plan_id: int) -> CommissionPlan:
    return selectors.plans_visible(user=user).get(pk=plan_id)


@router.get("/commission-plans", response={200: PlanPage, **ERRORS}, tags=["Commissions"])
def plan_list(request: HttpRequest, params: Query[PageParams]):
    """Commission plans with their tiers, by name (needs `commission.view`)."""
    user = _actor(request)
    _require(user, "commission.view")
    return _page(selectors.plans_visible(user=user), ["name", "id"], params)


@router.post("/commission-plans", response={201: PlanOut, **WRITE_ERRORS}, tags=["Commissions"])
@idempotent
def plan_create(request: HttpRequest, payload: PlanIn):
    """A plan with all of its tiers: the first from 0 % of quota, each next one higher, rates
    0–100 % (needs `commission.add`)."""
    user = _actor(request)
    data = payload.model_dump(exclude={"tiers"})
    tiers = [t.model_dump() for t in payload.tiers]
    plan = services.commission_plan_create(actor=user, data=data, tiers=tiers)
    return Status(201, _plan_get(user, plan.pk))


@router.get("/commission-plans/{plan_id}", response={200: PlanOut, **ERRORS}, tags=["Commissions"])
def plan_detail(request: HttpRequest, plan_id: int):
    return _plan_get(_actor(request), plan_id)


@router.put(
    "/commission-plans/{plan_id}", response={200: PlanOut, **WRITE_ERRORS}, tags=["Commissions"]
)
def plan_replace(request: HttpRequest, plan_id: int, payload: PlanIn):
    """Replace a plan: its fields and all of its tiers (needs `commission.change`)."""
    user = _actor(request)
    plan = _plan_get(user, plan_id)
    data = payload.model_dump(exclude={"tiers"})
    tiers = [t.model_dump() for t in payload.tiers]
    services.commission_plan_update(actor=user, plan=plan, data=data, tiers=tiers)
    return _plan_get(user, plan_id)


@router.patch(
    "/commission-plans/{plan_id}", response={200: PlanOut, **WRITE_ERRORS}, tags=["Commissions"]
)
def plan_update(request: HttpRequest, plan_id: int, payload: PlanPatch):
    """Change some of a plan's fields; `tiers`, when sent, replace all of its tiers."""
    user = _actor(request)
    plan = _plan_get(user, plan_id)
    data = payload.model_dump(exclude_unset=True, exclude={"tiers"})
    _no_nulls(data)
    tiers = None
    if "tiers" in payload.model_fields_set:
        if payload.tiers is None:
            raise ValidationError({"tiers": ["This field may not be null."]})
        tiers = [t.model_dump() for t in payload.tiers]
    services.commission_plan_update(actor=user, plan=plan, data=data, tiers=tiers)
    return _plan_get(user, plan_id)


@router.delete("/commission-plans/{plan_id}", response={204: None, **ERRORS}, tags=["Commissions"])
def plan_delete(request: HttpRequest, plan_id: int):
    """Delete a plan and its tiers; refused (400) while reps are assigned to it."""
    user = _actor(request)
    services.commission_plan_delete(actor=user, plan=_plan_get(user, plan_id))
    return Status(204, None)


ASSIGNMENT_NAMES = {"plan": "plan_id", "owner": "owner_id", "period_start": "period"}


class AssignmentListParams(PageParams):
    period: str | None = Field(None, pattern=periods.PATTERN, max_length=7, description=PERIOD_HELP)
    owner: str | None = Field(
        None, pattern=r"^(me|[1-9]\d{0,17})$", description="A user id, or `me`."
    )
    plan: int | None = Field(None, ge=1, le=MAX_ID)


def _assignment_get(user: User, assignment_id: int) -> Any:
    return selectors.assignment_visible(user=user).get(pk=assignment_id)


def _plan_for(plan_id: int) -> CommissionPlan:
    plan = CommissionPlan.objects.filter(pk=plan_id).first()
    if plan is None:
        raise ValidationError({"plan_id": [f"There is no commission plan with id {plan_id}."]})
    return plan


@router.get(
    "/commission-assignments",
    response={200: CommissionAssignmentPage, **ERRORS},
    tags=["Commissions"],
)
def assignment_list(request: HttpRequest, params: Query[AssignmentListParams]):
    """The assignments you may read (yours; a manager's team's; all for an administrator),
    latest period first."""
    user = _actor(request)
    _require(user, "commission.view")
    queryset = selectors.assignment_visible(user=user)
    if params.period:
        period = periods.parse(params.period)
        queryset = queryset.filter(period_kind=period.kind, period_start=period.start)
    owner, _ = _scope(user, params.owner, None)
    if owner is not None:
        queryset = queryset.filter(owner=owner)
    if params.plan is not None:
        queryset = queryset.filter(plan_id=params.plan)
    return _page(queryset, ["-period_start", "-id"], params)


@router.post(
    "/commission-assignments",
    response={201: CommissionAssignmentOut, **WRITE_ERRORS},
    tags=["Commissions"],
)
@idempotent
def assignment_create(request: HttpRequest, payload: CommissionAssignmentIn):
    """Put a rep (`owner_id`) on a plan for a period (needs `commission.add`; a manager for
    their own team's reps)."""
    user = _actor(request)
    period = periods.parse(payload.period)
    owner = User.objects.filter(pk=payload.owner_id).first()
    if owner is None:
        raise ValidationError({"owner_id": [f"There is no user with id {payload.owner_id}."]})
    data = {
        "plan": _plan_for(payload.plan_id),
        "owner": owner,
        "period_kind": period.kind,
        "period_start": period.start,
    }
    try:
        assignment = services.commission_assignment_create(actor=user, data=data)
    except ValidationError as exc:
        raise _renamed(exc, ASSIGNMENT_NAMES) from None
    return Status(201, _assignment_get(user, assignment.pk))


@router.get(
    "/commission-assignments/{assignment_id}",
    response={200: CommissionAssignmentOut, **ERRORS},
    tags=["Commissions"],
)
def assignment_detail(request: HttpRequest, assignment_id: int):
    return _assignment_get(_actor(request), assignment_id)


@router.patch(
    "/commission-assignments/{assignment_id}",
    response={200: CommissionAssignmentOut, **WRITE_ERRORS},
    tags=["Commissions"],
)
def assignment_update(request: HttpRequest, assignment_id: int, payload: CommissionAssignmentPatch):
    """Move an assignment to another plan (`plan_id`) or period; the rep stays."""
    user = _actor(request)
    assignment = _assignment_get(user, assignment_id)
    sent = payload.model_dump(exclude_unset=True)
    _no_nulls(sent)
    data: dict[str, Any] = {}
    if "plan_id" in sent:
        data["plan"] = _plan_for(sent["plan_id"])
    if "period" in sent:
        period = periods.parse(sent["period"])
        data["period_kind"], data["period_start"] = period.kind, period.start
    try:
        services.commission_assignment_update(actor=user, assignment=assignment, data=data)
    except ValidationError as exc:
        raise _renamed(exc, ASSIGNMENT_NAMES) from None
    return _assignment_get(user, assignment_id)


@router.delete(
    "/commission-assignments/{assignment_id}",
    response={204: None, **ERRORS},
    tags=["Commissions"],
)
def assignment_delete(request: HttpRequest, assignment_id: int):
    user = _actor(request)
    assignment = _assignment_get(user, assignment_id)
    try:
        services.commission_assignment_delete(actor=user, assignment=assignment)
    except ValidationError as exc:
        raise _renamed(exc, ASSIGNMENT_NAMES) from None
    return Status(204, None)


class ExchangeRateListParams(PageParams):
    currency: str | None = Field(None, pattern=r"^[A-Za-z]{3}$", description="ISO 4217 code.")


def _rate_get(user: User, rate_id: int) -> Any:
    return selectors.exchange_rates_visible(user=user).get(pk=rate_id)


@router.get("/exchange-rates", response={200: ExchangeRatePage, **ERRORS}, tags=["Forecasts"])
def exchange_rate_list(request: HttpRequest, params: Query[ExchangeRateListParams]):
    """Rates to the organisation's currency, by currency and date (needs `forecast.view`)."""
    user = _actor(request)
    _require(user, "forecast.view")
    queryset = selectors.exchange_rates_visible(user=user)
    if params.currency:
        queryset = queryset.filter(currency=params.currency.upper())
    return _page(queryset, ["currency", "valid_from", "id"], params)


@router.post("/exchange-rates", response={201: ExchangeRateOut, **WRITE_ERRORS}, tags=["Forecasts"])
@idempotent
def exchange_rate_create(request: HttpRequest, payload: ExchangeRateIn):
    """What one unit of `currency` is worth in the organisation's currency from `valid_from`
    on (needs `forecast.change`); forecasts, attainment and statements convert with it."""
    user = _actor(request)
    rate = services.exchange_rate_create(actor=user, data=payload.model_dump())
    return Status(201, _rate_get(user, rate.pk))


@router.get(
    "/exchange-rates/{rate_id}", response={200: ExchangeRateOut, **ERRORS}, tags=["Forecasts"]
)
def exchange_rate_detail(request: HttpRequest, rate_id: int):
    return _rate_get(_actor(request), rate_id)


@router.patch(
    "/exchange-rates/{rate_id}",
    response={200: ExchangeRateOut, **WRITE_ERRORS},
    tags=["Forecasts"],
)
def exchange_rate_update(request: HttpRequest, rate_id: int, payload: ExchangeRatePatch):
    user = _actor(request)
    rate = _rate_get(user, rate_id)
    data = payload.model_dump(exclude_unset=True)
    _no_nulls(data)
    services.exchange_rate_update(actor=user, rate=rate, data=data)
    return _rate_get(user, rate_id)


@router.delete("/exchange-rates/{rate_id}", response={204: None, **ERRORS}, tags=["Forecasts"])
def exchange_rate_delete(request: HttpRequest, rate_id: int):
    user = _actor(request)
    services.exchange_rate_delete(actor=user, rate=_rate_get(user, rate_id))
    return Status(204, None)


def _stage_categories(user: User) -> Any:
    return StageForecastCategory.objects.restrict(user, "view").select_related("stage__pipeline")


def _stage_category_get(user: User, setting_id: int) -> StageForecastCategory:
    return _stage_categories(user).get(pk=setting_id)


@router.get(
    "/stage-forecast-categories",
    response={200: StageCategoryPage, **ERRORS},
    tags=["Forecasts"],
)
def stage_category_list(request: HttpRequest, params: Query[PageParams]):
    """The open stages whose deals go in a set forecast category instead of the one their
    probability implies (needs `forecast.view`)."""
    user = _actor(request)
    _require(user, "forecast.view")
    return _page(_stage_categories(user), ["id"], params)


@router.post(
    "/stage-forecast-categories",
    response={201: StageCategoryOut, **WRITE_ERRORS},
    tags=["Forecasts"],
)
@idempotent
def stage_category_create(request: HttpRequest, payload: StageCategoryIn):
    """Set an open stage's forecast category (needs `forecast.change`)."""
    user = _actor(request)
    stage = Stage.objects.filter(pk=payload.stage_id).first()
    if stage is None:
        raise ValidationError({"stage_id": [f"There is no stage with id {payload.stage_id}."]})
    category: CategoryName = payload.category
    try:
        setting = services.stage_forecast_category_create(
            actor=user, data={"stage": stage, "category": category}
        )
    except ValidationError as exc:
        raise _renamed(exc, {"stage": "stage_id"}) from None
    return Status(201, _stage_category_get(user, setting.pk))


@router.get(
    "/stage-forecast-categories/{setting_id}",
    response={200: StageCategoryOut, **ERRORS},
    tags=["Forecasts"],
)
def stage_category_detail(request: HttpRequest, setting_id: int):
    return _stage_category_get(_actor(request), setting_id)


@router.patch(
    "/stage-forecast-categories/{setting_id}",
    response={200: StageCategoryOut, **WRITE_ERRORS},
    tags=["Forecasts"],
)
def stage_category_update(request: HttpRequest, setting_id: int, payload: StageCategoryPatch):
    user = _actor(request)
    setting = _stage_category_get(user, setting_id)
    services.stage_forecast_category_update(
        actor=user, setting=setting, data={"category": payload.category}
    )
    return _stage_category_get(user, setting_id)


@router.delete(
    "/stage-forecast-categories/{setting_id}",
    response={204: None, **ERRORS},
    tags=["Forecasts"],
)
def stage_category_delete(request: HttpRequest, setting_id: int):
    """Back to the default category by the stage's probability."""
    user = _actor(request)
    services.stage_forecast_category_delete(
        actor=user, setting=_stage_category_get(user, setting_id)
    )
    return Status(204, None)
