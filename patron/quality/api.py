"""Data-quality endpoints: likely duplicates of a record, merge, undo."""

from __future__ import annotations

import datetime
from typing import Annotated, Literal

from django.http import HttpRequest
from ninja import Field, Path, Query, Router, Schema, Status

from patron.core.models import User
from patron.core.schemas import ERRORS, WRITE_ERRORS, InputSchema
from patron.customers.models import Account, Contact

from . import merge
from .duplicates import candidates, likely_duplicates
from .models import Merge

router = Router(tags=["quality"])

MODELS: dict[str, type[Contact] | type[Account]] = {"contact": Contact, "account": Account}


class DuplicateOut(Schema):
    id: int
    name: str
    reasons: list[str]


# A record id: what the databases' 64-bit keys can hold.
RecordId = Annotated[int, Field(ge=1, le=2**63 - 1)]


class MergeIn(InputSchema):
    object_type: Literal["contact", "account"]
    survivor: RecordId = Field(description="The record that stays.")
    others: list[RecordId] = Field(
        min_length=1, max_length=20, description="Records merged into it."
    )
    choices: dict[str, RecordId] = Field(
        default_factory=dict,
        description="Field (or custom.<name>) → id of the record whose value survives.",
    )


class MergeOut(Schema):
    id: int
    object_type: str
    survivor: int
    merged: list[int]
    merged_names: list[str]
    choices: dict[str, int]
    created_at: datetime.datetime
    undone_at: datetime.datetime | None


def _out(done: Merge) -> MergeOut:
    return MergeOut(
        id=done.pk,
        object_type=done.object_type,
        survivor=done.survivor_id,
        merged=done.merged_ids,
        merged_names=done.merged_names,
        choices=done.field_choices,
        created_at=done.created_at,
        undone_at=done.undone_at,
    )


def _actor(request: HttpRequest) -> User:
    return request.auth  # type: ignore[attr-defined,return-value]


def _visible_merge(request: HttpRequest, merge_id: int) -> Merge:
    done = Merge.objects.get(pk=merge_id)
    MODELS[done.object_type].objects.restrict(_actor(request), "view").get(pk=done.survivor_id)
    return done


def _duplicates(request: HttpRequest, object_type: str, record_id: int) -> list[DuplicateOut]:
    record = MODELS[object_type].objects.restrict(_actor(request), "view").get(pk=record_id)
    return [
        DuplicateOut(id=c["record"].pk, name=str(c["record"]), reasons=c["reasons"])
        for c in likely_duplicates(user=_actor(request), record=record)
    ]


@router.get(
    "/contacts/{contact_id}/duplicates",
    response={200: list[DuplicateOut], **ERRORS},
    summary="Likely duplicates of a contact",
)
def contact_duplicates(request: HttpRequest, contact_id: Annotated[int, Path(ge=1, le=2**63 - 1)]):
    return _duplicates(request, "contact", contact_id)


@router.get(
    "/accounts/{account_id}/duplicates",
    response={200: list[DuplicateOut], **ERRORS},
    summary="Likely duplicates of an account",
)
def account_duplicates(request: HttpRequest, account_id: Annotated[int, Path(ge=1, le=2**63 - 1)]):
    return _duplicates(request, "account", account_id)


@router.post("/merges", response={201: MergeOut, **WRITE_ERRORS}, summary="Merge records")
def merge_create(request: HttpRequest, payload: MergeIn):
    done = merge.record_merge(
        actor=_actor(request),
        object_type=payload.object_type,
        survivor_id=payload.survivor,
        other_ids=payload.others,
        choices=payload.choices,
    )
    return Status(201, _out(done))


@router.get("/merges/{merge_id}", response={200: MergeOut, **ERRORS}, summary="A merge")
def merge_detail(request: HttpRequest, merge_id: Annotated[int, Path(ge=1, le=2**63 - 1)]):
    return _out(_visible_merge(request, merge_id))


@router.post(
    "/merges/{merge_id}/undo", response={200: MergeOut, **WRITE_ERRORS}, summary="Undo a merge"
)
def merge_undo(request: HttpRequest, merge_id: Annotated[int, Path(ge=1, le=2**63 - 1)]):
    done = _visible_merge(request, merge_id)
    merge.merge_undo(actor=_actor(request), merge=done)
    done.refresh_from_db()
    return _out(done)


