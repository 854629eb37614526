"""Integration API: sources, file imports (upload, preview, mapping, start, cancel, resume,
revert, re-run of quarantined rows, the error file), lineage (source records) and the bulk
upsert that programs use instead of files.

Each endpoint parses input, reads through `selectors` (a source the caller may not see, and
everything under it, answers 404) and writes through `services`. Every POST honours an
`Idempotency-Key` header (`patron.core.idempotency`).

No `from __future__ import annotations` in this module: ninja reads the annotations of the
`@idempotent` operations through their wrapper, at definition time.
"""

import contextlib
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from django.core.exceptions import PermissionDenied, ValidationError
from django.db.models import QuerySet
from django.http import HttpRequest, StreamingHttpResponse
from ninja import File, Query, Router, Status, UploadedFile

from patron.core.exceptions import PermissionDeniedError
from patron.core.idempotency import idempotent
from patron.core.models import User
from patron.core.schemas import ERRORS, WRITE_ERRORS
from patron.customers.selectors import account_visible, contact_visible
from patron.utils.cursor import Page, paginate
from patron.utils.export import csv_response

from . import fields as fieldmod
from . import selectors, services
from .models import ImportRun
from .pipeline import Prepared
from .schemas import (
    BulkIn,
    BulkOut,
    ImportListParams,
    ImportOut,
    ImportPage,
    ImportPatch,
    PreviewOut,
    QuarantinePage,
    QuarantineParams,
    RerunIn,
    RevertOut,
    SourceIn,
    SourceOut,
    SourcePatch,
    SourceRecordPage,
    SourceRecordParams,
    TargetsOut,
    counts_of,
)

router = Router()

PREVIEW_MAX_ROWS = 100


def _actor(request: HttpRequest) -> User:
    return request.auth  # type: ignore[attr-defined,return-value]


@contextlib.contextmanager
def _service_errors() -> Iterator[None]:
    """The integration services refuse with Django's PermissionDenied; the API answers it as
    every other refusal of a role (403 in the one error format)."""
    try:
        yield
    except PermissionDenied as exc:
        raise PermissionDeniedError(str(exc) or "You may not do this.") from None


@contextlib.contextmanager
def _file_errors(field: str = "options") -> Iterator[None]:
    """`selectors.file_errors` for the API: a 400 on `field`, refusals as 403."""
    with _service_errors(), selectors.file_errors(field):
        yield


def _refuse_unknown(request: HttpRequest, known: set[str]) -> None:
    unknown = sorted(set(request.GET) - known - {"cursor", "limit"})
    if unknown:
        raise ValidationError({name: ["Unknown parameter."] for name in unknown})


def _page(queryset: QuerySet, ordering: list[str], cursor: str | None, limit: int) -> Page:
    """One page; a cursor that does not fit the ordering is reported on `cursor`."""
    try:
        return paginate(queryset, ordering=ordering, cursor=cursor, limit=limit)
    except (ValueError, TypeError) as exc:
        if not cursor:
            raise
        raise ValidationError(
            {"cursor": ["This cursor is not valid; start from the first page."]}
        ) from exc


def _page_body(page: Page) -> dict[str, Any]:
    return {
        "results": page.items,
        "next_cursor": page.next_cursor,
        "previous_cursor": page.previous_cursor,
    }


def _run(request: HttpRequest, import_id: int) -> ImportRun:
    return selectors.import_run_get(user=_actor(request), pk=import_id)


# --- sources -----------------------------------------------------------------------------------


@router.get("/sources", response={200: list[SourceOut], **ERRORS}, tags=["Sources"])
def source_list(request: HttpRequest):
    """The sources your role lets you see, by name."""
    return list(selectors.sources_visible(user=_actor(request)).order_by("name", "id"))


@router.post("/sources", response={201: SourceOut, **ERRORS}, tags=["Sources"])
@idempotent
def source_create(request: HttpRequest, payload: SourceIn):
    """Add a source of customer data (needs `source.add`)."""
    with _service_errors():
        source = services.source_create(actor=_actor(request), data=payload.model_dump())
    return Status(201, source)


@router.get("/sources/{source_id}", response={200: SourceOut, **ERRORS}, tags=["Sources"])
def source_detail(request: HttpRequest, source_id: int):
    return selectors.source_get(user=_actor(request), pk=source_id)


