"""Every write to forecasts, quotas and commissions. Views, the API and jobs call these.

Each service checks the actor's permission (an `actor` of None is the system), validates with
`full_clean()`, writes and records the audit event in one transaction.
"""

from __future__ import annotations

import datetime
from collections.abc import Mapping, Sequence
from typing import Any

from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils import timezone

from patron.core import audit
from patron.core.permissions import require, require_record
from patron.core.unique import save_unique
from patron.core.versioning import save_versioned
from patron.sales.models import Opportunity, Stage
from patron.utils.fields import only_known

from .models import (
    Category,
    CommissionAssignment,
    CommissionPlan,
    CommissionTier,
    ExchangeRate,
    ForecastCategory,
    Quota,
    StageConversion,
    StageForecastCategory,
)

QUOTA_FIELDS = ["owner", "team", "period_kind", "period_start", "amount", "currency"]
QUOTA_UPDATE_FIELDS = ["amount", "currency"]
ASSIGNMENT_FIELDS = ["plan", "owner", "period_kind", "period_start"]
PLAN_FIELDS = ["name", "method", "basis", "description"]
TIER_FIELDS = ["from_attainment", "rate"]
EXCHANGE_RATE_FIELDS = ["currency", "rate", "valid_from"]
STAGE_CATEGORY_FIELDS = ["stage", "category"]
MAX_TIERS = 50


def _check_holder(actor: Any, quota: Quota) -> None:
    """A manager sets quotas for their own team and its members; an administrator for all."""
    if actor is None or actor.sees_all_records:
        return
    team_id = getattr(actor, "team_id", None)
    holder_team = quota.team_id if quota.team_id else getattr(quota.owner, "team_id", None)
    if team_id is None or holder_team != team_id:
        field = "team" if quota.team_id else "owner"
        raise ValidationError({field: ["You may set quotas for your own team only."]})


@transaction.atomic
def quota_create(*, actor: Any, data: Mapping[str, Any]) -> Quota:
    """Set a rep's (owner) or a team's quota for a period."""
    require(actor, "quota.add")
    data = only_known(data, QUOTA_FIELDS)
    quota = Quota(**data)
    if quota.currency:
        quota.currency = quota.currency.strip().upper()
    if quota.owner_id and quota.team_id:
        raise ValidationError({"team": ["A quota is for a rep or for a team, not both."]})
    if not quota.owner_id and not quota.team_id:
        raise ValidationError({"owner": ["Choose a rep or a team."]})
    _check_holder(actor, quota)
    quota.full_clean(validate_constraints=False)
    holder = {"owner": quota.owner} if quota.owner_id else {"team": quota.team}
    taken = Quota.objects.filter(
        **holder, period_kind=quota.period_kind, period_start=quota.period_start
    )
    message = {"period_start": ["There is already a quota for this holder and period."]}
    save_unique(quota, taken=taken, error=message)
    audit.record_create(actor=actor, obj=quota, fields=[*QUOTA_FIELDS, "period_end"])
    return quota


@transaction.atomic
def quota_update(
    *, actor: Any, quota: Quota, expected_version: int | None, data: Mapping[str, Any]
) -> Quota:
    """Change a quota's amount or currency (the holder and period stay)."""
    require_record(actor, quota, "change")
    data = only_known(data, QUOTA_UPDATE_FIELDS)
    before = audit.snapshot(quota, QUOTA_FIELDS)
    for name, value in data.items():
        if name == "currency" and isinstance(value, str):
            value = value.strip().upper()
        setattr(quota, name, value)
    quota.full_clean()
    save_versioned(quota, expected_version=expected_version, fields=list(data))
    changes = audit.diff(before, audit.snapshot(quota, QUOTA_FIELDS))
    if changes:
        audit.record(actor=actor, action="update", obj=quota, changes=changes)
    return quota


@transaction.atomic
def quota_delete(*, actor: Any, quota: Quota) -> None:
    require_record(actor, quota, "delete")
    audit.record_delete(actor=actor, obj=quota, fields=QUOTA_FIELDS)
    quota.delete()


@transaction.atomic
def forecast_category_set(
    *, actor: Any, opportunity: Opportunity, category: str | None
) -> ForecastCategory | None:
    """Put an opportunity in a forecast category (None: back to its stage's). Whoever may
    change the opportunity and read forecasts may do it, as in Salesforce."""
    require(actor, "forecast.view")
    require_record(actor, opportunity, "change")
    if opportunity.closed_at is not None:
        raise ValidationError(
            {"category": ["A closed opportunity's category follows its stage (won or lost)."]}
        )
    if category is not None and category not in Category.values:
        raise ValidationError({"category": [f"Choose one of {', '.join(Category.values)}."]})
    current = ForecastCategory.objects.filter(opportunity=opportunity).first()
    before = current.category if current else None
    if category == before:
        return current
    if category is None:
        assert current is not None
        current.delete()
        result = None
    else:
        result = current or ForecastCategory(opportunity=opportunity)
        result.category = category
        result.set_by = actor if getattr(actor, "pk", None) else None
        result.set_at = timezone.now()
        result.full_clean()
        result.save()
    audit.record(
        actor=actor,
        action="update",
        obj=opportunity,
        changes={"forecast_category": [before, category]},
    )
    return result


