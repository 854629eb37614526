"""The readiness report: what a file holds and what importing it would do, before anything is
loaded (`patron assess FILE…`, the Data quality page, `POST /api/quality/assessments`).

One pass over each file with the importer's own streaming readers, in constant memory:

- a profile of every column (`columns.ColumnProfile`): inferred type, completeness, validity
  by the importer's parsers, distinct values, formats seen, the first problems with their line;
- the import forecast with the mapping the import screen would suggest (`fields.suggest`): the
  rows the importer would quarantine, by reason, and the values it would flag, by column and
  code — the very `prepare()` the importer runs, so the numbers are the import's numbers;
- duplicates inside the file (same email, phone, name with birth date or postcode, source key),
  counted in a fixed-size table (`sketches.KeyTable`);
- overlap with the customers already in Patron (read-only lookups of emails and phones);
- a ranked list of what needs attention (`attention.py`).

Nothing is written anywhere: the only database access is through the `ExistingCustomers`
lookups and the custom-field definitions, both reads, and both optional (pure files work
without a database).
"""

from __future__ import annotations

import datetime
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Protocol

from patron.integration import fields, readers
from patron.integration.prepared import Prepared, prepare
from patron.integration.readers import BadRow, FileOptions
from patron.utils.text import fold

from . import attention
from .columns import ColumnProfile
from .sketches import FirstExamples, KeyTable

SCHEMA = "patron.readiness-report/1"
SAMPLE_ROWS = 50  # rows the import screen reads to suggest a mapping
OVERLAP_BATCH = 1000
PROGRESS_EVERY = 2000
EXAMPLES = 5

QUARANTINE_LABELS = {
    "ragged": "Wrong number of fields",
    "undecodable": "Bytes not valid in the file's encoding",
    "invalid_json": "Not a JSON object",
    "unreadable": "Cannot be read",
    "no_name": "No name",
    "no_key": "No source key",
}
FLAG_LABELS = {
    "invalid_email": "Invalid email",
    "invalid_phone": "Invalid phone number",
    "invalid_date": "Invalid date",
    "invalid_number": "Invalid number",
    "invalid_country": "Unknown country",
    "invalid_choice": "Not one of the choices",
    "invalid_boolean": "Neither yes nor no",
    "too_long": "Too long for its field",
}
DUPLICATE_KEYS = {
    "source_key": "Same source key (the later row wins)",
    "email": "Same email address",
    "phone": "Same phone number",
    "name_birth": "Same name and date of birth",
    "name_postcode": "Same name and postcode",
    "account_name": "Same organisation name",
}
PERSON_KEYS = ("email", "phone", "name_birth", "name_postcode", "account_name")


class ExistingCustomers(Protocol):
    """Which of some normalised emails and E.164 phone numbers Patron already holds."""

    def matching(self, emails: set[str], phones: set[str]) -> tuple[set[str], set[str]]: ...


Progress = Callable[[int, int | None, int], None]  # bytes done, bytes in all (or None), rows


@dataclass
class AssessOptions:
    """How to read the files and what the import would be: the same choices as the import
    screen (entity, default phone country, encoding, delimiter, sheet, format)."""

    entity: str = "contact"
    region: str = ""
    encoding: str | None = None
    delimiter: str | None = None
    sheet: str | None = None
    format: str | None = None
    custom_fields: dict[str, Any] = field(default_factory=dict)
    key_slots_log2: int = 18

    def file_options(self, path: Path, name: str) -> FileOptions:
        options = readers.detect(path, name)
        if self.format:
            options.format = self.format
        if self.encoding:
            options.encoding = self.encoding
        if self.delimiter:
            options.delimiter = "\t" if self.delimiter in ("\\t", "tab") else self.delimiter
        if self.sheet:
            options.sheet = self.sheet
        return options


