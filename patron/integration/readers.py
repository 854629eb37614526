"""Streaming readers for the files people export from other systems.

Every reader yields `(line, row)` one record at a time and never loads the whole file:
`line` is where the record starts (the physical line of a CSV file, counting the header as
line 1; the line of a JSON Lines file; the sheet row of a workbook; the item number of a JSON
array) and `row` is a flat `{column: text}` dict, nested JSON addressed by dotted paths
(`address.city`). A record that cannot be read is yielded as a `BadRow` so the importer can
quarantine it with its line and reason; the reader carries on with the next record.

`skip` lets a resumed import start after the records an earlier attempt already committed.
"""

from __future__ import annotations

import codecs
import csv
import datetime
import io
import json
import re
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, Any

import ijson
from charset_normalizer import from_bytes

SAMPLE_BYTES = 256 * 1024
csv.field_size_limit(16 * 1024 * 1024)

FORMATS = {
    "csv": "CSV or text file",
    "xlsx": "Excel workbook (.xlsx)",
    "json": "JSON array",
    "jsonl": "JSON Lines",
    "vcf": "vCard (.vcf)",
}


@dataclass
class BadRow:
    """A record the reader could not turn into columns."""

    line: int
    reason: str
    message: str
    raw: Any = None


@dataclass
class FileOptions:
    """How to read a file; detected from its first bytes and overridable by the user."""

    format: str = "csv"
    encoding: str = "utf-8"
    delimiter: str = ","
    quotechar: str = '"'
    has_header: bool = True
    sheet: str = ""
    sheets: list[str] = field(default_factory=list)

    def as_dict(self) -> dict[str, Any]:
        return {
            "format": self.format,
            "encoding": self.encoding,
            "delimiter": self.delimiter,
            "quotechar": self.quotechar,
            "has_header": self.has_header,
            "sheet": self.sheet,
        }

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> FileOptions:
        known = {k: v for k, v in data.items() if k in cls.__dataclass_fields__}
        return cls(**known)


# --- detection --------------------------------------------------------------------------------


def guess_format(name: str, head: bytes) -> str:
    lowered = name.lower()
    if lowered.endswith((".xlsx", ".xlsm")) or head.startswith(b"PK\x03\x04"):
        return "xlsx"
    if lowered.endswith((".vcf", ".vcard")):
        return "vcf"
    if lowered.endswith((".jsonl", ".ndjson")):
        return "jsonl"
    stripped = head.lstrip(b"\xef\xbb\xbf \t\r\n")
    if lowered.endswith(".json") or stripped[:1] in (b"[", b"{"):
        if stripped[:1] == b"[":
            return "json"
        return "jsonl"
    return "csv"


