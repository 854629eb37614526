"""Spreadsheet-safe downloads — CSV, XLSX and JSON — shared by every capability offering one.

A cell starting with "=", "+", "-", "@", a tab or a carriage return is read as a formula by
Excel, LibreOffice and Google Sheets ("CSV injection", OWASP); in CSV and XLSX such cells get a
leading apostrophe (`neutralise`, one function for both). CSV also quotes every field, and
guards the text after a ";", "," or tab inside a cell the same way (`neutralise_csv`): a
spreadsheet whose list separator is ";" (most of continental Europe) or a tool that splits
lines without reading quotes would make that text a cell of its own. JSON carries the values
unchanged: no spreadsheet reads it.

Every writer is a generator, so a download is produced while the client reads it and memory
stays flat however many rows there are. CSV and JSON send each batch of rows as soon as it is
written. XLSX is a zip archive whose directory comes last, so openpyxl's write-only mode
writes the rows to a temporary file on disk (constant memory) and the finished file is then
sent in chunks.
"""

from __future__ import annotations

import contextlib
import csv
import datetime
import decimal
import json
import math
import os
import re
import tempfile
import uuid
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass
from typing import Any

from django.http import StreamingHttpResponse
from openpyxl import Workbook
from openpyxl.cell import WriteOnlyCell
from openpyxl.cell.cell import ILLEGAL_CHARACTERS_RE
from openpyxl.styles import Font

FORMULA_PREFIXES = ("=", "+", "-", "@", "\t", "\r")
# A separator inside a cell ("ok;-2+3"), spaces, then what would start a formula.
_FORMULA_AFTER_SEPARATOR_RE = re.compile(r"([;,\t] *)(?=[=+\-@\t\r])")
# Bytes handed to the server at a time: small writes per row cost more than the rows.
CHUNK_SIZE = 64 * 1024

XLSX_CONTENT_TYPE = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"


@dataclass(frozen=True)
class ExportFormat:
    """A download format: what the browser is told it is, and the file's extension."""

    key: str
    label: str
    content_type: str


FORMATS: dict[str, ExportFormat] = {
    "csv": ExportFormat("csv", "CSV", "text/csv; charset=utf-8"),
    "xlsx": ExportFormat("xlsx", "Excel (XLSX)", XLSX_CONTENT_TYPE),
    "json": ExportFormat("json", "JSON", "application/json"),
}


@dataclass(frozen=True)
class Column:
    """One column of an export: `label` heads it in CSV and XLSX; `key` names it in JSON,
    where a dotted key ("custom_fields.tier") becomes a nested object."""

    key: str
    label: str


# --- cell values -------------------------------------------------------------------------------


def cell_text(value: Any) -> str:
    """A value as the text of one cell: "" for None, "true"/"false", ISO 8601 dates and
    times, and lists (tags, accounts) joined with "; "."""
    if value is None:
        return ""
    if value is True:
        return "true"
    if value is False:
        return "false"
    if isinstance(value, datetime.date | datetime.time):
        return value.isoformat()
    if isinstance(value, list | tuple):
        return "; ".join(cell_text(v) for v in value)
    return str(value)


def neutralise(value: Any) -> str:
    """The cell's text, prefixed with an apostrophe if a spreadsheet would run it."""
    text = cell_text(value)
    if text.startswith(FORMULA_PREFIXES):
        return "'" + text
    return text


def neutralise_csv(value: Any) -> str:
    """`neutralise`, and an apostrophe also after each ";", "," or tab inside the cell that is
    followed by a formula character: "ok;-2+3" becomes "ok;'-2+3". Were the cell split at the
    ";", an apostrophe in front of the whole cell would protect only its first part."""
    return _FORMULA_AFTER_SEPARATOR_RE.sub(r"\1'", neutralise(value))


# --- CSV ---------------------------------------------------------------------------------------


class _Echo:
    """A file-like object whose write() hands the line back, for streaming csv.writer."""

    def write(self, value: str) -> str:
        return value


def csv_lines(header: Sequence[str], rows: Iterable[Iterable[Any]]) -> Iterator[str]:
    """Every field quoted: a spreadsheet that splits cells at ";" keeps "ok;x" whole only if
    it is quoted, and the csv module quotes by default only for "," and '"'."""
    writer = csv.writer(_Echo(), quoting=csv.QUOTE_ALL)
    yield writer.writerow([neutralise_csv(h) for h in header])
    for row in rows:
        yield writer.writerow([neutralise_csv(v) for v in row])


# --- XLSX --------------------------------------------------------------------------------------


def _sheet_title(title: str) -> str:
    """Excel refuses sheet names longer than 31 characters or containing []:*?/\\."""
    return re.sub(r"[\[\]:*?/\\]", " ", title)[:31].strip() or "Export"


def _xlsx_text(sheet: Any, value: Any, *, bold: bool = False) -> WriteOnlyCell:
    """A cell that holds text and only text. Characters XML cannot carry are dropped *before*
    neutralising (else "\\x01=cmd()" would lose its guard), and the type is forced to string
    so that openpyxl reads neither a formula ("=...") nor an error code ("#N/A") into it."""
    text = neutralise(ILLEGAL_CHARACTERS_RE.sub("", cell_text(value)))
    cell = WriteOnlyCell(sheet, value=text)
    cell.data_type = "s"
    if bold:
        cell.font = Font(bold=True)
    return cell