def assess(
    files: Iterable[tuple[Path, str]],
    *,
    options: AssessOptions | None = None,
    existing: ExistingCustomers | None = None,
    progress: Progress | None = None,
) -> dict[str, Any]:
    """The readiness report of `files` (path, name shown) as a JSON-ready dict."""
    options = options or AssessOptions()
    results = [
        assess_file(path, name, options=options, existing=existing, progress=progress)
        for path, name in files
    ]
    levels = {"high": 0, "medium": 0, "low": 0}
    for result in results:
        for item in result["attention"]:
            levels[item["severity"]] += 1
    return {
        "schema": SCHEMA,
        "generated_at": datetime.datetime.now(datetime.UTC).replace(microsecond=0).isoformat(),
        "settings": {
            "entity": options.entity,
            "region": options.region,
            "overlap_scope": "none" if existing is None else getattr(existing, "scope", "all"),
        },
        "summary": {
            "files": len(results),
            "records": sum(r["rows"]["records"] for r in results),
            "would_import": sum(r["rows"]["would_import"] for r in results),
            "quarantined": sum(r["rows"]["quarantined"] for r in results),
            "attention": levels,
        },
        "files": results,
        "writes_nothing": True,
    }


def suggested_mapping(
    reader_columns: list[str], sample: list[Any], file_format: str, options: AssessOptions
) -> list[dict[str, Any]]:
    """The mapping the import screen would propose for this file."""
    rows = [item[1] for item in sample if not isinstance(item, BadRow)]
    if file_format == "vcf":
        from patron.integration.vcard import VCARD_DEFAULT_MAPPING

        every_card_has_uid = bool(rows) and all(r.get("uid") for r in rows)
        mapping = []
        for column in reader_columns:
            base = column.split(".")[0] if column.split(".")[-1].isdigit() else column
            target = VCARD_DEFAULT_MAPPING.get(base, "")
            if target == "source_key" and not every_card_has_uid:
                target = ""
            mapping.append({"column": column, "target": target, "transform": "", "options": {}})
        return mapping
    return fields.suggest(
        reader_columns, rows, entity=options.entity, custom_fields=options.custom_fields
    )


