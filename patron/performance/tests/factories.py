"""Helpers for performance tests: deals made through the sales services, then dated."""

from __future__ import annotations

import datetime
from decimal import Decimal
from typing import Any

from django.utils import timezone

from patron.sales import services as sales_services
from patron.sales.models import Opportunity, Stage, StageChange

TZ = datetime.UTC


def stage(name: str) -> Stage:
    return Stage.objects.get(pipeline__name="Sales", name=name)


def at(day: datetime.date) -> datetime.datetime:
    """Noon of `day` in the current time zone."""
    return datetime.datetime.combine(day, datetime.time(12), tzinfo=timezone.get_current_timezone())


def open_deal(
    owner: Any,
    account: Any,
    *,
    stage_name: str = "Proposal",
    amount: str = "1000.00",
    currency: str = "EUR",
    close: datetime.date | None = None,
    entered: datetime.date | None = None,
    name: str = "Deal",
    **extra: Any,
) -> Opportunity:
    """An open deal of `owner` in a stage, expected to close on `close`, in the stage since
    `entered`."""
    deal = sales_services.opportunity_create(
        actor=None,
        data={
            "name": name,
            "account": account,
            "owner": owner,
            "stage": stage(stage_name),
            "amount": Decimal(amount),
            "currency": currency,
            "expected_close_date": close,
            **extra,
        },
    )
    if entered is not None:
        Opportunity.objects.filter(pk=deal.pk).update(stage_entered_at=at(entered))
        StageChange.objects.filter(opportunity=deal).update(changed_at=at(entered))
        deal.refresh_from_db()
    return deal


def closed_deal(
    owner: Any,
    account: Any,
    *,
    won: bool,
    closed: datetime.date,
    through: str | None = "Proposal",
    entered: datetime.date | None = None,
    amount: str = "1000.00",
    currency: str = "EUR",
    name: str = "Closed deal",
) -> Opportunity:
    """A deal that went through the open stage `through` (entered on `entered`) and was won
    or lost on `closed`; with `through=None` it was created straight in Won."""
    if through is None:
        deal = sales_services.opportunity_create(
            actor=None,
            data={
                "name": name,
                "account": account,
                "owner": owner,
                "stage": stage("Won"),
                "amount": Decimal(amount),
                "currency": currency,
            },
        )
    else:
        deal = open_deal(
            owner, account, stage_name=through, amount=amount, currency=currency, name=name
        )
        sales_services.opportunity_move(
            actor=None,
            opportunity=deal,
            expected_version=None,
            stage=stage("Won" if won else "Lost"),
            reason="" if won else "Price",
        )
        StageChange.objects.filter(opportunity=deal, to_stage=stage(through)).update(
            changed_at=at(entered or closed)
        )
        StageChange.objects.filter(opportunity=deal).exclude(to_stage=stage(through)).update(
            changed_at=at(closed)
        )
    Opportunity.objects.filter(pk=deal.pk).update(closed_at=at(closed))
    deal.refresh_from_db()
    return deal
