"""Helpers for lead tests: leads and rules made through the services."""

from __future__ import annotations

from typing import Any

from patron.leads import services
from patron.leads.models import Lead, ScoringRule


def make_lead(actor: Any = None, **data: Any) -> Lead:
    values = {"first_name": "Ada", "last_name": "Lovelace", "email": "ada@example.com", **data}
    return services.lead_create(actor=actor, data=values)


def make_rule(**data: Any) -> ScoringRule:
    values = {"kind": "fit", "field": "job_title", "operator": "contains", "value": "x", **data}
    values.setdefault("points", 10)
    return services.scoring_rule_create(actor=None, data=values)
