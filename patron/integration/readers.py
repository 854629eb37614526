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
    "json": "JSON (an array, or an object holding one)",
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


def guess_format(name: str, head: bytes, encoding: str = "utf-8") -> str:
    lowered = name.lower()
    if lowered.endswith((".xlsx", ".xlsm")) or head.startswith(b"PK\x03\x04"):
        return "xlsx"
    if lowered.endswith((".vcf", ".vcard")):
        return "vcf"
    if lowered.endswith((".jsonl", ".ndjson")):
        return "jsonl"
    # Decoded first, so that a UTF-16 file's "[" is seen as one.
    text = head.decode(encoding or "utf-8", errors="replace").lstrip("\ufeff \t\r\n")
    if lowered.endswith(".json") or text[:1] in ("[", "{"):
        if text[:1] == "[" or not _json_lines(text):
            return "json"
        return "jsonl"
    return "csv"


def _json_lines(text: str) -> bool:
    """Whether a JSON file's start reads as JSON Lines: its first line a whole object and more
    lines after it. One object spread over many lines (or alone on its only line) is a JSON
    document instead: a single record, or a wrapper such as `{"contacts": [...]}`."""
    first, _, rest = text.partition("\n")
    try:
        item = json.loads(first)
    except ValueError:
        # A first line longer than the sample is a JSON Lines record cut short, not a document.
        return not rest
    return isinstance(item, dict) and bool(rest.strip())


def guess_encoding(head: bytes) -> str:
    """BOMs first, then UTF-16 told by its NUL bytes, then strict UTF-8, then the best
    single-byte guess (cp1252 by default)."""
    if head.startswith(codecs.BOM_UTF8):
        return "utf-8-sig"
    if head.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
        return "utf-16"
    order = _utf16_without_bom(head)
    if order:
        return order
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


