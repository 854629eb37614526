"""Every write to forecasts, quotas and commissions. Views, the API and jobs call these.

Each service checks the actor's permission (an `actor` of None is the system), validates with
`full_clean()`, writes and records the audit event in one transaction.
"""

from __future__ import annotations

import datetime
from collections.abc import Mapping
from typing import Any

from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction
from django.utils import timezone

from patron.core import audit
from patron.core.permissions import require, require_record
from patron.core.versioning import save_versioned
from patron.sales.models import Opportunity, Stage
from patron.utils.fields import only_known

from .models import Category, CommissionAssignment, ForecastCategory, Quota, StageConversion

QUOTA_FIELDS = ["owner", "team", "period_kind", "period_start", "amount", "currency"]
QUOTA_UPDATE_FIELDS = ["amount", "currency"]
ASSIGNMENT_FIELDS = ["plan", "owner", "period_kind", "period_start"]


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
    if taken.exists():
        raise ValidationError(
            {"period_start": ["There is already a quota for this holder and period."]}
        )
    try:
        with transaction.atomic():
            quota.save()
    except IntegrityError:
        raise ValidationError(
            {"period_start": ["There is already a quota for this holder and period."]}
        ) from None
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


@transaction.atomic
def commission_assignment_create(*, actor: Any, data: Mapping[str, Any]) -> CommissionAssignment:
    """Put a rep on a commission plan for a period."""
    require(actor, "commission.add")
    data = only_known(data, ASSIGNMENT_FIELDS)
    assignment = CommissionAssignment(**data)
    if actor is not None and not actor.sees_all_records:
        owner_team = getattr(assignment.owner, "team_id", None)
        if actor.team_id is None or owner_team != actor.team_id:
            raise ValidationError({"owner": ["You may assign plans to your own team only."]})
    assignment.full_clean()
    assignment.save()
    audit.record_create(actor=actor, obj=assignment, fields=ASSIGNMENT_FIELDS)
    return assignment


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
