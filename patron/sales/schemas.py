"""Sales API schemas: they parse and shape only; writes go through `services`."""

from __future__ import annotations

import datetime
import decimal

from ninja import Field, Schema

from patron.core.schemas import InputSchema, TeamRef, UserRef

# The largest id a database integer column holds: a larger one cannot name a record.
MAX_ID = 2**63 - 1
Id = Field(..., ge=1, le=MAX_ID)
Money = Field(..., ge=0, max_digits=14, decimal_places=2)
Currency = Field(..., pattern=r"^[A-Za-z]{3}$", description="ISO 4217 code, e.g. EUR.")


class StageOut(Schema):
    id: int
    name: str
    order: int
    probability: int
    kind: str


class PipelineOut(Schema):
    id: int
    name: str
    is_default: bool
    ordering: int
    stages: list[StageOut]


class RecordRef(Schema):
    id: int
    name: str


class ContactRef(Schema):
    id: int
    name: str = Field(..., alias="full_name")


class StageRef(Schema):
    id: int
    name: str
    kind: str
    probability: int


class OpportunityOut(Schema):
    id: int
    version: int
    name: str
    account: RecordRef
    primary_contact: ContactRef | None
    pipeline: RecordRef
    stage: StageRef
    amount: decimal.Decimal = Field(..., description="Exact, as a string with two decimals.")
    currency: str
    expected_close_date: datetime.date | None
    owner: UserRef | None
    team: TeamRef | None
    next_step: str
    next_step_date: datetime.date | None
    close_reason: str
    closed_at: datetime.datetime | None
    stage_entered_at: datetime.datetime
    created_at: datetime.datetime
    updated_at: datetime.datetime


class OpportunityPage(Schema):
    results: list[OpportunityOut]
    next_cursor: str | None
    previous_cursor: str | None


class OpportunityIn(InputSchema):
    name: str = Field(..., min_length=1, max_length=200)
    account_id: int = Id
    primary_contact_id: int | None = Field(None, ge=1, le=MAX_ID)
    pipeline_id: int | None = Field(
        None, ge=1, le=MAX_ID, description="Left out, the default pipeline."
    )
    stage_id: int | None = Field(
        None, ge=1, le=MAX_ID, description="Left out, the pipeline's first stage."
    )
    amount: decimal.Decimal = Field(decimal.Decimal("0"), ge=0, max_digits=14, decimal_places=2)
    currency: str | None = Field(
        None, pattern=r"^[A-Za-z]{3}$", description="ISO 4217; the organisation's by default."
    )
    expected_close_date: datetime.date | None = None
    owner_id: int | None = Field(
        None, ge=1, le=MAX_ID, description="A user id; left out, the owner is you."
    )
    team_id: int | None = Field(None, ge=1, le=MAX_ID, description="Left out, the owner's team.")
    next_step: str = Field("", max_length=300)
    next_step_date: datetime.date | None = None
    close_reason: str = Field("", max_length=300)


class OpportunityPatch(InputSchema):
    version: int = Field(..., ge=1, le=2_147_483_647)
    name: str = Field(None, min_length=1, max_length=200)  # type: ignore[assignment]
    account_id: int = Field(None, ge=1, le=MAX_ID)  # type: ignore[assignment]
    primary_contact_id: int | None = Field(None, ge=1, le=MAX_ID)
    amount: decimal.Decimal = Field(None, ge=0, max_digits=14, decimal_places=2)  # type: ignore[assignment]
    currency: str = Field(None, pattern=r"^[A-Za-z]{3}$")  # type: ignore[assignment]
    expected_close_date: datetime.date | None = None
    owner_id: int | None = Field(None, ge=1, le=MAX_ID)
    team_id: int | None = Field(None, ge=1, le=MAX_ID)
    next_step: str = Field(None, max_length=300)  # type: ignore[assignment]
    next_step_date: datetime.date | None = None
    close_reason: str = Field(None, max_length=300)  # type: ignore[assignment]


class MoveIn(InputSchema):
    version: int = Field(..., ge=1, le=2_147_483_647, description="The version you read.")
    stage_id: int = Id
    reason: str | None = Field(
        None, max_length=300, description="Why it was won or lost (required for a lost stage)."
    )


class StageChangeOut(Schema):
    from_stage: StageRef | None
    to_stage: StageRef
    changed_by: UserRef | None
    changed_at: datetime.datetime
    seconds_in_stage: int