def _utf16_without_bom(head: bytes) -> str:
    """UTF-16 without a BOM, by its NUL bytes: text that is mostly Latin letters has a NUL in
    every odd byte (little-endian) or every even one (big-endian). "" when it does not look so
    (UTF-32 has NULs in both; other text has next to none)."""
    sample = head[: min(len(head), 4096) // 2 * 2]
    half = len(sample) // 2
    if half < 2:
        return ""
    even, odd = sample[0::2].count(0), sample[1::2].count(0)
    if odd >= half * 0.3 and even <= odd // 10:
        return "utf-16-le"
    if even >= half * 0.3 and odd <= even // 10:
        return "utf-16-be"
    return ""


def guess_dialect(text: str) -> tuple[str, str]:
    """The delimiter and quote character of a CSV sample (`,` and `"` when it cannot tell)."""
    lines = [ln for ln in text.splitlines()[:50] if ln.strip()]
    sample = "\n".join(lines)
    try:
        dialect = csv.Sniffer().sniff(sample, delimiters=",;\t|")
        quotechar = dialect.quotechar if dialect.quotechar in ("'", '"') else '"'
        return dialect.delimiter, quotechar
    except csv.Error:
        counts = {d: sample.count(d) for d in ",;\t|"}
        best = max(counts, key=lambda d: counts[d])
        return (best if counts[best] else ","), '"'


def guess_delimiter(text: str) -> str:
    return guess_dialect(text)[0]


def detect(path: Path, name: str = "") -> FileOptions:
    """The options a file most likely needs, from its name and first bytes."""
    with open(path, "rb") as fh:
        head = fh.read(SAMPLE_BYTES)
    name = name or path.name
    if guess_format(name, head) == "xlsx":
        options = FileOptions(format="xlsx", encoding="")
        options.sheets, options.sheet = sheet_names(path)
        return options
    encoding = guess_encoding(head)
    options = FileOptions(format=guess_format(name, head, encoding), encoding=encoding)
    if options.format == "csv":
        text = head.decode(options.encoding, errors="replace")
        options.delimiter, options.quotechar = guess_dialect(text)
    return options


def _open_workbook(source: Path | IO[bytes]) -> Any:
    """The workbook, read-only. A file that is not one raises zipfile.BadZipFile, KeyError or
    openpyxl's InvalidFileException: read errors (selectors.READ_ERRORS)."""
    from openpyxl import load_workbook

    return load_workbook(source, read_only=True, data_only=True)


def sheet_names(path: Path) -> tuple[list[str], str]:
    """The workbook's sheets, and the one most likely holding the data (the largest: a
    summary or cover sheet in front of the data is common)."""
    workbook = _open_workbook(path)
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
_SURROGATE = re.compile(r"[\ud800-\udfff]")
_UNDECODABLE = "patron-undecodable"
# Where the JSON array reader hands ijson a byte the encoding could not decode (a character
# that is not meant to appear in text: the item holding it is quarantined as undecodable).
_JSON_UNDECODABLE = "\uffff"


def _mark_undecodable(exc: UnicodeError) -> tuple[str, int]:
    """Decode error handler: each byte that cannot be decoded becomes a lone surrogate in
    U+DC80..U+DCFF (what `surrogateescape` gives for bytes >= 0x80, which it can do only for
    those: a bad UTF-16 unit or a stray last byte would still fail the whole file). The row
    holding one is quarantined as undecodable; the rest of the file reads on."""
    if not isinstance(exc, UnicodeDecodeError):
        raise exc
    bad = exc.object[exc.start : exc.end]
    return "".join(chr(0xDC80 | (b & 0x7F)) for b in bad), exc.end


codecs.register_error(_UNDECODABLE, _mark_undecodable)


def text_encoding(path: Path, encoding: str) -> str:
    """The codec to read `path` with. Refuses names that are no text encoding (rot13, base64:
    `codecs` knows them, reading with them fails) as a ValueError, a read error. UTF-16 or
    UTF-32 chosen for a file without a BOM reads in the byte order its NULs show (little-endian
    when they do not tell), where Python's codec would refuse the file."""
    name = encoding or "utf-8"
    try:
        info = codecs.lookup(name)
    except LookupError:
        raise ValueError(f"Unknown encoding '{name}'.") from None
    if not getattr(info, "_is_text_encoding", True):
        raise ValueError(f"'{name}' is not a text encoding; choose the file's character set.")
    if info.name in ("utf-16", "utf-32"):
        with open(path, "rb") as fh:
            head = fh.read(4096)
        if info.name == "utf-32":
            if not head.startswith((codecs.BOM_UTF32_LE, codecs.BOM_UTF32_BE)):
                return "utf-32-be" if head.startswith(b"\x00\x00") else "utf-32-le"
        elif not head.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
            return _utf16_without_bom(head) or "utf-16-le"
    return name


def _open_text(binary: IO[bytes], encoding: str, newline: str | None = None) -> io.TextIOWrapper:
    return io.TextIOWrapper(binary, encoding=encoding, errors=_UNDECODABLE, newline=newline)


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
        encoding = text_encoding(self.path, self.options.encoding)
        delimiter = self.options.delimiter or ","
        quotechar = self.options.quotechar or '"'
        try:
            csv.reader([], delimiter=delimiter, quotechar=quotechar)
        except (TypeError, ValueError) as exc:
            raise ValueError(
                f"The delimiter and the quote character are two different characters ({exc})."
            ) from None
        self._binary = open(self.path, "rb")  # noqa: SIM115 (closed in finally)
        try:
            # Bytes that are invalid in the encoding become marks the row check below finds,
            # so one bad row is quarantined instead of the whole file failing to decode.
            text = _open_text(self._binary, encoding, newline="")
            reader = csv.reader(text, delimiter=delimiter, quotechar=quotechar, strict=False)
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
        self._binary = open(self.path, "rb")  # noqa: SIM115 (closed in finally)
        try:
            workbook = _open_workbook(self._binary)
        except BaseException:
            self._binary.close()
            raise
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
        encoding = text_encoding(self.path, self.options.encoding)
        self._binary = open(self.path, "rb")  # noqa: SIM115 (closed in finally)
        try:
            text = _open_text(self._binary, encoding)
            count = 0
            for number, line in enumerate(text, start=1):
                if number == 1:
                    line = line.lstrip("\ufeff")  # a BOM read as UTF-8
                if not line.strip():
                    continue
                count += 1
                if count <= skip:
                    continue
                if _CONTROL.search(line):
                    yield BadRow(
                        number,
                        "undecodable",
                        f"The line has bytes that are not valid {encoding}; "
                        "check the file's encoding.",
                        raw=_CONTROL.sub("\ufffd", line)[:2000],
                    )
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
                row: dict[str, Any] = {}
                _flatten(item, "", row)
                # A "\ud800" escape decodes to a lone surrogate, which no database stores.
                if "\\u" in line and _invalid_text(row):
                    yield BadRow(
                        number,
                        "undecodable",
                        "The line has a \\u escape that is not a valid character.",
                        raw=line[:2000],
                    )
                    continue
                yield number, self._columns_of(row)
        finally:
            self._binary.close()

    def _json_array(self, skip: int) -> Iterator[tuple[int, dict[str, Any]] | BadRow]:
        encoding = text_encoding(self.path, self.options.encoding)
        records = self._json_records(encoding)
        self._binary = open(self.path, "rb")  # noqa: SIM115 (closed in finally)
        try:
            stream = _Utf8Stream(_open_text(self._binary, encoding))
            count = 0
            try:
                for number, item in enumerate(ijson.items(stream, records), start=1):
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
                    row: dict[str, Any] = {}
                    _flatten(item, "", row)
                    if _invalid_text(row):
                        yield BadRow(
                            number,
                            "undecodable",
                            f"Item {number} has bytes that are not valid {encoding}; "
                            "check the file's encoding.",
                            raw={k: _JSON_INVALID.sub("\ufffd", v) for k, v in row.items()},
                        )
                        continue
                    yield number, self._columns_of(row)
            except (ijson.JSONError, UnicodeDecodeError) as exc:
                # The parser cannot find its way back into a broken document: what follows is
                # reported as this one bad record rather than guessed at.
                yield BadRow(count + 1, "invalid_json", f"The JSON stops being valid: {exc}.")
        finally:
            self._binary.close()

    def _json_records(self, encoding: str) -> str:
        """Where a JSON document keeps its records, as an ijson prefix: `item` for an array;
        `contacts.item` for an object whose first list of objects is under `contacts` (a
        wrapper such as `{"count": 2, "contacts": [...]}`); "" for an object holding no such
        list (it is the one record). Reads only as far as the first list."""
        with open(self.path, "rb") as binary:
            events = ijson.parse(_Utf8Stream(_open_text(binary, encoding)))
            key = None
            try:
                for prefix, event, value in events:
                    if prefix == "":
                        if event == "map_key":
                            key = value
                        elif event == "end_map":
                            return ""
                        elif event != "start_map":
                            return "item"  # an array, or a value the reader reports
                    elif prefix == key and event == "start_array":
                        _, first, _ = next(events, ("", "", None))
                        if first == "start_map":
                            return f"{key}.item"
            except (ijson.JSONError, UnicodeDecodeError):
                pass  # reading the records reports where the JSON breaks
            return "" if key is not None else "item"

    def _columns_of(self, row: dict[str, Any]) -> dict[str, Any]:
        """`row`, its keys added to the columns seen so far."""
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
                yield (
                    number,
                    self._columns_of({k: "" if v is None else str(v) for k, v in card.items()}),
                )
        finally:
            self._binary.close()


_JSON_INVALID = re.compile(r"[\ud800-\udfff\uffff]")


def _invalid_text(row: dict[str, Any]) -> bool:
    """Whether a JSON record holds a character no database stores (a lone surrogate) or the
    mark of a byte its encoding could not decode."""
    return bool(_JSON_INVALID.search("\x00".join([*row, *row.values()])))


class _Utf8Stream:
    """A decoded text stream as the UTF-8 bytes ijson parses, whatever the file's encoding (a
    BOM skipped). A byte the encoding could not decode reaches ijson as U+FFFF: inside a
    string it quarantines its item, not the rest of the file."""

    def __init__(self, text: IO[str]) -> None:
        self.text = text
        self.started = False

    def read(self, size: int = -1) -> bytes:
        chunk = self.text.read(size)
        if not self.started and chunk:
            self.started = True
            chunk = chunk.removeprefix("\ufeff")
        try:
            return chunk.encode("utf-8")
        except UnicodeEncodeError:
            return _CONTROL.sub(_JSON_UNDECODABLE, chunk).encode("utf-8", errors="replace")


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
    """Column names told apart: a column keeps its own name; a name already used gets `_2`,
    `_3`… (the first that is no other column's name), so `phone,phone,phone_2` gives
    `phone, phone_3, phone_2`. An empty name is `column_N` (N its position)."""
    wanted = [name or f"column_{i + 1}" for i, name in enumerate(names)]
    taken = set(wanted)
    result = []
    used: set[str] = set()
    for name in wanted:
        unique = name
        if unique in used:
            number = 2
            while f"{name}_{number}" in taken:
                number += 1
            unique = f"{name}_{number}"
            taken.add(unique)
        used.add(unique)
        result.append(unique)
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
