"""Helpers for sales tests: opportunities made through the service, the default stages."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from patron.sales import services
from patron.sales.models import Opportunity, Pipeline, Stage


def pipeline() -> Pipeline:
    return Pipeline.objects.get(name="Sales")


def stage(name: str) -> Stage:
    return Stage.objects.get(pipeline__name="Sales", name=name)


def make_opportunity(actor: Any, account: Any, **extra: Any) -> Opportunity:
    data = {"name": "Fleet renewal", "account": account, "amount": Decimal("1000.00"), **extra}
    return services.opportunity_create(actor=actor, data=data)
