"""Every write to sales data. The board, the forms, the API and jobs all call these functions.

Each service checks the actor's permission on the record (an `actor` of None is the system
itself), validates with `full_clean()`, writes, records the audit event and the timeline entry
on the account (and primary contact), all in one transaction.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils import timezone

from patron.core import audit
from patron.core.exceptions import ConflictError
from patron.core.permissions import may, require, require_record
from patron.core.versioning import save_versioned
from patron.customers import services as customer_services
from patron.utils.fields import only_known

from .models import Opportunity, Pipeline, Stage, StageChange

OPPORTUNITY_FIELDS = [
    "name",
    "account",
    "primary_contact",
    "pipeline",
    "stage",
    "amount",
    "currency",
    "expected_close_date",
    "owner",
    "team",
    "next_step",
    "next_step_date",
    "close_reason",
    "closed_at",
]
# A create sets everything but `closed_at` (a move to a won or lost stage sets it); an update
# does not change the pipeline or the stage either: only `opportunity_move` does.
CREATE_FIELDS = [f for f in OPPORTUNITY_FIELDS if f != "closed_at"]
UPDATE_FIELDS = [f for f in CREATE_FIELDS if f not in ("pipeline", "stage")]


def _check_references(actor: Any, opportunity: Opportunity, data: Mapping[str, Any]) -> None:
    """The account and primary contact must be records the actor may see."""
    errors: dict[str, list[str]] = {}
    if actor is not None:
        account = opportunity.account if "account" in data else None
        if account is not None and not may(actor, account, "view"):
            errors["account"] = ["There is no such account."]
        contact = data.get("primary_contact")
        if contact is not None and not may(actor, contact, "view"):
            errors["primary_contact"] = ["There is no such contact."]
    if errors:
        raise ValidationError(errors)


def default_pipeline() -> Pipeline:
    """The default pipeline, else the first one."""
    pipeline = Pipeline.objects.filter(is_default=True).first() or Pipeline.objects.first()
    if pipeline is None:
        raise ValidationError({"pipeline": ["No sales pipeline is configured."]})
    return pipeline


def _enter_stage(opportunity: Opportunity, stage: Stage, reason: str | None) -> None:
    """Set the stage and what follows from it: closed_at on won/lost, a reason for lost."""
    now = timezone.now()
    if reason is not None:
        opportunity.close_reason = reason.strip()
    if stage.kind == Stage.Kind.LOST and not opportunity.close_reason:
        raise ValidationError({"reason": ["Say why the opportunity was lost."]})
    if stage.is_closed:
        if opportunity.closed_at is None or opportunity.stage.kind != stage.kind:
            opportunity.closed_at = now
    else:
        opportunity.closed_at = None
        opportunity.close_reason = ""
    opportunity.stage = stage
    opportunity.pipeline_id = stage.pipeline_id
    opportunity.stage_entered_at = now


def _timeline(*, actor: Any, opportunity: Opportunity, event: str, from_stage: str = "") -> None:
    """The fact on the account's (and primary contact's) timeline. Written as the system:
    the opportunity's own permission was checked, and the entry is Patron's record of it."""
    subjects = {
        "created": f"Opportunity created: {opportunity.name}",
        "stage_changed": f"{opportunity.name}: {from_stage} → {opportunity.stage.name}",
        "won": f"Opportunity won: {opportunity.name}",
        "lost": f"Opportunity lost: {opportunity.name}",
    }
    body = opportunity.close_reason if event in ("won", "lost") else ""
    customer_services.timeline_entry_create(
        actor=None,
        kind="opportunity",
        account=opportunity.account,
        contact=opportunity.primary_contact,
        subject=subjects[event][:300],
        body=body,
        data={
            "opportunity_id": opportunity.pk,
            "event": event,
            "from_stage": from_stage,
            "to_stage": opportunity.stage.name,
            "by": str(getattr(actor, "display_name", "") or "")[:200],
        },
        related=opportunity,
        user_facing=False,
    )


def _stage_event(stage: Stage) -> str:
    return {"won": "won", "lost": "lost"}.get(stage.kind, "stage_changed")


@transaction.atomic
def opportunity_create(*, actor: Any, data: Mapping[str, Any]) -> Opportunity:
    """Create an opportunity; pipeline defaults to the default one, stage to its first."""
    require(actor, "opportunity.add")
    data = only_known(data, CREATE_FIELDS)
    values = {k: v for k, v in data.items() if k not in ("stage", "close_reason")}
    opportunity = Opportunity(**values)
    stage = data.get("stage")
    if opportunity.pipeline_id is None:
        opportunity.pipeline = stage.pipeline if stage is not None else default_pipeline()
    if stage is None:
        stage = opportunity.pipeline.stages.order_by("order", "id").first()
        if stage is None:
            raise ValidationError({"stage": ["This pipeline has no stages."]})
    elif stage.pipeline_id != opportunity.pipeline_id:
        raise ValidationError({"stage": ["This stage belongs to another pipeline."]})
    if "owner" not in data and actor is not None and getattr(actor, "pk", None):
        opportunity.owner = actor
    if "team" not in data and opportunity.owner is not None:
        opportunity.team_id = opportunity.owner.team_id
    if opportunity.currency:
        opportunity.currency = opportunity.currency.strip().upper()
    _check_references(actor, opportunity, data)
    opportunity.stage = stage
    opportunity.closed_at = None
    _enter_stage(opportunity, stage, data.get("close_reason", ""))
    opportunity.full_clean()
    opportunity.save()
    StageChange.objects.create(
        opportunity=opportunity,
        from_stage=None,
        to_stage=stage,
        changed_by=actor if getattr(actor, "pk", None) else None,
        changed_at=opportunity.stage_entered_at,
    )
    audit.record_create(actor=actor, obj=opportunity, fields=OPPORTUNITY_FIELDS)
    _timeline(actor=actor, opportunity=opportunity, event="created")
    if stage.is_closed:
        _timeline(actor=actor, opportunity=opportunity, event=_stage_event(stage))
    return opportunity


@transaction.atomic
def opportunity_update(
    *,
    actor: Any,
    opportunity: Opportunity,
    expected_version: int | None,
    data: Mapping[str, Any],
) -> Opportunity:
    """Change an opportunity's details (not its stage: see `opportunity_move`)."""
    require_record(actor, opportunity, "change")
    data = only_known(data, UPDATE_FIELDS)
    before = audit.snapshot(opportunity, OPPORTUNITY_FIELDS)
    for name, value in data.items():
        if name == "currency" and isinstance(value, str):
            value = value.strip().upper()
        setattr(opportunity, name, value)
    if "close_reason" in data and not opportunity.stage.is_closed:
        opportunity.close_reason = ""
    if opportunity.stage.kind == Stage.Kind.LOST and not opportunity.close_reason:
        raise ValidationError({"close_reason": ["A lost opportunity keeps its reason."]})
    _check_references(actor, opportunity, data)
    opportunity.full_clean()
    save_versioned(opportunity, expected_version=expected_version, fields=list(data))
    changes = audit.diff(before, audit.snapshot(opportunity, OPPORTUNITY_FIELDS))
    if changes:
        audit.record(actor=actor, action="update", obj=opportunity, changes=changes)
    return opportunity