def guess_encoding(head: bytes) -> str:
    """BOMs first, then strict UTF-8, then the best single-byte guess (cp1252 by default)."""
    if head.startswith(codecs.BOM_UTF8):
        return "utf-8-sig"
    if head.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
        return "utf-16"
    try:
        head.decode("utf-8")
        return "utf-8"
    except UnicodeDecodeError as exc:
        # A multi-byte character cut at the end of the sample is still UTF-8.
        if exc.start >= len(head) - 3 and exc.reason == "unexpected end of data":
            return "utf-8"
    # UTF-8 with a few stray bytes is still UTF-8: its accented letters are valid multi-byte
    # sequences, which Windows-1252 would misread ("Ã¼" for "ü") on every row. The stray
    # bytes' rows are quarantined as undecodable instead.
    as_utf8 = head.decode("utf-8", errors="replace")
    invalid = as_utf8.count("\ufffd")
    multibyte = sum(1 for ch in as_utf8 if ord(ch) > 127 and ch != "\ufffd")
    if multibyte and invalid <= max(3, multibyte // 20):
        return "utf-8"
    # Western exports are overwhelmingly Windows-1252: take it when it reads the sample with at
    # most a few undefined bytes (those rows are quarantined as undecodable, not misread).
    undefined = head.decode("cp1252", errors="replace").count("\ufffd")
    if undefined <= max(3, len(head) // 10000):
        return "cp1252"
    best = from_bytes(
        head, cp_isolation=["cp1252", "latin_1", "cp1250", "iso8859_15", "mac_roman"]
    ).best()
    encoding = best.encoding if best is not None else "cp1252"
    return "cp1252" if encoding in ("latin_1", "iso8859_15") else encoding


def guess_delimiter(text: str) -> str:
    lines = [ln for ln in text.splitlines()[:50] if ln.strip()]
    sample = "\n".join(lines)
    try:
        return csv.Sniffer().sniff(sample, delimiters=",;\t|").delimiter
    except csv.Error:
        counts = {d: sample.count(d) for d in ",;\t|"}
        best = max(counts, key=lambda d: counts[d])
        return best if counts[best] else ","


def detect(path: Path, name: str = "") -> FileOptions:
    """The options a file most likely needs, from its name and first bytes."""
    with open(path, "rb") as fh:
        head = fh.read(SAMPLE_BYTES)
    options = FileOptions(format=guess_format(name or path.name, head))
    if options.format == "xlsx":
        options.sheets, options.sheet = sheet_names(path)
        options.encoding = ""
        return options
    options.encoding = guess_encoding(head)
    if options.format == "csv":
        text = head.decode(options.encoding, errors="replace")
        options.delimiter = guess_delimiter(text)
    return options


def sheet_names(path: Path) -> tuple[list[str], str]:
    """The workbook's sheets, and the one most likely holding the data (the largest: a
    summary or cover sheet in front of the data is common)."""
    from openpyxl import load_workbook

    workbook = load_workbook(path, read_only=True, data_only=True)
    try:
        names = list(workbook.sheetnames)
        sizes = {}
        for name in names:
            sheet = workbook[name]
            sizes[name] = (sheet.max_row or 0) * (sheet.max_column or 0)
        best = max(names, key=lambda n: sizes[n]) if names else ""
        return names, best
    finally:
        workbook.close()


# --- reading ----------------------------------------------------------------------------------

_CONTROL = re.compile(r"[\udc80-\udcff]")


def _clean_cell(value: str) -> str:
    return value.strip()


class Reader:
    """Iterates a file's records as `(line, row)` or `BadRow`; tracks the bytes consumed."""

    def __init__(self, path: Path, options: FileOptions) -> None:
        self.path = path
        self.options = options
        self.columns: list[str] = []
        self._binary: IO[bytes] | None = None

    @property
    def bytes_read(self) -> int:
        return self._binary.tell() if self._binary is not None and not self._binary.closed else 0

    def rows(self, skip: int = 0) -> Iterator[tuple[int, dict[str, Any]] | BadRow]:
        fmt = self.options.format
        if fmt == "csv":
            return self._csv(skip)
        if fmt == "xlsx":
            return self._xlsx(skip)
        if fmt == "json":
            return self._json_array(skip)
        if fmt == "jsonl":
            return self._jsonl(skip)
        if fmt == "vcf":
            return self._vcf(skip)
        raise ValueError(f"Unknown file format {fmt!r}")

    def header(self) -> list[str]:
        """The column names (for JSON: the dotted paths seen in the first records)."""
        if not self.columns:
            for _ in zip(range(200), self.rows(), strict=False):
                pass
        return self.columns

    # CSV ----------------------------------------------------------------------------------

    def _csv(self, skip: int) -> Iterator[tuple[int, dict[str, Any]] | BadRow]:
        self._binary = open(self.path, "rb")  # noqa: SIM115 (closed in finally)
        try:
            # surrogateescape keeps bytes that are invalid in the encoding visible, so one bad
            # row is quarantined instead of the whole file failing to decode.
            text = io.TextIOWrapper(
                self._binary, encoding=self.options.encoding, errors="surrogateescape", newline=""
            )
            reader = csv.reader(
                text,
                delimiter=self.options.delimiter or ",",
                quotechar=self.options.quotechar or '"',
                strict=False,
            )
            line = 1
            header: list[str] | None = None
            if self.options.has_header:
                try:
                    first = next(reader)
                except StopIteration:
                    return
                except csv.Error as exc:
                    yield BadRow(1, "unreadable", f"The header cannot be read: {exc}.")
                    return
                header = [_CONTROL.sub("?", c).strip().lstrip("\ufeff") for c in first]
                header = _unique_names(header)
                self.columns = header
                line = reader.line_num + 1
            count = 0
            while True:
                start = line
                try:
                    cells = next(reader)
                except StopIteration:
                    return
                except csv.Error as exc:
                    line = reader.line_num + 1
                    count += 1
                    if count > skip:
                        yield BadRow(start, "unreadable", f"The row cannot be read: {exc}.")
                    continue
                line = reader.line_num + 1
                if not cells or (len(cells) == 1 and not cells[0].strip()):
                    continue  # blank lines are not records
                count += 1
                if count <= skip:
                    continue
                if header is None:
                    header = [f"column_{i + 1}" for i in range(len(cells))]
                    self.columns = header
                raw = dict(zip(header, cells, strict=False))
                if any(_CONTROL.search(c) for c in cells):
                    bad = next(i for i, c in enumerate(cells) if _CONTROL.search(c))
                    name = header[bad] if bad < len(header) else f"column {bad + 1}"
                    yield BadRow(
                        start,
                        "undecodable",
                        f"Column '{name}' has bytes that are not valid "
                        f"{self.options.encoding}; check the file's encoding.",
                        raw=[_CONTROL.sub("\ufffd", c) for c in cells],
                    )
                    continue
                if len(cells) != len(header):
                    yield BadRow(
                        start,
                        "ragged",
                        f"The row has {len(cells)} fields; the header has {len(header)}.",
                        raw=cells,
                    )
                    continue
                yield start, {k: _clean_cell(v) for k, v in raw.items()}
        finally:
            self._binary.close()

    # Excel --------------------------------------------------------------------------------

    def _xlsx(self, skip: int) -> Iterator[tuple[int, dict[str, Any]] | BadRow]:
        from openpyxl import load_workbook

        self._binary = open(self.path, "rb")  # noqa: SIM115 (closed in finally)
        workbook = load_workbook(self._binary, read_only=True, data_only=True)
        try:
            sheet_name = self.options.sheet or workbook.sheetnames[0]
            if sheet_name not in workbook.sheetnames:
                yield BadRow(0, "unreadable", f"The workbook has no sheet named '{sheet_name}'.")
                return
            sheet = workbook[sheet_name]
            header: list[str] | None = None
            count = 0
            for number, values in enumerate(sheet.iter_rows(values_only=True), start=1):
                cells = [_excel_text(v) for v in values]
                while cells and cells[-1] == "":
                    cells.pop()
                if header is None and self.options.has_header:
                    if not cells:
                        continue
                    header = _unique_names([c or f"column_{i + 1}" for i, c in enumerate(cells)])
                    self.columns = header
                    continue
                if not cells:
                    continue
                count += 1
                if count <= skip:
                    continue
                if header is None:
                    header = [f"column_{i + 1}" for i in range(len(cells))]
                    self.columns = header
                if len(cells) > len(header):
                    yield BadRow(
                        number,
                        "ragged",
                        f"The row has {len(cells)} cells; the header has {len(header)}.",
                        raw=cells,
                    )
                    continue
                cells += [""] * (len(header) - len(cells))
                yield number, dict(zip(header, cells, strict=True))
        finally:
            workbook.close()
            self._binary.close()

    # JSON ---------------------------------------------------------------------------------

    def _jsonl(self, skip: int) -> Iterator[tuple[int, dict[str, Any]] | BadRow]:
        self._binary = open(self.path, "rb")  # noqa: SIM115 (closed in finally)
        try:
            text = io.TextIOWrapper(
                self._binary, encoding=self.options.encoding or "utf-8", errors="surrogateescape"
            )
            count = 0
            for number, line in enumerate(text, start=1):
                if not line.strip():
                    continue
                count += 1
                if count <= skip:
                    continue
                try:
                    item = json.loads(line)
                except ValueError as exc:
                    yield BadRow(number, "invalid_json", f"Not valid JSON: {exc}.", raw=line[:2000])
                    continue
                if not isinstance(item, dict):
                    yield BadRow(
                        number,
                        "invalid_json",
                        f"Expected a JSON object, found {type(item).__name__}.",
                        raw=line[:2000],
                    )
                    continue
                yield number, self._flat(item)
        finally:
            self._binary.close()

    def _json_array(self, skip: int) -> Iterator[tuple[int, dict[str, Any]] | BadRow]:
        self._binary = open(self.path, "rb")  # noqa: SIM115 (closed in finally)
        try:
            count = 0
            try:
                for number, item in enumerate(ijson.items(self._binary, "item"), start=1):
                    count += 1
                    if count <= skip:
                        continue
                    if not isinstance(item, dict):
                        yield BadRow(
                            number,
                            "invalid_json",
                            f"Item {number} is a {type(item).__name__}, not an object.",
                            raw=json.dumps(item, default=str)[:2000],
                        )
                        continue
                    yield number, self._flat(item)
            except ijson.JSONError as exc:
                yield BadRow(count + 1, "invalid_json", f"The JSON stops being valid: {exc}.")
        finally:
            self._binary.close()

    def _flat(self, item: dict[str, Any]) -> dict[str, Any]:
        row: dict[str, Any] = {}
        _flatten(item, "", row)
        for key in row:
            if key not in self._seen:
                self._seen.add(key)
                self.columns.append(key)
        return row

    @property
    def _seen(self) -> set[str]:
        if not hasattr(self, "_seen_set"):
            self._seen_set: set[str] = set(self.columns)
        return self._seen_set

    # vCard --------------------------------------------------------------------------------

    def _vcf(self, skip: int) -> Iterator[tuple[int, dict[str, Any]] | BadRow]:
        from .vcard import read_vcards

        self._binary = open(self.path, "rb")  # noqa: SIM115 (closed in finally)
        try:
            count = 0
            for number, card in read_vcards(self._binary):
                count += 1
                if count <= skip:
                    continue
                if "__error__" in card:
                    yield BadRow(number, "unreadable", str(card["__error__"]))
                    continue
                for key in card:
                    if key not in self._seen:
                        self._seen.add(key)
                        self.columns.append(key)
                yield number, {k: "" if v is None else str(v) for k, v in card.items()}
        finally:
            self._binary.close()


def _flatten(value: Any, prefix: str, out: dict[str, Any]) -> None:
    if isinstance(value, dict):
        for key, inner in value.items():
            _flatten(inner, f"{prefix}.{key}" if prefix else str(key), out)
    elif isinstance(value, list) and value and all(isinstance(v, dict) for v in value):
        for i, inner in enumerate(value):
            _flatten(inner, f"{prefix}.{i}", out)
    elif isinstance(value, list):
        out[prefix] = ", ".join("" if v is None else _json_text(v) for v in value)
    else:
        out[prefix] = _json_text(value)


def _json_text(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value).strip()


def _excel_text(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, datetime.datetime):
        if value.time() == datetime.time(0, 0):
            return value.date().isoformat()
        return value.isoformat()
    if isinstance(value, datetime.date):
        return value.isoformat()
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value).strip()


def _unique_names(names: list[str]) -> list[str]:
    seen: dict[str, int] = {}
    result = []
    for i, name in enumerate(names):
        name = name or f"column_{i + 1}"
        if name in seen:
            seen[name] += 1
            name = f"{name}_{seen[name]}"
        else:
            seen[name] = 1
        result.append(name)
    return result


def preview(path: Path, options: FileOptions, rows: int = 10) -> tuple[list[str], list[Any]]:
    """The columns and the first records (good and bad) for the mapping step."""
    reader = Reader(path, options)
    sample: list[Any] = []
    for item in reader.rows():
        sample.append(item)
        if len(sample) >= rows:
            break
    columns = reader.columns
    if options.format in ("json", "jsonl", "vcf"):
        # Nested keys may first appear further down; look a little further for the header.
        columns = Reader(path, options).header()
    return columns, sample


def iter_rows_from_list(
    items: list[tuple[int, dict[str, Any]]], skip: int = 0
) -> Iterator[tuple[int, dict[str, Any]] | BadRow]:
    """Rows already in memory (API batches, re-runs of quarantined rows) as a reader would."""
    yield from items[skip:]