class FileAssessment:
    """One file's pass: profiles, forecast, duplicates and overlap, row by row."""

    def __init__(
        self, path: Path, name: str, options: AssessOptions, existing: ExistingCustomers | None
    ) -> None:
        self.path = path
        self.name = name
        self.options = options
        self.existing = existing
        self.file_options = options.file_options(path, name)
        columns, sample = readers.preview(path, self.file_options, rows=SAMPLE_ROWS)
        self.mapping = suggested_mapping(columns, sample, self.file_options.format, options)
        self.normaliser = fields.RowNormaliser(
            self.mapping,
            entity=options.entity,
            default_region=options.region,
            custom_fields=options.custom_fields,
        )
        self.key_column = next(
            (c["column"] for c in self.mapping if c.get("target") == "source_key"), ""
        )
        self.maps_contact_points = any(
            str(c.get("target") or "").startswith(("email", "phone")) for c in self.mapping
        )
        self.hints = {
            c["column"]: fields.target(c["target"], options.custom_fields)
            for c in self.mapping
            if c.get("target")
        }
        self.profiles: dict[str, ColumnProfile] = {}
        for column in columns:
            self._profile(column)
        self.records = 0
        self.readable = 0
        self.usable = 0
        self.quarantine: dict[str, FirstExamples] = {}
        self.flags: dict[tuple[str, str], FirstExamples] = {}
        self.rows_with_flags = 0
        self.no_contact_point = FirstExamples(EXAMPLES)
        self.keys = KeyTable(options.key_slots_log2)
        self.repeats = 0
        self.duplicate_examples: dict[str, FirstExamples] = {}
        self.overlap = {"rows_checked": 0, "email": 0, "phone": 0, "any": 0}
        self._pending: list[tuple[set[str], set[str]]] = []

    def _profile(self, column: str) -> ColumnProfile:
        profile = self.profiles.get(column)
        if profile is None:
            profile = ColumnProfile(column, len(self.profiles) + 1, self.hints.get(column))
            self.profiles[column] = profile
        return profile

    # -- the pass -----------------------------------------------------------------------

    def run(self, progress: Progress | None = None) -> dict[str, Any]:
        reader = readers.Reader(self.path, self.file_options)
        total = self.path.stat().st_size if self.file_options.format != "xlsx" else None
        for item in reader.rows():
            self.records += 1
            if isinstance(item, BadRow):
                self._quarantine(item)
            else:
                self._row(*item)
            if progress is not None and self.records % PROGRESS_EVERY == 0:
                progress(reader.bytes_read, total, self.records)
        self._flush_overlap()
        if progress is not None:
            progress(total or 0, total, self.records)
        return self.result()

    def _quarantine(self, bad: BadRow) -> None:
        examples = self.quarantine.setdefault(bad.reason, FirstExamples(EXAMPLES))
        examples.add(line=bad.line, message=bad.message)

    def _row(self, line: int, row: dict[str, Any]) -> None:
        self.readable += 1
        prepared = prepare(line, row, self.normaliser, self.key_column)
        region = self.normaliser.row_region or self.options.region
        profiles = self.profiles
        for column, value in row.items():
            profile = profiles.get(column) or self._profile(column)
            profile.add(line, value if isinstance(value, str) else str(value), region)
        if isinstance(prepared, BadRow):
            self._quarantine(prepared)
            return
        self.usable += 1
        if prepared.problems:
            self.rows_with_flags += 1
            for problem in prepared.problems:
                examples = self.flags.setdefault(
                    (problem["column"], problem["code"]), FirstExamples(EXAMPLES)
                )
                examples.add(line=line, value=problem["value"], message=problem["message"])
        values = prepared.values
        emails = {e["email"] for e in values.get("emails", ())}
        phones = {p["e164"] for p in values.get("phones", ())}
        if self.maps_contact_points and not emails and not phones:
            self.no_contact_point.add(line=line)
        self._duplicates(line, prepared, emails, phones)
        if self.existing is not None and (emails or phones):
            self._pending.append((emails, phones))
            if len(self._pending) >= OVERLAP_BATCH:
                self._flush_overlap()

    def _duplicates(
        self, line: int, prepared: Prepared, emails: set[str], phones: set[str]
    ) -> None:
        """Count the row's keys; a row repeating an earlier row's source key replaces that
        row (the later one wins), so only its key is counted, not its person."""
        if self.normaliser.has_key:
            seen = self.keys.add("source_key", prepared.key)
            if seen is not None and seen > 1:
                self._duplicate_example("source_key", seen, line, prepared.key)
                return
        values = prepared.values
        keys = [("email", e) for e in emails] + [("phone", p) for p in phones]
        name = _name_key(values)
        if name:
            if values.get("contact.date_of_birth"):
                keys.append(("name_birth", f"{name}|{values['contact.date_of_birth']}"))
            postcode = "".join(str(values.get("address.postal_code") or "").split()).upper()
            if postcode:
                keys.append(("name_postcode", f"{name}|{postcode}"))
        if self.options.entity == "account" and values.get("account.name"):
            keys.append(("account_name", fold(str(values["account.name"]))))
        repeated = False
        for kind, key in keys:
            seen = self.keys.add(kind, key)
            if seen is not None and seen > 1:
                repeated = True
                self._duplicate_example(kind, seen, line, key.partition("|")[0])
        if repeated:
            self.repeats += 1

    def _duplicate_example(self, kind: str, seen: int, line: int, value: str) -> None:
        if seen == 2:
            examples = self.duplicate_examples.setdefault(kind, FirstExamples(EXAMPLES))
            examples.add(line=line, value=value)

    def _flush_overlap(self) -> None:
        if self.existing is None or not self._pending:
            return
        emails = set().union(*(e for e, _ in self._pending))
        phones = set().union(*(p for _, p in self._pending))
        found_emails, found_phones = self.existing.matching(emails, phones)
        for row_emails, row_phones in self._pending:
            by_email = bool(row_emails & found_emails)
            by_phone = bool(row_phones & found_phones)
            self.overlap["rows_checked"] += 1
            self.overlap["email"] += by_email
            self.overlap["phone"] += by_phone
            self.overlap["any"] += by_email or by_phone
        self._pending = []

    # -- the result ---------------------------------------------------------------------

    def result(self) -> dict[str, Any]:
        quarantined = sum(e.total for e in self.quarantine.values())
        opts = self.file_options
        columns = [p.result(self.readable) for p in self.profiles.values()]
        by_column = {c["name"]: c for c in columns}
        for spec in self.mapping:
            column = by_column.get(spec["column"])
            if column is not None:
                column["mapping"] = _mapping_entry(spec, self.options)
        result: dict[str, Any] = {
            "file": {
                "name": self.name,
                "size": self.path.stat().st_size,
                "format": opts.format,
                "format_label": readers.FORMATS.get(opts.format, opts.format),
                "encoding": opts.encoding,
                "delimiter": opts.delimiter if opts.format == "csv" else "",
                "sheet": opts.sheet,
                "sheets": list(opts.sheets),
            },
            "rows": {
                "records": self.records,
                "readable": self.readable,
                "quarantined": quarantined,
                "would_import": self.usable,
                "with_flags": self.rows_with_flags,
            },
            "quarantine": [
                {
                    "reason": reason,
                    "label": QUARANTINE_LABELS.get(reason, reason),
                    "count": examples.total,
                    "examples": examples.items,
                }
                for reason, examples in sorted(
                    self.quarantine.items(), key=lambda item: (-item[1].total, item[0])
                )
            ],
            "columns": columns,
            "mapping": [_mapping_entry(spec, self.options) for spec in self.mapping],
            "flags": [
                {
                    "column": column,
                    "code": code,
                    "label": FLAG_LABELS.get(code, code),
                    "count": examples.total,
                    "examples": examples.items,
                }
                for (column, code), examples in sorted(
                    self.flags.items(), key=lambda item: (-item[1].total, item[0])
                )
            ],
            "contact_points": {
                "mapped": self.maps_contact_points,
                "rows_without_email_or_phone": self.no_contact_point.total,
                "examples": [e["line"] for e in self.no_contact_point.items],
            },
            "duplicates": self._duplicate_result(),
            "overlap": self._overlap_result(),
        }
        result["attention"] = attention.ranked(result)
        return result

    def _duplicate_result(self) -> dict[str, Any]:
        summary = self.keys.summary()
        keys = []
        for kind, label in DUPLICATE_KEYS.items():
            if kind not in summary:
                continue
            stats = summary[kind]
            examples = self.duplicate_examples.get(kind)
            keys.append(
                {
                    "key": kind,
                    "label": label,
                    **stats,
                    "repeats": stats["rows_sharing"] - stats["clusters"],
                    "examples": examples.items if examples else [],
                }
            )
        return {
            "exact": self.keys.exact,
            "one_key_in": self.keys.scale,
            "keys": keys,
            "rows_repeating_a_person": self.repeats if self.keys.exact else None,
        }

    def _overlap_result(self) -> dict[str, Any]:
        if self.existing is None:
            return {"checked": False}
        return {
            "checked": True,
            "rows_checked": self.overlap["rows_checked"],
            "rows_matching_email": self.overlap["email"],
            "rows_matching_phone": self.overlap["phone"],
            "rows_matching": self.overlap["any"],
        }


def assess_file(
    path: Path,
    name: str = "",
    *,
    options: AssessOptions | None = None,
    existing: ExistingCustomers | None = None,
    progress: Progress | None = None,
) -> dict[str, Any]:
    """One file's part of the report."""
    assessment = FileAssessment(
        Path(path), name or Path(path).name, options or AssessOptions(), existing
    )
    return assessment.run(progress)


def _name_key(values: dict[str, Any]) -> str:
    """A person's name for matching: folded, in any order ("Müller, Hans" = "hans muller")."""
    parts = " ".join(
        str(values.get(f"contact.{part}") or "") for part in ("first_name", "last_name")
    )
    return " ".join(sorted(fold(parts).replace("-", " ").split()))


def _mapping_entry(spec: dict[str, Any], options: AssessOptions) -> dict[str, Any]:
    target = spec.get("target") or ""
    found = fields.target(target, options.custom_fields) if target else None
    return {
        "column": spec["column"],
        "target": target,
        "label": found.label if found else "Keep in source record only",
        "transform": spec.get("transform") or "",
        "transform_label": fields.TRANSFORMS.get(spec["transform"], "")
        if spec.get("transform")
        else "",
        "options": spec.get("options") or {},
    }