def _check_assignee(actor: Any, assignment: CommissionAssignment) -> None:
    """A manager assigns plans to their own team's reps; an administrator to anyone."""
    if actor is None or actor.sees_all_records:
        return
    owner_team = getattr(assignment.owner, "team_id", None) if assignment.owner_id else None
    if actor.team_id is None or owner_team != actor.team_id:
        raise ValidationError({"owner": ["You may assign plans to your own team only."]})


def _assignment_taken(assignment: CommissionAssignment) -> ValidationError:
    return ValidationError(
        {"period_start": ["This rep already has a commission plan for this period."]}
    )


def _save_assignment(assignment: CommissionAssignment) -> None:
    assignment.full_clean(validate_constraints=False)
    taken = CommissionAssignment.objects.filter(
        owner_id=assignment.owner_id,
        period_kind=assignment.period_kind,
        period_start=assignment.period_start,
    )
    save_unique(assignment, taken=taken, error=_assignment_taken(assignment))


@transaction.atomic
def commission_assignment_create(*, actor: Any, data: Mapping[str, Any]) -> CommissionAssignment:
    """Put a rep on a commission plan for a period."""
    require(actor, "commission.add")
    data = only_known(data, ASSIGNMENT_FIELDS)
    assignment = CommissionAssignment(**data)
    _check_assignee(actor, assignment)
    _save_assignment(assignment)
    audit.record_create(actor=actor, obj=assignment, fields=ASSIGNMENT_FIELDS)
    return assignment


@transaction.atomic
def commission_assignment_update(
    *, actor: Any, assignment: CommissionAssignment, data: Mapping[str, Any]
) -> CommissionAssignment:
    """Change the plan or the period of a rep's assignment (the rep stays)."""
    require(actor, "commission.change")
    require_record(actor, assignment, "change")
    data = only_known(data, ["plan", "period_kind", "period_start"])
    before = audit.snapshot(assignment, ASSIGNMENT_FIELDS)
    for name, value in data.items():
        setattr(assignment, name, value)
    _check_assignee(actor, assignment)
    _save_assignment(assignment)
    changes = audit.diff(before, audit.snapshot(assignment, ASSIGNMENT_FIELDS))
    if changes:
        audit.record(actor=actor, action="update", obj=assignment, changes=changes)
    return assignment


@transaction.atomic
def commission_assignment_delete(*, actor: Any, assignment: CommissionAssignment) -> None:
    require(actor, "commission.delete")
    require_record(actor, assignment, "delete")
    _check_assignee(actor, assignment)
    audit.record_delete(actor=actor, obj=assignment, fields=ASSIGNMENT_FIELDS)
    assignment.delete()


# --- commission plans ---------------------------------------------------------------------


def _tiers_snapshot(tiers: list[CommissionTier]) -> list[list[str]]:
    return [[str(t.from_attainment), str(t.rate)] for t in tiers]


def _build_tiers(plan: CommissionPlan, rows: Sequence[Mapping[str, Any]]) -> list[CommissionTier]:
    """Validated tiers: at least one, the first from 0 %, starts strictly ascending, rates
    0–100 %. Errors name the tier (`tiers.1.rate`)."""
    if not rows:
        raise ValidationError({"tiers": ["A plan needs at least one tier, starting at 0 %."]})
    if len(rows) > MAX_TIERS:
        raise ValidationError({"tiers": [f"A plan has at most {MAX_TIERS} tiers."]})
    errors: dict[str, list[str]] = {}
    tiers = []
    for index, row in enumerate(rows):
        unknown = sorted(set(row) - set(TIER_FIELDS))
        for name in unknown:
            errors[f"tiers.{index}.{name}"] = ["Unknown field."]
        tier = CommissionTier(plan=plan, **{k: v for k, v in row.items() if k in TIER_FIELDS})
        try:
            tier.full_clean(exclude=["plan"], validate_unique=False, validate_constraints=False)
        except ValidationError as exc:
            for name, messages in exc.message_dict.items():
                errors[f"tiers.{index}.{name}"] = messages
        tiers.append(tier)
    if errors:
        raise ValidationError(errors)
    if tiers[0].from_attainment != 0:
        raise ValidationError({"tiers.0.from_attainment": ["The first tier starts at 0 %."]})
    for index in range(1, len(tiers)):
        if tiers[index].from_attainment <= tiers[index - 1].from_attainment:
            errors[f"tiers.{index}.from_attainment"] = [
                "Tiers go up: each starts above the one before "
                f"({tiers[index - 1].from_attainment} %)."
            ]
    if errors:
        raise ValidationError(errors)
    return tiers