@router.get(
    "/duplicate-check/contacts",
    response={200: list[DuplicateOut], **ERRORS},
    summary="Contacts that look like the one about to be created",
)
def contact_duplicate_check(
    request: HttpRequest,
    first_name: str = "",
    last_name: str = "",
    email: list[str] = Query([]),  # noqa: B008
    phone: list[str] = Query([]),  # noqa: B008
):
    return _check(request, "contact", request.GET)


@router.get(
    "/duplicate-check/accounts",
    response={200: list[DuplicateOut], **ERRORS},
    summary="Accounts that look like the one about to be created",
)
def account_duplicate_check(
    request: HttpRequest,
    name: str = "",
    domain: str = "",
    email: list[str] = Query([]),  # noqa: B008
    phone: list[str] = Query([]),  # noqa: B008
):
    return _check(request, "account", request.GET)


def _check(request: HttpRequest, object_type: str, params) -> list[DuplicateOut]:
    from .merge_views import values_from_query

    found = candidates(
        user=_actor(request), model=MODELS[object_type], **values_from_query(params, object_type)
    )
    return [
        DuplicateOut(id=c["record"].pk, name=str(c["record"]), reasons=c["reasons"]) for c in found
    ]


# --- entity resolution: runs, the review queue, lineage -----------------------------------


class ResolutionRunIn(InputSchema):
    object_type: Literal["contact", "account"] = Field(
        default="contact", description="People (contacts) or organisations (accounts)."
    )
    full: bool = Field(
        default=False,
        description="Re-estimate the model from all the data and score every pair; otherwise "
        "only records that arrived since the last run are matched.",
    )


class ResolutionRunOut(Schema):
    id: int
    object_type: str
    mode: str
    status: str
    phase: str
    progress: int
    records: int
    new_records: int
    pairs_scored: int
    merges: int
    review_pairs: int
    timings: dict[str, float]
    error: str
    created_at: datetime.datetime
    finished_at: datetime.datetime | None


def _run_out(run) -> ResolutionRunOut:
    return ResolutionRunOut(
        id=run.pk,
        object_type=run.object_type,
        mode=run.mode,
        status=run.status,
        phase=run.phase,
        progress=run.progress,
        records=run.records,
        new_records=run.new_records,
        pairs_scored=run.pairs_scored,
        merges=run.merges,
        review_pairs=run.review_pairs,
        timings=run.timings or {},
        error=run.error,
        created_at=run.created_at,
        finished_at=run.finished_at,
    )


@router.post(
    "/resolution-runs",
    response={202: ResolutionRunOut, **WRITE_ERRORS},
    summary="Start entity resolution over the contacts' source records",
)
def resolution_run_create(request: HttpRequest, payload: ResolutionRunIn):
    from .matching import resolution_start

    run = resolution_start(
        actor=_actor(request), object_type=payload.object_type, full=payload.full
    )
    return Status(202, _run_out(run))


@router.get(
    "/resolution-runs/{run_id}",
    response={200: ResolutionRunOut, **ERRORS},
    summary="A resolution run and its progress",
)
def resolution_run_detail(request: HttpRequest, run_id: Annotated[int, Path(ge=1, le=2**63 - 1)]):
    from patron.core.permissions import can

    from .models import ResolutionRun

    run = ResolutionRun.objects.get(pk=run_id)
    if not can(_actor(request), f"{run.object_type}.delete"):
        raise ResolutionRun.DoesNotExist
    return _run_out(run)


class ContributionOut(Schema):
    field: str
    label: str
    weight: float


class ReviewPairOut(Schema):
    id: int
    object_type: str
    status: str
    probability: float
    match_weight: float
    customers: list[int | None]
    source_records: list[int | None]
    explanation: list[ContributionOut]
    created_at: datetime.datetime
    decided_at: datetime.datetime | None
    merge: int | None


def _review_out(item) -> ReviewPairOut:
    from .review import current_customers

    return ReviewPairOut(
        id=item.pk,
        object_type=item.object_type,
        status=item.status,
        probability=item.probability,
        match_weight=item.match_weight,
        customers=list(current_customers(item)),
        source_records=[item.record_a_id, item.record_b_id],
        explanation=[
            ContributionOut(field=e["field"], label=e.get("label", ""), weight=e["weight"])
            for e in item.explanation
        ],
        created_at=item.created_at,
        decided_at=item.decided_at,
        merge=item.merge_id,
    )


