"""Reading an uploaded CSV file of leads (UI upload and `patron leads import`)."""

from __future__ import annotations

import csv
import io
from typing import Any

from . import services


def read_csv(upload: Any) -> tuple[list[tuple[int, dict[str, str]]], str]:
    """The rows of an uploaded CSV (UTF-8, any usual delimiter) with the line each starts on,
    as dicts by header; an error message instead when it cannot be read."""
    raw = upload.read()
    try:
        text = raw.decode("utf-8-sig")
    except UnicodeDecodeError:
        try:
            text = raw.decode("cp1252")
        except UnicodeDecodeError:
            return [], "The file is not UTF-8 text."
    text = text.replace("\x00", "")
    try:
        dialect: Any = csv.Sniffer().sniff(text[:4096], delimiters=",;\t")
    except csv.Error:
        dialect = csv.excel
    reader = csv.reader(io.StringIO(text, newline=""), dialect=dialect)
    try:
        header = next(reader)
    except (StopIteration, csv.Error):
        return [], "The file is empty."
    if not any(services.import_field(h) for h in header if h):
        return [], "No column is a lead field: name the columns first_name, email, company…"
    rows = []
    line = reader.line_num
    try:
        for record in reader:
            start, line = line + 1, reader.line_num
            rows.append((start, dict(zip(header, record, strict=False))))
    except csv.Error as exc:
        return [], f"Line {line + 1} cannot be read: {exc}."
    return rows, ""