@router.patch("/sources/{source_id}", response={200: SourceOut, **WRITE_ERRORS}, tags=["Sources"])
def source_update(request: HttpRequest, source_id: int, payload: SourcePatch):
    """Change a source; send the `version` you read (a stale one answers 409)."""
    user = _actor(request)
    source = selectors.source_get(user=user, pk=source_id)
    data = payload.model_dump(exclude_unset=True, exclude={"version"})
    with _service_errors():
        services.source_update(
            actor=user, source=source, data=data, expected_version=payload.version
        )
    return selectors.source_get(user=user, pk=source_id)


@router.delete("/sources/{source_id}", response={204: None, **ERRORS}, tags=["Sources"])
def source_delete(request: HttpRequest, source_id: int):
    """Delete a source that has not sent any record yet (revert its imports first)."""
    user = _actor(request)
    source = selectors.source_get(user=user, pk=source_id)
    with _service_errors():
        services.source_delete(actor=user, source=source)
    return Status(204, None)


@router.get("/sources/{source_id}/targets", response={200: TargetsOut, **ERRORS}, tags=["Sources"])
def source_targets(request: HttpRequest, source_id: int):
    """What a column of this source can map to (custom fields included), the transforms a
    column can go through, and the date formats a date column can be read with."""
    source = selectors.source_get(user=_actor(request), pk=source_id)
    return {
        "targets": selectors.source_targets(source=source),
        "transforms": [{"key": k, "label": v} for k, v in fieldmod.TRANSFORMS.items()],
        "date_formats": [{"key": k, "label": v} for k, v in fieldmod.DATE_FORMATS.items()],
    }


# --- imports -----------------------------------------------------------------------------------


@router.get("/imports", response={200: ImportPage, **ERRORS}, tags=["Imports"])
def import_list(request: HttpRequest, params: Query[ImportListParams]):
    """Imports of the sources you may see, newest first; filter by source, status, kind."""
    _refuse_unknown(request, {"source", "status", "kind"})
    runs = selectors.import_runs_visible(user=_actor(request))
    if params.source is not None:
        runs = runs.filter(source_id=params.source)
    if params.status:
        runs = runs.filter(status=params.status)
    if params.kind:
        runs = runs.filter(kind=params.kind)
    return _page_body(_page(runs, ["-created_at", "-id"], params.cursor, params.limit))


@router.post("/sources/{source_id}/imports", response={201: ImportOut, **ERRORS}, tags=["Imports"])
@idempotent
def import_upload(request: HttpRequest, source_id: int, file: File[UploadedFile]):
    """Upload a file (CSV, Excel, JSON, JSON Lines, vCard) as multipart form data, field
    `file`. Answers a draft import with the detected reading options and the source's saved
    mapping (or a suggested one); check it with `/preview`, change it with PATCH, then
    `/start`."""
    user = _actor(request)
    source = selectors.source_get(user=user, pk=source_id)
    if not file.size:
        raise ValidationError({"file": ["The file is empty."]})
    with _file_errors("file"):
        run = services.import_start(
            actor=user, source=source, upload=file, file_name=file.name or "upload"
        )
    return Status(201, _run(request, run.pk))


@router.get("/imports/{import_id}", response={200: ImportOut, **ERRORS}, tags=["Imports"])
def import_detail(request: HttpRequest, import_id: int):
    """Status, counts, problems by code and progress (rate and time left while it runs)."""
    return _run(request, import_id)


@router.patch("/imports/{import_id}", response={200: ImportOut, **ERRORS}, tags=["Imports"])
def import_update(request: HttpRequest, import_id: int, payload: ImportPatch):
    """Change how a draft import reads its file (`options`), its mapping (`columns`, the
    whole list) or `match_by`. Changing the format or sheet suggests a new mapping."""
    user = _actor(request)
    run = _run(request, import_id)
    with _file_errors():
        services.import_configure(
            actor=user,
            run=run,
            options=payload.options.model_dump(exclude_none=True) if payload.options else None,
            columns=[c.as_spec() for c in payload.columns] if payload.columns is not None else None,
            match_by=payload.match_by,
        )
    return _run(request, import_id)


