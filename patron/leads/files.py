"""Reading an uploaded CSV file of leads (UI upload and `patron leads import`)."""

from __future__ import annotations

import csv
import io
from typing import Any

from . import services


def read_csv(upload: Any) -> tuple[list[dict[str, str]], str]:
    """The rows of an uploaded CSV (UTF-8, any usual delimiter) as dicts by header; an error
    message instead when it cannot be read."""
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
    reader = csv.DictReader(io.StringIO(text, newline=""), dialect=dialect)
    if not reader.fieldnames:
        return [], "The file is empty."
    if not any(services.import_field(h) for h in reader.fieldnames if h):
        return [], "No column is a lead field: name the columns first_name, email, company…"
    return list(reader), ""