def commission_tiers_check(rows: Sequence[Mapping[str, Any]]) -> None:
    """Raise what `commission_plan_create` would say about these tiers (for forms that show
    the errors before saving)."""
    _build_tiers(CommissionPlan(), list(rows))


def _plan_name_taken() -> ValidationError:
    return ValidationError({"name": ["There is already a commission plan with this name."]})


def _save_plan(plan: CommissionPlan) -> None:
    if isinstance(plan.name, str):
        plan.name = plan.name.strip()
    plan.full_clean(validate_unique=False)
    save_unique(plan, taken=CommissionPlan.objects.filter(name=plan.name), error=_plan_name_taken())


@transaction.atomic
def commission_plan_create(
    *, actor: Any, data: Mapping[str, Any], tiers: Sequence[Mapping[str, Any]]
) -> CommissionPlan:
    """A commission plan with its tiers (attainment bands)."""
    require(actor, "commission.add")
    data = only_known(data, PLAN_FIELDS)
    plan = CommissionPlan(**data)
    built = _build_tiers(plan, list(tiers))
    _save_plan(plan)
    for tier in built:
        tier.plan = plan
    CommissionTier.objects.bulk_create(built)
    changes = {
        k: [None, v] for k, v in audit.snapshot(plan, PLAN_FIELDS).items() if v not in (None, "")
    }
    changes["tiers"] = [None, _tiers_snapshot(built)]
    audit.record(actor=actor, action="create", obj=plan, changes=changes)
    return plan


@transaction.atomic
def commission_plan_update(
    *,
    actor: Any,
    plan: CommissionPlan,
    data: Mapping[str, Any],
    tiers: Sequence[Mapping[str, Any]] | None = None,
) -> CommissionPlan:
    """Change a plan's fields; `tiers`, when given, replace all of its tiers."""
    require(actor, "commission.change")
    data = only_known(data, PLAN_FIELDS)
    before = audit.snapshot(plan, PLAN_FIELDS)
    old_tiers = list(CommissionTier.objects.filter(plan=plan).order_by("from_attainment"))
    for name, value in data.items():
        setattr(plan, name, value)
    built = _build_tiers(plan, list(tiers)) if tiers is not None else None
    _save_plan(plan)
    changes = audit.diff(before, audit.snapshot(plan, PLAN_FIELDS))
    if built is not None:
        CommissionTier.objects.filter(plan=plan).delete()
        CommissionTier.objects.bulk_create(built)
        old, new = _tiers_snapshot(old_tiers), _tiers_snapshot(built)
        if old != new:
            changes["tiers"] = [old, new]
    if changes:
        audit.record(actor=actor, action="update", obj=plan, changes=changes)
    return plan


@transaction.atomic
def commission_plan_delete(*, actor: Any, plan: CommissionPlan) -> None:
    """Delete a plan and its tiers; refused while reps are assigned to it."""
    require(actor, "commission.delete")
    assigned = CommissionAssignment.objects.filter(plan=plan).count()
    if assigned:
        raise ValidationError(
            {
                "plan": [
                    f"{assigned} assignment(s) use this plan; move or delete them first "
                    "(their statements depend on it)."
                ]
            }
        )
    changes = {
        k: [v, None] for k, v in audit.snapshot(plan, PLAN_FIELDS).items() if v not in (None, "")
    }
    tiers = list(CommissionTier.objects.filter(plan=plan).order_by("from_attainment"))
    changes["tiers"] = [_tiers_snapshot(tiers), None]
    audit.record(actor=actor, action="delete", obj=plan, changes=changes)
    plan.delete()


# --- exchange rates -----------------------------------------------------------------------


def _save_rate(rate: ExchangeRate) -> None:
    from .selectors import default_currency

    if isinstance(rate.currency, str):
        rate.currency = rate.currency.strip().upper()
    if rate.currency == default_currency():
        raise ValidationError(
            {"currency": [f"{rate.currency} is the organisation's currency; it needs no rate."]}
        )
    rate.full_clean(validate_unique=False, validate_constraints=False)
    taken = ExchangeRate.objects.filter(currency=rate.currency, valid_from=rate.valid_from)
    message = {"valid_from": [f"There is already a {rate.currency} rate from this date."]}
    save_unique(rate, taken=taken, error=message)