@router.get("/imports/{import_id}/preview", response={200: PreviewOut, **ERRORS}, tags=["Imports"])
def import_preview(request: HttpRequest, import_id: int, rows: int = 10):
    """The first `rows` records (1-100) as read and as they would be imported with the
    current mapping: flagged values and the reason a row would be quarantined."""
    _refuse_unknown(request, {"rows"})
    if not 1 <= rows <= PREVIEW_MAX_ROWS:
        raise ValidationError({"rows": [f"Choose 1 to {PREVIEW_MAX_ROWS} rows."]})
    run = _run(request, import_id)
    if run.kind != ImportRun.Kind.FILE or not run.file_path:
        raise ValidationError("Only an import of a file has a preview.")
    if not Path(run.file_path).is_file():
        raise ValidationError("The file of this import is no longer kept.")
    with _file_errors():
        preview = services.import_preview(run, rows=rows)
    items: list[dict[str, Any]] = [
        {
            "line": bad.line,
            "status": "quarantined",
            "raw": bad.raw,
            "source_key": "",
            "values": {},
            "problems": [],
            "reason": bad.reason,
            "message": bad.message,
        }
        for bad in preview.bad
    ]
    for (line, row), item in zip(preview.rows, preview.normalised, strict=True):
        if isinstance(item, Prepared):
            items.append(
                {
                    "line": line,
                    "status": "flagged" if item.problems else "ok",
                    "raw": row,
                    "source_key": item.key,
                    "values": item.values,
                    "problems": item.problems,
                    "reason": "",
                    "message": "",
                }
            )
        else:
            items.append(
                {
                    "line": line,
                    "status": "quarantined",
                    "raw": row,
                    "source_key": "",
                    "values": {},
                    "problems": [],
                    "reason": item.reason,
                    "message": item.message,
                }
            )
    items.sort(key=lambda i: i["line"])
    return {"columns": preview.columns, "rows": items}


@router.post("/imports/{import_id}/start", response={202: ImportOut, **ERRORS}, tags=["Imports"])
@idempotent
def import_start(request: HttpRequest, import_id: int):
    """Queue a draft import; its mapping is saved as the source's mapping for next time.
    Follow it with GET /imports/{id}."""
    run = _run(request, import_id)
    with _service_errors():
        services.import_enqueue(actor=_actor(request), run=run)
    return Status(202, _run(request, import_id))


@router.post("/imports/{import_id}/cancel", response={200: ImportOut, **ERRORS}, tags=["Imports"])
@idempotent
def import_cancel(request: HttpRequest, import_id: int):
    """Cancel a draft or queued import, or stop a running one after its current batch (what
    it already imported stays; revert it to undo)."""
    run = _run(request, import_id)
    with _service_errors():
        services.import_cancel(actor=_actor(request), run=run)
    return _run(request, import_id)


@router.post("/imports/{import_id}/resume", response={202: ImportOut, **ERRORS}, tags=["Imports"])
@idempotent
def import_resume(request: HttpRequest, import_id: int):
    """Continue a failed import, or one whose process stopped, from its last checkpoint."""
    run = _run(request, import_id)
    with _service_errors():
        services.import_resume(actor=_actor(request), run=run)
    return Status(202, _run(request, import_id))


@router.post("/imports/{import_id}/revert", response={200: RevertOut, **ERRORS}, tags=["Imports"])
@idempotent
def import_revert(request: HttpRequest, import_id: int):
    """Undo what a finished import created or changed. A value someone changed since is
    kept and listed in `conflicts`."""
    run = _run(request, import_id)
    with _service_errors():
        report = services.import_revert(actor=_actor(request), run=run)
    return {
        "deleted": report.deleted,
        "restored": report.restored,
        "conflicts": report.conflicts or [],
        "run": _run(request, import_id),
    }


@router.post("/imports/{import_id}/rerun", response={201: ImportOut, **ERRORS}, tags=["Imports"])
@idempotent
def import_rerun(request: HttpRequest, import_id: int, payload: RerunIn):
    """A new draft import of the rows this import quarantined, with a corrected mapping if
    given; `/start` it like any other."""
    run = _run(request, import_id)
    columns = [c.as_spec() for c in payload.columns] if payload.columns is not None else None
    with _service_errors():
        rerun = services.import_rerun_quarantined(actor=_actor(request), run=run, columns=columns)
    return Status(201, _run(request, rerun.pk))


@router.get(
    "/imports/{import_id}/quarantine", response={200: QuarantinePage, **ERRORS}, tags=["Imports"]
)
def import_quarantine(request: HttpRequest, import_id: int, params: Query[QuarantineParams]):
    """The rows the import could not use, by line: reason, message and the row as read."""
    _refuse_unknown(request, {"reason"})
    rows = selectors.quarantined_rows(run=_run(request, import_id))
    if params.reason:
        rows = rows.filter(reason=params.reason)
    return _page_body(_page(rows, ["line", "id"], params.cursor, params.limit))


