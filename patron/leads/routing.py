"""Which owner a new lead gets: the active assignment rules in priority order, the first that
matches decides. A rule assigns its owner, or rotates through its team's active members
(round robin), the rotation's pointer locked with SELECT … FOR UPDATE so that two leads
arriving together go to two different people.

Called by the lead services inside their transaction; no permission checks here."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from patron.core.models import User

from .models import AssignmentRule, Lead


@dataclass
class Assignment:
    rule: AssignmentRule
    owner: Any
    team: Any
    reason: str


def _split(text: str) -> set[str]:
    return {part.strip().casefold() for part in text.split(",") if part.strip()}


def matches(rule: AssignmentRule, lead: Lead) -> bool:
    if rule.kind == AssignmentRule.Kind.TERRITORY:
        countries, regions = _split(rule.countries), _split(rule.regions)
        if not countries and not regions:
            return False
        if countries and lead.country.casefold() not in countries:
            return False
        return not regions or lead.region.strip().casefold() in regions
    if rule.kind == AssignmentRule.Kind.SIZE:
        if lead.employees is None:
            return False
        if rule.min_employees is not None and lead.employees < rule.min_employees:
            return False
        return rule.max_employees is None or lead.employees <= rule.max_employees
    # Round robin and fallback take every lead that reaches them.
    return True


def describe(rule: AssignmentRule) -> str:
    """The condition of a rule in words, for its list and the lead's "assigned by"."""
    if rule.kind == AssignmentRule.Kind.TERRITORY:
        parts = []
        if rule.countries:
            parts.append(f"country in {rule.countries}")
        if rule.regions:
            parts.append(f"region in {rule.regions}")
        return " and ".join(parts) or "no territory set"
    if rule.kind == AssignmentRule.Kind.SIZE:
        low = rule.min_employees if rule.min_employees is not None else 0
        high = f"{rule.max_employees}" if rule.max_employees is not None else "more"
        return f"{low} to {high} employees"
    if rule.kind == AssignmentRule.Kind.ROUND_ROBIN:
        return "every lead"
    return "leads no other rule took"


def _next_member(rule: AssignmentRule) -> User | None:
    """The team member after the last one assigned (by id, wrapping round); the rule row is
    locked for the rest of the transaction so the rotation never hands out a turn twice."""
    locked = AssignmentRule.objects.select_for_update().get(pk=rule.pk)
    members = list(User.objects.filter(team=locked.team, is_active=True).order_by("id").only("id"))
    if not members:
        return None
    following = [m for m in members if locked.last_assigned_id and m.pk > locked.last_assigned_id]
    chosen = following[0] if following else members[0]
    AssignmentRule.objects.filter(pk=rule.pk).update(last_assigned=chosen)
    rule.last_assigned = chosen
    return User.objects.get(pk=chosen.pk)


def assign(lead: Lead) -> Assignment | None:
    """The first active rule, in priority order, that matches the lead and has someone to
    give it to; None when no rule does."""
    for rule in AssignmentRule.objects.filter(is_active=True).order_by("priority", "id"):
        if not matches(rule, lead):
            continue
        if rule.owner_id is not None and rule.kind != AssignmentRule.Kind.ROUND_ROBIN:
            owner = rule.owner
            how = f"owner {owner.display_name}" if owner else ""
        elif rule.team_id is not None:
            owner = _next_member(rule)
            how = "next in turn in team " + (rule.team.name if rule.team else "")
        else:
            continue
        if owner is None:
            continue
        team = rule.team if rule.team_id is not None else owner.team
        reason = f"Assigned by rule “{rule.name}” ({describe(rule)}; {how})"
        return Assignment(rule=rule, owner=owner, team=team, reason=reason[:300])
    return None
