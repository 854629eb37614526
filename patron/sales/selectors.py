"""Every read of sales data, through the permission chokepoint (`restrict`)."""

from __future__ import annotations

import datetime
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

from django.db.models import Count, QuerySet, Sum
from django.utils import timezone

from patron.customers.models import Account, Contact

from .models import Opportunity, Pipeline, Stage, StageChange

BOARD_CARDS_PER_STAGE = 50


def opportunity_visible(*, user: Any, action: str = "view") -> QuerySet[Opportunity]:
    return Opportunity.objects.restrict(user, action)


def opportunity_get(*, user: Any, pk: int, action: str = "view") -> Opportunity:
    """One opportunity the user may act on, with what its pages show; DoesNotExist otherwise."""
    return (
        opportunity_visible(user=user, action=action)
        .select_related("account", "primary_contact", "pipeline", "stage", "owner", "team")
        .get(pk=pk)
    )


def opportunities_for_list(queryset: QuerySet[Opportunity]) -> QuerySet[Opportunity]:
    """What a list row shows, in a fixed number of queries."""
    return queryset.select_related(
        "account", "primary_contact", "pipeline", "stage", "owner", "team"
    )


def opportunity_list(
    *,
    user: Any,
    owner: Any = None,
    stage: Stage | None = None,
    close_after: datetime.date | None = None,
    close_before: datetime.date | None = None,
) -> QuerySet[Opportunity]:
    """Visible opportunities filtered by owner, stage and an expected-close-date range."""
    queryset = opportunity_visible(user=user)
    if owner is not None:
        queryset = queryset.filter(owner=owner)
    if stage is not None:
        queryset = queryset.filter(stage=stage)
    if close_after is not None:
        queryset = queryset.filter(expected_close_date__gte=close_after)
    if close_before is not None:
        queryset = queryset.filter(expected_close_date__lte=close_before)
    return opportunities_for_list(queryset)


def opportunities_for_account(*, user: Any, account: Account) -> QuerySet[Opportunity]:
    return opportunities_for_list(opportunity_visible(user=user).filter(account=account)).order_by(
        "closed_at", "expected_close_date", "id"
    )


def opportunities_for_contact(*, user: Any, contact: Contact) -> QuerySet[Opportunity]:
    return opportunities_for_list(
        opportunity_visible(user=user).filter(primary_contact=contact)
    ).order_by("closed_at", "expected_close_date", "id")


def pipelines_visible(*, user: Any) -> QuerySet[Pipeline]:
    return Pipeline.objects.restrict(user, "view")


def pipeline_for_board(*, user: Any, pk: int | None = None) -> Pipeline:
    """The pipeline asked for, else the default one, else the first; DoesNotExist if none."""
    pipelines = pipelines_visible(user=user)
    if pk is not None:
        return pipelines.get(pk=pk)
    found = pipelines.filter(is_default=True).first() or pipelines.first()
    if found is None:
        raise Pipeline.DoesNotExist("No pipeline is visible.")
    return found


def stage_visible(*, user: Any) -> QuerySet[Stage]:
    return Stage.objects.restrict(user, "view").select_related("pipeline")


@dataclass
class Column:
    """One stage of the board: its cards (at most BOARD_CARDS_PER_STAGE) and its totals."""

    stage: Stage
    cards: list[Opportunity] = field(default_factory=list)
    count: int = 0
    totals: dict[str, Decimal] = field(default_factory=dict)  # currency -> sum of amounts

    @property
    def hidden(self) -> int:
        return self.count - len(self.cards)

    @property
    def total_list(self) -> list[tuple[str, Decimal]]:
        return sorted(self.totals.items())


def board(*, user: Any, pipeline: Pipeline, owner: Any = None) -> list[Column]:
    """The board of `pipeline` as the user may see it: the stages, the totals per stage and
    currency, and each stage's first cards — two queries and one per stage, whatever the
    number of deals. Each stage's cards are read by their own LIMITed query in the order of
    the (stage, -updated_at, -id) index, so a stage of 20,000 deals costs its first 50 rows,
    not a ranking of every visible deal."""
    stages = list(pipeline.stages.order_by("order", "id"))
    columns = {s.pk: Column(stage=s) for s in stages}
    queryset = opportunity_visible(user=user).filter(pipeline=pipeline)
    if owner is not None:
        queryset = queryset.filter(owner=owner)
    totals = (
        queryset.order_by()
        .values("stage_id", "currency")
        .annotate(n=Count("id"), total=Sum("amount"))
    )
    for row in totals:
        column = columns.get(row["stage_id"])
        if column is None:
            continue
        column.count += row["n"]
        column.totals[row["currency"]] = Decimal(row["total"] or 0)
    cards = opportunities_for_list(queryset).order_by("-updated_at", "-id")
    for column in columns.values():
        if column.count:
            column.cards = list(cards.filter(stage=column.stage)[:BOARD_CARDS_PER_STAGE])
    return [columns[s.pk] for s in stages]


@dataclass
class StageSpell:
    """A stay in one stage: from when, until when (None: still there), for how long."""

    change: StageChange
    left_at: datetime.datetime | None
    duration: datetime.timedelta


def stage_history(*, opportunity: Opportunity) -> list[StageSpell]:
    """The opportunity's stages in order, with the time spent in each (the caller has already
    read the opportunity through `restrict`)."""
    changes = list(
        opportunity.stage_changes.select_related("from_stage", "to_stage", "changed_by").order_by(
            "changed_at", "id"
        )
    )
    now = timezone.now()
    spells = []
    for i, change in enumerate(changes):
        left_at = changes[i + 1].changed_at if i + 1 < len(changes) else None
        duration = (left_at or now) - change.changed_at
        spells.append(StageSpell(change=change, left_at=left_at, duration=duration))
    return spells


def time_in_stage(*, opportunity: Opportunity) -> dict[int, datetime.timedelta]:
    """Total time spent in each stage (by stage id), counting every return to it."""
    result: dict[int, datetime.timedelta] = {}
    for spell in stage_history(opportunity=opportunity):
        key = spell.change.to_stage_id
        result[key] = result.get(key, datetime.timedelta()) + spell.duration
    return result