def _xlsx_value(sheet: Any, value: Any) -> Any:
    """Numbers and yes/no stay typed (so that sums work); everything else is text."""
    if value is None or isinstance(value, bool):
        return value
    if isinstance(value, int | float | decimal.Decimal) and math.isfinite(value):
        return value
    return _xlsx_text(sheet, value)


def _discard_sheet_file(sheet: Any) -> None:
    """Remove the temporary file openpyxl writes a write-only sheet's rows to. It removes it
    itself after saving; this covers a download abandoned half way (the client went away)."""
    if not sheet.closed:
        with contextlib.suppress(Exception):
            sheet.close()  # ends the rows being written, closing the file
    path = getattr(getattr(sheet, "_writer", None), "out", None)
    if isinstance(path, str):
        with contextlib.suppress(OSError):
            os.remove(path)


def xlsx_chunks(
    header: Sequence[str],
    rows: Iterable[Iterable[Any]],
    *,
    sheet_title: str = "Export",
    chunk_size: int = CHUNK_SIZE,
) -> Iterator[bytes]:
    """An .xlsx workbook of one sheet, header row in bold and frozen, in chunks of bytes."""
    workbook = Workbook(write_only=True)
    sheet = workbook.create_sheet(title=_sheet_title(sheet_title))
    sheet.freeze_panes = "A2"
    try:
        sheet.append([_xlsx_text(sheet, h, bold=True) for h in header])
        for row in rows:
            sheet.append([_xlsx_value(sheet, v) for v in row])
        with tempfile.TemporaryFile() as archive:
            workbook.save(archive)
            archive.seek(0)
            while chunk := archive.read(chunk_size):
                yield chunk
    finally:
        _discard_sheet_file(sheet)


# --- JSON --------------------------------------------------------------------------------------


def _json_default(value: Any) -> Any:
    if isinstance(value, datetime.date | datetime.time):
        return value.isoformat()
    if isinstance(value, decimal.Decimal | uuid.UUID):
        return str(value)  # a decimal as text keeps every digit
    raise TypeError(f"{type(value).__name__} is not JSON serialisable")


def _json_object(keys: Sequence[str], row: Iterable[Any]) -> dict[str, Any]:
    record: dict[str, Any] = {}
    for key, value in zip(keys, row, strict=True):
        head, dot, rest = key.partition(".")
        if dot:
            record.setdefault(head, {})[rest] = value
        else:
            record[key] = value
    return record


def json_lines(keys: Sequence[str], rows: Iterable[Iterable[Any]]) -> Iterator[str]:
    """A JSON array of one object per row, written one row at a time (one row a line)."""
    separator = "[\n"
    for row in rows:
        obj = _json_object(keys, row)
        yield separator + json.dumps(obj, ensure_ascii=False, default=_json_default)
        separator = ",\n"
    yield "[]\n" if separator == "[\n" else "\n]\n"


# --- responses ---------------------------------------------------------------------------------


def batched_text(parts: Iterable[str], size: int = CHUNK_SIZE) -> Iterator[str]:
    """Join small pieces of text into chunks of about `size` characters."""
    buffer: list[str] = []
    length = 0
    for part in parts:
        buffer.append(part)
        length += len(part)
        if length >= size:
            yield "".join(buffer)
            buffer, length = [], 0
    if buffer:
        yield "".join(buffer)


def download(
    content: Iterable[str] | Iterable[bytes], *, filename: str, content_type: str
) -> StreamingHttpResponse:
    """A streaming attachment: `content` is produced while the client reads."""
    response = StreamingHttpResponse(content, content_type=content_type)
    response["Content-Disposition"] = f'attachment; filename="{filename}"'
    return response


def csv_response(
    filename: str, header: list[str], rows: Iterable[Iterable[Any]]
) -> StreamingHttpResponse:
    """A streaming CSV download: rows are produced while the client reads."""
    return download(
        batched_text(csv_lines(header, rows)),
        filename=filename,
        content_type=FORMATS["csv"].content_type,
    )


def table_response(
    fmt: str,
    *,
    name: str,
    columns: Sequence[Column],
    rows: Iterable[Sequence[Any]],
    title: str = "Export",
) -> StreamingHttpResponse:
    """`rows` (one value per column) as a CSV, XLSX or JSON download named `name.<fmt>`;
    `title` names the XLSX sheet."""
    header = [c.label for c in columns]
    content: Iterable[str] | Iterable[bytes]
    if fmt == "csv":
        content = batched_text(csv_lines(header, rows))
    elif fmt == "xlsx":
        content = xlsx_chunks(header, rows, sheet_title=title)
    elif fmt == "json":
        content = batched_text(json_lines([c.key for c in columns], rows))
    else:
        raise ValueError(f"Unknown export format {fmt!r}")
    return download(content, filename=f"{name}.{fmt}", content_type=FORMATS[fmt].content_type)
