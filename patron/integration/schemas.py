"""Request and response shapes of the integration API. Parsing and shaping only: every rule
about what may be written (known targets, draft-only changes, permissions) lives in
`services`."""

from __future__ import annotations

import datetime
from typing import Any, Literal

from ninja import Field, Schema

from patron.core.schemas import InputSchema, PageParams, UserRef

from . import selectors
from .models import ImportRun

SourceKind = Literal["file", "database", "api"]
SourceEntity = Literal["contact", "account"]
MatchBy = Literal["email", "none"]
FileFormat = Literal["csv", "xlsx", "json", "jsonl", "vcf"]
ImportStatus = Literal[
    "draft",
    "queued",
    "running",
    "cancelling",
    "cancelled",
    "completed",
    "failed",
    "reverted",
]
ImportKind = Literal["file", "database", "rerun", "api"]
REGION_PATTERN = r"^([A-Za-z]{2})?$"
MAX_COLUMNS = 1000
MAX_BULK_ITEMS = 1000

# --- sources -----------------------------------------------------------------------------------


class SourceRef(Schema):
    id: int
    name: str


class SourceOut(Schema):
    id: int
    version: int
    name: str
    kind: str
    entity: str
    description: str
    default_region: str
    trust_rank: int
    connection_env: str = Field(
        ..., description="Database sources: the environment variable holding the URL."
    )
    query: str
    high_water_column: str
    high_water_mark: str
    sync_every_minutes: int | None
    next_sync_at: datetime.datetime | None
    created_by: UserRef | None
    created_at: datetime.datetime


class SourceIn(InputSchema):
    name: str = Field(..., min_length=1, max_length=100)
    kind: SourceKind = "file"
    entity: SourceEntity = "contact"
    description: str = Field("", max_length=10_000)
    default_region: str = Field(
        "", pattern=REGION_PATTERN, description="Country for phone numbers without a code."
    )
    trust_rank: int = Field(50, ge=0, le=100)
    connection_env: str = Field("", max_length=100)
    query: str = Field("", max_length=100_000)
    high_water_column: str = Field("", max_length=100)
    sync_every_minutes: int | None = Field(None, ge=1, le=2_147_483_647)


class SourcePatch(InputSchema):
    """Change a source; `version` is the one you read (a stale one answers 409). Fields left
    out stay as they are."""

    version: int
    name: str = Field(None, min_length=1, max_length=100)  # type: ignore[assignment]
    kind: SourceKind = Field(None)  # type: ignore[assignment, arg-type]
    entity: SourceEntity = Field(None)  # type: ignore[assignment, arg-type]
    description: str = Field(None, max_length=10_000)  # type: ignore[assignment]
    default_region: str = Field(None, pattern=REGION_PATTERN)  # type: ignore[assignment]
    trust_rank: int = Field(None, ge=0, le=100)  # type: ignore[assignment]
    connection_env: str = Field(None, max_length=100)  # type: ignore[assignment]
    query: str = Field(None, max_length=100_000)  # type: ignore[assignment]
    high_water_column: str = Field(None, max_length=100)  # type: ignore[assignment]
    sync_every_minutes: int | None = Field(None, ge=1, le=2_147_483_647)


class TargetOut(Schema):
    key: str
    label: str
    kind: str = Field(..., description="text, name, date, number, email, phone, country, …")
    group: str
    max_length: int | None


class ChoiceOut(Schema):
    key: str
    label: str


class TargetsOut(Schema):
    targets: list[TargetOut]
    transforms: list[ChoiceOut]
    date_formats: list[ChoiceOut]


# --- mappings ----------------------------------------------------------------------------------


class ColumnOptionsIn(InputSchema):
    """Per column: `format` of a date (`%d.%m.%Y`, `auto`…), `region` of a phone number,
    `decimal_comma` for numbers, `value_map` from raw values to the values to import."""

    format: str = Field(None, max_length=30)  # type: ignore[assignment]
    region: str = Field(None, pattern=REGION_PATTERN)  # type: ignore[assignment]
    decimal_comma: bool = Field(None)  # type: ignore[assignment]
    value_map: dict[str, str] = Field(None)  # type: ignore[assignment, arg-type]


class ColumnIn(InputSchema):
    column: str = Field(..., min_length=1, max_length=255)
    target: str = Field("", max_length=100, description="A target key; empty keeps it raw.")
    transform: str = Field("", max_length=30)
    options: ColumnOptionsIn | None = None

    def as_spec(self) -> dict[str, Any]:
        return {
            "column": self.column,
            "target": self.target,
            "transform": self.transform,
            "options": self.options.model_dump(exclude_none=True) if self.options else {},
        }


class ColumnOut(Schema):
    column: str
    target: str = ""
    transform: str = ""
    options: dict[str, Any] = {}


# --- imports -----------------------------------------------------------------------------------


class FileOptionsIn(InputSchema):
    """How to read the file; fields left out stay as detected."""

    format: FileFormat = Field(None)  # type: ignore[assignment, arg-type]
    encoding: str = Field(None, min_length=1, max_length=40)  # type: ignore[assignment]
    delimiter: str = Field(None, min_length=1, max_length=1)  # type: ignore[assignment]
    quotechar: str = Field(None, min_length=1, max_length=1)  # type: ignore[assignment]
    has_header: bool = Field(None)  # type: ignore[assignment]
    sheet: str = Field(None, max_length=100)  # type: ignore[assignment]