@router.get(
    "/review-pairs",
    response={200: list[ReviewPairOut], **ERRORS},
    summary="Pairs of contacts waiting for a person's decision, most likely first",
)
def review_pair_list(
    request: HttpRequest,
    object_type: Literal["contact", "account"] = "contact",
    limit: Annotated[int, Query(ge=1, le=200)] = 50,
    offset: Annotated[int, Query(ge=0, le=1_000_000)] = 0,
):
    from .review import review_queue

    items, _ = review_queue(
        actor=_actor(request), object_type=object_type, limit=limit, offset=offset
    )
    return [_review_out(i) for i in items]


def _visible_review(request: HttpRequest, review_id: int):
    from patron.core.permissions import can

    from .models import MatchReview
    from .review import current_customers

    item = MatchReview.objects.select_related("record_a", "record_b").get(pk=review_id)
    if not can(_actor(request), f"{item.object_type}.delete"):
        raise MatchReview.DoesNotExist
    ids = [c for c in current_customers(item) if c is not None]
    visible = MODELS[item.object_type].objects.restrict(_actor(request), "view")
    if visible.filter(pk__in=ids).count() != len(set(ids)):
        raise MatchReview.DoesNotExist
    return item


@router.get("/review-pairs/{review_id}", response={200: ReviewPairOut, **ERRORS}, summary="A pair")
def review_pair_detail(request: HttpRequest, review_id: Annotated[int, Path(ge=1, le=2**63 - 1)]):
    return _review_out(_visible_review(request, review_id))


@router.post(
    "/review-pairs/{review_id}/accept",
    response={200: ReviewPairOut, **WRITE_ERRORS},
    summary="Same customer: merge the pair",
)
def review_pair_accept(request: HttpRequest, review_id: Annotated[int, Path(ge=1, le=2**63 - 1)]):
    from .review import review_accept

    item = _visible_review(request, review_id)
    review_accept(actor=_actor(request), review=item)
    item.refresh_from_db()
    return _review_out(item)


@router.post(
    "/review-pairs/{review_id}/reject",
    response={200: ReviewPairOut, **WRITE_ERRORS},
    summary="Different customers: never merge the pair",
)
def review_pair_reject(request: HttpRequest, review_id: Annotated[int, Path(ge=1, le=2**63 - 1)]):
    from .review import review_reject

    item = _visible_review(request, review_id)
    review_reject(actor=_actor(request), review=item)
    item.refresh_from_db()
    return _review_out(item)


class SourceOut(Schema):
    source_record: int
    source: str
    source_key: str
    last_seen_at: datetime.datetime


class CandidateOut(Schema):
    value: str
    source_records: list[int]


class LineageOut(Schema):
    field: str
    value: str | None
    rule: str
    sources: list[SourceOut]
    candidates: list[CandidateOut]
    edited_by: int | None
    edited_at: datetime.datetime | None


@router.get(
    "/contacts/{contact_id}/lineage",
    response={200: list[LineageOut], **ERRORS},
    summary="Where each value of a contact comes from",
)
def contact_lineage(request: HttpRequest, contact_id: Annotated[int, Path(ge=1, le=2**63 - 1)]):
    from patron.integration.models import SourceRecord

    from .survivorship import lineage_of

    contact = Contact.objects.restrict(_actor(request), "view").get(pk=contact_id)
    rows = lineage_of("contact", contact.pk)
    sources = {
        sr.pk: sr
        for sr in SourceRecord.objects.restrict(_actor(request), "view")
        .filter(pk__in={i for r in rows for i in r.source_record_ids})
        .select_related("source")
    }
    return [
        LineageOut(
            field=r.field,
            value=None if r.value is None else str(r.value),
            rule=r.rule,
            sources=[
                SourceOut(
                    source_record=sources[i].pk,
                    source=sources[i].source.name,
                    source_key=sources[i].source_key,
                    last_seen_at=sources[i].last_seen_at,
                )
                for i in r.source_record_ids
                if i in sources
            ],
            candidates=[
                CandidateOut(value=str(c["value"]), source_records=c["source_record_ids"])
                for c in r.candidates
            ],
            edited_by=r.edited_by_id,
            edited_at=r.edited_at,
        )
        for r in rows
    ]