@transaction.atomic
def exchange_rate_create(*, actor: Any, data: Mapping[str, Any]) -> ExchangeRate:
    """What one unit of a currency is worth in the organisation's currency, from a date on."""
    require(actor, "forecast.change")
    rate = ExchangeRate(**only_known(data, EXCHANGE_RATE_FIELDS))
    _save_rate(rate)
    audit.record_create(actor=actor, obj=rate, fields=EXCHANGE_RATE_FIELDS)
    return rate


@transaction.atomic
def exchange_rate_update(
    *, actor: Any, rate: ExchangeRate, data: Mapping[str, Any]
) -> ExchangeRate:
    require(actor, "forecast.change")
    data = only_known(data, EXCHANGE_RATE_FIELDS)
    before = audit.snapshot(rate, EXCHANGE_RATE_FIELDS)
    for name, value in data.items():
        setattr(rate, name, value)
    _save_rate(rate)
    changes = audit.diff(before, audit.snapshot(rate, EXCHANGE_RATE_FIELDS))
    if changes:
        audit.record(actor=actor, action="update", obj=rate, changes=changes)
    return rate


@transaction.atomic
def exchange_rate_delete(*, actor: Any, rate: ExchangeRate) -> None:
    require(actor, "forecast.change")
    audit.record_delete(actor=actor, obj=rate, fields=EXCHANGE_RATE_FIELDS)
    rate.delete()


# --- stage forecast categories ------------------------------------------------------------


def _save_stage_category(setting: StageForecastCategory) -> None:
    stage = setting.stage if setting.stage_id else None
    if stage is not None and stage.kind != Stage.Kind.OPEN:
        raise ValidationError(
            {"stage": ["Only an open stage has a forecast category (won and lost are fixed)."]}
        )
    setting.full_clean(validate_unique=False, validate_constraints=False)
    message = {"stage": ["This stage already has a forecast category; change that one."]}
    taken = StageForecastCategory.objects.filter(stage_id=setting.stage_id)
    save_unique(setting, taken=taken, error=message)


@transaction.atomic
def stage_forecast_category_create(*, actor: Any, data: Mapping[str, Any]) -> StageForecastCategory:
    """Put an open stage's deals in a forecast category, instead of the one their
    probability implies."""
    require(actor, "forecast.change")
    setting = StageForecastCategory(**only_known(data, STAGE_CATEGORY_FIELDS))
    _save_stage_category(setting)
    audit.record_create(actor=actor, obj=setting, fields=STAGE_CATEGORY_FIELDS)
    return setting


@transaction.atomic
def stage_forecast_category_update(
    *, actor: Any, setting: StageForecastCategory, data: Mapping[str, Any]
) -> StageForecastCategory:
    require(actor, "forecast.change")
    data = only_known(data, ["category"])
    before = audit.snapshot(setting, STAGE_CATEGORY_FIELDS)
    for name, value in data.items():
        setattr(setting, name, value)
    _save_stage_category(setting)
    changes = audit.diff(before, audit.snapshot(setting, STAGE_CATEGORY_FIELDS))
    if changes:
        audit.record(actor=actor, action="update", obj=setting, changes=changes)
    return setting


@transaction.atomic
def stage_forecast_category_delete(*, actor: Any, setting: StageForecastCategory) -> None:
    """Back to the default category by the stage's probability."""
    require(actor, "forecast.change")
    audit.record_delete(actor=actor, obj=setting, fields=STAGE_CATEGORY_FIELDS)
    setting.delete()


@transaction.atomic
def stage_conversions_refresh(*, today: datetime.date | None = None) -> list[StageConversion]:
    """Recompute the stage-conversion rollup from the stage history of the opportunities
    closed in the last `HISTORY_YEARS` years (a system job: no actor, no audit)."""
    from . import forecasting, selectors

    today = today or timezone.localdate()
    since = today - datetime.timedelta(days=365 * selectors.HISTORY_YEARS)
    histories = forecasting.stage_histories(selectors.stage_visits(since=since))
    now = timezone.now()
    # A row for every open stage, with or without history: an empty rollup is fresh too.
    rows = []
    for stage_id in Stage.objects.filter(kind=Stage.Kind.OPEN).values_list("id", flat=True):
        history = histories.get(stage_id) or forecasting.StageHistory(stage_id=stage_id)
        rows.append(
            StageConversion(
                stage_id=stage_id,
                closed_deals=history.deals,
                won_deals=history.won,
                cycle_days=history.cycle_days,
                refreshed_at=now,
            )
        )
    StageConversion.objects.all().delete()
    StageConversion.objects.bulk_create(rows)
    return rows