class ImportPatch(InputSchema):
    """Change a draft import: how its file is read, its mapping, how new rows match."""

    options: FileOptionsIn = Field(None)  # type: ignore[assignment]
    columns: list[ColumnIn] = Field(None, max_length=MAX_COLUMNS)  # type: ignore[assignment, arg-type]
    match_by: MatchBy = Field(None)  # type: ignore[assignment, arg-type]


class RerunIn(InputSchema):
    columns: list[ColumnIn] | None = Field(
        None, max_length=MAX_COLUMNS, description="A corrected mapping; default: the run's."
    )


class CountsOut(Schema):
    created: int
    updated: int
    unchanged: int
    quarantined: int
    flagged: int


class ProgressOut(Schema):
    rows_done: int
    total_rows: int | None
    percent: float | None
    rate: float | None = Field(..., description="Rows per second in the current attempt.")
    eta_seconds: int | None


class ImportOut(Schema):
    id: int
    source: SourceRef
    kind: str
    status: str
    parent_id: int | None = Field(..., description="The run whose quarantined rows this re-runs.")
    mapping_id: int | None = Field(..., description="The saved mapping the run started from.")
    file_name: str
    file_size: int
    options: dict[str, Any]
    columns: list[ColumnOut]
    match_by: str
    counts: CountsOut
    problem_counts: dict[str, int]
    progress: ProgressOut
    error: str
    created_by: UserRef | None
    created_at: datetime.datetime
    started_at: datetime.datetime | None
    finished_at: datetime.datetime | None

    @staticmethod
    def resolve_counts(obj: ImportRun) -> dict[str, int]:
        return counts_of(obj)

    @staticmethod
    def resolve_progress(obj: ImportRun) -> selectors.ImportProgress:
        return selectors.import_progress(obj)


def counts_of(run: ImportRun) -> dict[str, int]:
    return {
        "created": run.created_count,
        "updated": run.updated_count,
        "unchanged": run.unchanged_count,
        "quarantined": run.quarantined_count,
        "flagged": run.flagged_count,
    }


class ImportPage(Schema):
    results: list[ImportOut]
    next_cursor: str | None
    previous_cursor: str | None


class ImportListParams(PageParams):
    source: int | None = Field(None, description="Runs of this source (an id).")
    status: ImportStatus | None = None
    kind: ImportKind | None = None


class ProblemOut(Schema):
    column: str = ""
    field: str = ""
    code: str = ""
    message: str = ""
    value: str = ""


class PreviewRowOut(Schema):
    line: int
    status: Literal["ok", "flagged", "quarantined"]
    raw: Any = Field(..., description="The record as read: columns → text.")
    source_key: str
    values: dict[str, Any] = Field(..., description="What would be imported, by target.")
    problems: list[ProblemOut]
    reason: str = Field(..., description="Why the row would be quarantined.")
    message: str


class PreviewOut(Schema):
    columns: list[str]
    rows: list[PreviewRowOut]


class RevertOut(Schema):
    deleted: int
    restored: int
    conflicts: list[str] = Field(..., description="Values changed since the import; kept.")
    run: ImportOut


class QuarantinedRowOut(Schema):
    id: int
    line: int
    reason: str
    message: str
    raw: Any
    resolved_by_id: int | None = Field(..., description="The re-run that imported the row.")


class QuarantinePage(Schema):
    results: list[QuarantinedRowOut]
    next_cursor: str | None
    previous_cursor: str | None


class QuarantineParams(PageParams):
    reason: str | None = Field(None, max_length=30)


# --- lineage -----------------------------------------------------------------------------------


class SourceRecordOut(Schema):
    id: int
    source: SourceRef
    source_key: str
    payload: dict[str, Any] = Field(..., description="The row as the source sent it.")
    normalised: dict[str, Any] = Field(..., description="What Patron made of it, by target.")
    problems: list[ProblemOut]
    line: int | None
    first_seen_at: datetime.datetime
    last_seen_at: datetime.datetime
    last_run_id: int | None
    contact_id: int | None
    account_id: int | None


class SourceRecordPage(Schema):
    results: list[SourceRecordOut]
    next_cursor: str | None
    previous_cursor: str | None


class SourceRecordParams(PageParams):
    source: int | None = Field(None, description="A source id.")
    source_key: str | None = Field(None, max_length=255)
    contact: int | None = Field(None, description="Rows that contributed to this contact.")
    account: int | None = Field(None, description="Rows that contributed to this account.")


# --- bulk upsert -------------------------------------------------------------------------------

ItemValue = str | int | float | bool | None


class BulkIn(InputSchema):
    items: list[dict[str, ItemValue]] = Field(
        ...,
        min_length=1,
        max_length=MAX_BULK_ITEMS,
        description="Rows keyed by target name (`source_key`, `contact.first_name`, `email`, "
        "`custom.tier`…), or by your own column names when `columns` maps them.",
    )
    columns: list[ColumnIn] | None = Field(None, max_length=MAX_COLUMNS)
    match_by: MatchBy = Field(
        "email", description="How a new key finds an existing customer: by email, or never."
    )


class BulkItemOut(Schema):
    index: int
    source_key: str
    status: Literal["created", "matched", "updated", "unchanged", "quarantined"]
    record_id: int | None
    problems: list[ProblemOut]
    reason: str
    message: str


class BulkOut(Schema):
    run_id: int
    results: list[BulkItemOut]
    counts: CountsOut