@transaction.atomic
def opportunity_move(
    *,
    actor: Any,
    opportunity: Opportunity,
    expected_version: int | None,
    stage: Stage,
    reason: str | None = None,
) -> Opportunity:
    """Move an opportunity to `stage` (of any pipeline): records the stage change; a won or
    lost stage closes it (lost needs a `reason`), an open stage reopens it."""
    require_record(actor, opportunity, "change")
    if expected_version is not None and expected_version != opportunity.version:
        raise ConflictError(current_version=opportunity.version)
    previous = opportunity.stage
    if stage.pk == previous.pk and reason is None:
        return opportunity
    before = audit.snapshot(opportunity, OPPORTUNITY_FIELDS)
    stage_changed = stage.pk != previous.pk
    entered_at = opportunity.stage_entered_at
    _enter_stage(opportunity, stage, reason)
    if not stage_changed:
        opportunity.stage_entered_at = entered_at  # only the reason changed
    opportunity.full_clean()
    save_versioned(
        opportunity,
        expected_version=expected_version,
        fields=["stage", "pipeline", "closed_at", "close_reason", "stage_entered_at"],
    )
    if stage_changed:
        StageChange.objects.create(
            opportunity=opportunity,
            from_stage=previous,
            to_stage=stage,
            changed_by=actor if getattr(actor, "pk", None) else None,
            changed_at=opportunity.stage_entered_at,
        )
    changes = audit.diff(before, audit.snapshot(opportunity, OPPORTUNITY_FIELDS))
    if changes:
        audit.record(actor=actor, action="update", obj=opportunity, changes=changes)
    if stage_changed:
        event = _stage_event(stage)
        _timeline(actor=actor, opportunity=opportunity, event=event, from_stage=previous.name)
    return opportunity


@transaction.atomic
def opportunity_delete(*, actor: Any, opportunity: Opportunity) -> None:
    require_record(actor, opportunity, "delete")
    audit.record_delete(actor=actor, obj=opportunity, fields=OPPORTUNITY_FIELDS)
    opportunity.delete()