@router.get(
    "/imports/{import_id}/errors.csv",
    response={200: None, **ERRORS},
    tags=["Imports"],
    openapi_extra={
        "responses": {"200": {"description": "CSV", "content": {"text/csv": {}}}},
    },
)
def import_errors_csv(request: HttpRequest, import_id: int) -> StreamingHttpResponse:
    """The error file: one row per quarantined row and per flagged value, by line, with
    `line`, `reason`, `message`, `column` and then the row's columns as sent. Cells a
    spreadsheet would run as a formula are prefixed with an apostrophe."""
    _refuse_unknown(request, set())
    run = _run(request, import_id)
    header, rows = selectors.import_error_report(run)
    return csv_response(f"import-{run.pk}-errors.csv", header, rows)


# --- lineage -----------------------------------------------------------------------------------


@router.get("/source-records", response={200: SourceRecordPage, **ERRORS}, tags=["Lineage"])
def source_record_list(request: HttpRequest, params: Query[SourceRecordParams]):
    """Every row a source sent, as sent and as normalised, newest first: filter by the
    contact or account it contributed to, by source or by the source's own key."""
    _refuse_unknown(request, {"source", "source_key", "contact", "account"})
    user = _actor(request)
    records = selectors.source_records_visible(user=user)
    errors: dict[str, list[str]] = {}
    if params.contact is not None:
        if not contact_visible(user=user).filter(pk=params.contact).exists():
            errors["contact"] = [f"There is no contact with id {params.contact}."]
        records = records.filter(contact_id=params.contact)
    if params.account is not None:
        if not account_visible(user=user).filter(pk=params.account).exists():
            errors["account"] = [f"There is no account with id {params.account}."]
        records = records.filter(account_id=params.account)
    if errors:
        raise ValidationError(errors)
    if params.source is not None:
        records = records.filter(source_id=params.source)
    if params.source_key is not None:
        records = records.filter(source_key=params.source_key)
    return _page_body(_page(records, ["-last_seen_at", "-id"], params.cursor, params.limit))


# --- bulk upsert -------------------------------------------------------------------------------


@router.post(
    "/sources/{source_id}/records/bulk", response={200: BulkOut, **ERRORS}, tags=["Sources"]
)
@idempotent
def source_records_bulk(request: HttpRequest, source_id: int, payload: BulkIn):
    """Create or update up to 1000 customers at once, synchronously, through the same
    mapping, validation and lineage as a file. Each item gets its own result: `created`,
    `matched` (joined an existing customer by email), `updated`, `unchanged` or
    `quarantined` (with `reason` and `message`); flagged values are in `problems`."""
    user = _actor(request)
    source = selectors.source_get(user=user, pk=source_id)
    columns = [c.as_spec() for c in payload.columns] if payload.columns is not None else None
    with _service_errors():
        try:
            run, outcomes = services.import_rows(
                actor=user,
                source=source,
                rows=payload.items,
                columns=columns,
                match_by=payload.match_by,
            )
        except ValidationError as exc:
            if columns is not None or not hasattr(exc, "error_dict"):
                raise
            # Without `columns` the item keys are the mapping: report them as such.
            raise ValidationError({"items": exc.messages}) from None
    return {
        "run_id": run.pk,
        "results": [
            {
                "index": o.index,
                "source_key": o.source_key,
                "status": o.status,
                "record_id": o.record_id,
                "problems": o.problems,
                "reason": o.reason,
                "message": o.message,
            }
            for o in outcomes
        ],
        "counts": counts_of(run),
    }


# --- database sources: testing the connection --------------------------------------------------


@router.post(
    "/sources/{source_id}/test-connection",
    response={200: dict[str, Any], **ERRORS},
    tags=["Sources"],
)
@idempotent
def source_test_connection(request: HttpRequest, source_id: int):
    """Connect to a database source with its saved settings and show what its query returns:
    `database` (the URL without its password), `dialect`, `columns`, the first `rows` and the
    `high_water_column` as the query names it. Reads, never writes; needs `source.change`.
    What is wrong (the variable is not set, the server refused the connection, the query
    failed) answers 400 with the message."""
    from .databases import source_test_connection as test_connection

    user = _actor(request)
    source = selectors.source_get(user=user, pk=source_id)
    with _service_errors():
        return test_connection(actor=user, source=source)
