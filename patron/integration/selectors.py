"""Every read of the integration app, always through the permission chokepoint: sources are
configuration (the role alone decides), runs, mappings and source records inherit the
visibility of their source."""

from __future__ import annotations

import contextlib
import csv
import datetime
import heapq
import logging
import math
import zipfile
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import ijson
from django.core.exceptions import ValidationError
from django.db.models import F, QuerySet
from django.utils import timezone
from openpyxl.utils.exceptions import InvalidFileException

from patron.core.models import CustomFieldDefinition

from . import fields as fieldmod
from . import readers
from .models import ImportRun, QuarantinedRow, Source, SourceRecord

logger = logging.getLogger("patron.integration")

# What reading a file with the wrong options (or a damaged file) may raise: the client's
# choice of options or file, not a fault of Patron's.
READ_ERRORS: tuple[type[BaseException], ...] = (
    OSError,
    ValueError,
    LookupError,  # an encoding Python knows that is not text (rot13, base64)
    UnicodeError,
    csv.Error,
    zipfile.BadZipFile,
    KeyError,
    EOFError,
    InvalidFileException,
    ijson.JSONError,
)


@contextlib.contextmanager
def file_errors(field: str, *, settings: str = "options") -> Iterator[None]:
    """A file that cannot be read (damaged, or read with the wrong `settings`) is the user's
    to fix: a ValidationError on `field` (a 400 from the API, a form error in the UI), not a
    500."""
    try:
        yield
    except READ_ERRORS as exc:
        logger.info("Import file unreadable: %s: %s", type(exc).__name__, exc)
        message = (
            f"The file cannot be read ({exc})."
            if field == "file"
            else f"The file cannot be read with these {settings} ({exc})."
        )
        raise ValidationError({field: [message]}) from None


# --- sources, imports, quarantine and lineage for the JSON API ---------------------------------


def sources_visible(*, user: Any, action: str = "view") -> QuerySet[Source]:
    return Source.objects.restrict(user, action).select_related("created_by")


def source_get(*, user: Any, pk: int, action: str = "view") -> Source:
    """The source if `user` may `action` it; Source.DoesNotExist otherwise (a 404)."""
    return sources_visible(user=user, action=action).get(pk=pk)


def source_targets(*, source: Source) -> list[fieldmod.Target]:
    """What a column of this source can become: Patron's fields, then its custom fields."""
    custom = CustomFieldDefinition.objects.filter(object_type=source.entity).order_by(
        "order", "label", "id"
    )
    return fieldmod.targets_for(source.entity, custom)


def import_runs_visible(*, user: Any) -> QuerySet[ImportRun]:
    return ImportRun.objects.restrict(user, "view").select_related("source", "created_by")


def import_run_get(*, user: Any, pk: int) -> ImportRun:
    """The run if `user` may see its source; ImportRun.DoesNotExist otherwise (a 404)."""
    return import_runs_visible(user=user).get(pk=pk)


def quarantined_rows(*, run: ImportRun) -> QuerySet[QuarantinedRow]:
    return QuarantinedRow.objects.filter(run=run)


def source_records_visible(*, user: Any) -> QuerySet[SourceRecord]:
    return SourceRecord.objects.restrict(user, "view").select_related("source")


@dataclass
class ImportProgress:
    rows_done: int
    total_rows: int | None
    percent: float | None
    rate: float | None  # rows per second in the current (or last) attempt
    eta_seconds: int | None


def import_progress(run: ImportRun, *, now: datetime.datetime | None = None) -> ImportProgress:
    """How far a run got and, while it runs, how fast and how long it still needs.

    The rate counts only the current attempt (since `resumed_at`, from `rows_at_resume`), so a
    run resumed after a day's pause is not reported as crawling."""
    now = now or timezone.now()
    done, total = run.rows_done, run.total_rows
    completed = run.status == ImportRun.Status.COMPLETED
    percent: float | None = None
    if completed:
        percent = 100.0
    elif total:
        percent = round(min(100.0, done * 100 / total), 1)
    elif total == 0:
        percent = 0.0
    rate: float | None = None
    since = run.resumed_at or run.started_at
    if since is not None:
        until = now if run.is_active or run.finished_at is None else run.finished_at
        elapsed = (until - since).total_seconds()
        rows = done - (run.rows_at_resume if run.resumed_at else 0)
        if elapsed > 0 and rows > 0:
            rate = round(rows / elapsed, 1)
    eta: int | None = None
    if completed:
        eta = 0
    elif run.is_active and rate and total is not None:
        eta = max(0, math.ceil((total - done) / rate))
    return ImportProgress(
        rows_done=done, total_rows=total, percent=percent, rate=rate, eta_seconds=eta
    )


# --- the error file of a run -------------------------------------------------------------------

ERROR_REPORT_FIELDS = ["line", "reason", "message", "column"]


def import_error_report(run: ImportRun) -> tuple[list[str], Iterator[list[Any]]]:
    """The rows a run could not use and the values it flagged, in file order, each with the
    columns as the source sent them, for the person fixing the file.

    A quarantined row has its reason (`no_name`, `ragged`…) and an empty `column`; a flagged
    value is one row per problem, the problem's code as reason and the column it came from.
    Rows are produced while they are written out (two ordered queries merged by line)."""
    columns = _raw_columns(run)

    def quarantined() -> Iterator[tuple[int, int, list[Any]]]:
        rows = quarantined_rows(run=run).order_by("line", "id")
        for row in rows.iterator(chunk_size=2000):
            cells = _raw_cells(row.raw, columns)
            yield row.line, 0, [row.line, row.reason, row.message, "", *cells]

    def flagged() -> Iterator[tuple[int, int, list[Any]]]:
        records = (
            SourceRecord.objects.filter(last_run=run)
            .exclude(problems=[])
            .order_by(F("line").asc(nulls_first=True), "id")
        )
        for record in records.iterator(chunk_size=2000):
            cells = _raw_cells(record.payload, columns)
            for problem in record.problems:
                yield (
                    record.line or 0,
                    1,
                    [
                        record.line,
                        problem.get("code", ""),
                        problem.get("message", ""),
                        problem.get("column", ""),
                        *cells,
                    ],
                )

    merged = heapq.merge(quarantined(), flagged(), key=lambda item: (item[0], item[1]))
    return [*ERROR_REPORT_FIELDS, *columns], (item[2] for item in merged)


def _raw_columns(run: ImportRun) -> list[str]:
    """The file's own header (it may hold columns the mapping left out), then the mapping's."""
    names = [str(c.get("column")) for c in run.columns if c.get("column")]
    if run.kind == ImportRun.Kind.FILE and run.file_path and Path(run.file_path).is_file():
        try:
            reader = readers.Reader(Path(run.file_path), readers.FileOptions.from_dict(run.options))
            names = [*reader.header(), *names]
        except READ_ERRORS:
            pass  # the mapping's columns will do
    return list(dict.fromkeys(names))


def _raw_cells(raw: Any, columns: list[str]) -> list[Any]:
    if isinstance(raw, dict):
        if raw and not any(name in raw for name in columns):
            return list(raw.values())  # e.g. {"text": ...} of a line that was not a record
        return [raw.get(name, "") for name in columns]
    if isinstance(raw, list):
        return list(raw)  # a ragged row: its cells as they came
    return [] if raw is None else [raw]
