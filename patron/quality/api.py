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
