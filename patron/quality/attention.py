"""What will need attention before a file is imported, ranked: rows that would be lost first
(quarantined, misread), then values that would be flagged or duplicated, then hints.

Each rule reads one file's report (see `assess.FileAssessment.result`) and returns items
`{"code", "severity", "count", "share", "title", "detail", "column"}`; `share` is the count
over the rows it concerns (records, readable rows or rows that would import).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from patron.integration import fields

from .columns import date_label

SEVERITY_ORDER = {"high": 0, "medium": 1, "low": 2}
Item = dict[str, Any]

QUARANTINE_TEXT = {
    "ragged": (
        "{rows} {have} the wrong number of fields",
        "They would be quarantined. A delimiter inside an unquoted value or a line break the "
        "exporting system did not quote is the usual cause; the delimiter read was {delimiter}.",
    ),
    "undecodable": (
        "{rows} {have} bytes that are not valid {encoding}",
        "They would be quarantined. Check the file's encoding (detected: {encoding}) or fix "
        "the characters in the rows listed.",
    ),
    "invalid_json": (
        "{records} cannot be read as a JSON object",
        "They would be quarantined: a line cut short or a value that is not an object.",
    ),
    "unreadable": ("{records} cannot be read", "They would be quarantined."),
    "no_name": (
        "{rows} {have} no name",
        "They would be quarantined: a customer needs a first or last name (an organisation a "
        "name). Map the name column(s) or complete the rows.",
    ),
    "no_key": (
        "{rows} {have} no source key",
        "They would be quarantined: the key column '{key}' is empty, so the row could not be "
        "matched on the next import. Fill it, or import without a key column.",
    ),
}


def ranked(report: dict[str, Any]) -> list[Item]:
    """Every rule's items, most severe and most frequent first."""
    items: list[Item] = []
    for rule in RULES:
        items.extend(rule(report))
    # A date column read with the wrong suggested format is one item, not two.
    misread = {i["column"] for i in items if i["code"] == "dates.format"}
    items = [i for i in items if not (i["code"] == "flag.invalid_date" and i["column"] in misread)]
    items.sort(key=lambda i: (SEVERITY_ORDER[i["severity"]], -i["count"], i["code"]))
    return items


def _item(
    code: str,
    severity: str,
    count: int,
    base: int,
    title: str,
    detail: str = "",
    column: str = "",
) -> Item:
    return {
        "code": code,
        "severity": severity,
        "count": count,
        "share": round(count / base, 4) if base else 0.0,
        "title": title,
        "detail": detail,
        "column": column,
    }


def _count(n: int, noun: str) -> str:
    """ "1 row", "2,345 rows"."""
    return f"{n:,} {noun}{'' if n == 1 else 's'}"


def _pct(count: int, base: int) -> str:
    if not base:
        return ""
    share = 100 * count / base
    return f" ({share:.1f}%)" if share >= 0.1 else " (<0.1%)"


def _quarantined(report: dict[str, Any]) -> list[Item]:
    records = report["rows"]["records"]
    key = next((m["column"] for m in report["mapping"] if m["target"] == "source_key"), "")
    file = report["file"]
    delimiter = {"\t": "tab", ",": "comma", ";": "semicolon", "|": "bar"}.get(
        file["delimiter"], repr(file["delimiter"])
    )
    items = []
    for entry in report["quarantine"]:
        title, detail = QUARANTINE_TEXT.get(entry["reason"], ("{rows} would be quarantined", ""))
        n = entry["count"]
        lines = ", ".join(str(e["line"]) for e in entry["examples"])
        detail = detail.format(encoding=file["encoding"], delimiter=delimiter, key=key)
        items.append(
            _item(
                f"quarantine.{entry['reason']}",
                "high",
                n,
                records,
                title.format(
                    rows=_count(n, "row"),
                    records=_count(n, "record"),
                    have="has" if n == 1 else "have",
                    are="is" if n == 1 else "are",
                    encoding=file["encoding"],
                )
                + _pct(n, records),
                f"{detail} Lines: {lines}{'…' if n > len(entry['examples']) else ''}.",
            )
        )
    return items


def _misdecoded(report: dict[str, Any]) -> list[Item]:
    """Text that reads like UTF-8 decoded as a single-byte encoding: every accented letter of
    the file would be imported garbled."""
    columns = [c for c in report["columns"] if c["misdecoded"]["count"]]
    if not columns:
        return []
    n = sum(c["misdecoded"]["count"] for c in columns)
    example = columns[0]["misdecoded"]["examples"][0]
    encoding = report["file"]["encoding"]
    return [
        _item(
            "encoding.misdecoded",
            "high",
            n,
            report["rows"]["readable"],
            f"{_count(n, 'value')} look like UTF-8 read as {encoding} "
            f"(such as '{example['value'][:40]}' on line {example['line']})",
            f"The file is most likely UTF-8 read as {encoding}. Choose UTF-8: every "
            "accented letter is then read right (rows with bytes that are not UTF-8 are "
            "quarantined). Columns: " + ", ".join(f"'{c['name']}'" for c in columns[:5]) + ".",
        )
    ]


def _flag_counts(report: dict[str, Any]) -> dict[tuple[str, str], int]:
    return {(f["column"], f["code"]): f["count"] for f in report["flags"]}


def _date_format_mismatch(report: dict[str, Any]) -> list[Item]:
    """The suggested format reads fewer values than the one most values are in."""
    flags = _flag_counts(report)
    usable = report["rows"]["would_import"]
    items = []
    for column in report["columns"]:
        mapping = column.get("mapping") or {}
        target = fields.target(mapping.get("target") or "")
        if column["type"] != "date" or target is None or target.kind != "date":
            continue
        suggested = (mapping.get("options") or {}).get("format") or "auto"
        found = column["details"]["format"]
        flagged = flags.get((column["name"], "invalid_date"), 0)
        if found == suggested or found == "iso" and suggested == "auto" or not flagged:
            continue
        if flagged <= column["invalid"]:
            continue  # the suggested format reads every value that can be read
        items.append(
            _item(
                "dates.format",
                "high",
                flagged,
                usable,
                f"{_count(flagged, 'date')} in '{column['name']}' would be flagged with the "
                f"suggested format {date_label(suggested)}",
                f"Most values are {date_label(found)}: choose that format on the mapping step "
                f"(then {column['invalid']:,} would be flagged).",
                column["name"],
            )
        )
    return items


def _ambiguous_dates(report: dict[str, Any]) -> list[Item]:
    items = []
    rows = report["rows"]["readable"]
    for column in report["columns"]:
        if column["type"] != "date":
            continue
        evidence = column["details"].get("day_month")
        if not evidence:
            continue
        day, month, either = (
            evidence["day_first_only"],
            evidence["month_first_only"],
            evidence["either"],
        )
        name = column["name"]
        if day and month:
            items.append(
                _item(
                    "dates.mixed_day_month",
                    "high",
                    min(day, month) + either,
                    rows,
                    f"Dates in '{name}' mix day-first and month-first",
                    f"{day:,} values can only be day first (31/12), {month:,} only month first "
                    f"(12/31), {either:,} either way: the column cannot be read with one "
                    "format; ask the source system which it means.",
                    name,
                )
            )
        elif either and not day and not month:
            items.append(
                _item(
                    "dates.ambiguous",
                    "high",
                    either,
                    rows,
                    f"Dates in '{name}' are ambiguous: dd/mm or mm/dd",
                    f"All {either:,} dates read both ways (no day above 12). Patron would "
                    "read them day first; check one with the source system and choose the "
                    "format on the mapping step.",
                    name,
                )
            )
        elif either:
            way = "month first (12/31/2024)" if month else "day first (31/12/2024)"
            items.append(
                _item(
                    "dates.resolved",
                    "low",
                    either,
                    rows,
                    f"{_count(either, 'date')} in '{name}' read both ways on their own",
                    f"The other {max(day, month):,} values can only be {way}, so the column "
                    "is read that way.",
                    name,
                )
            )
    return items


def _phones_without_country(report: dict[str, Any]) -> list[Item]:
    items = []
    for column in report["columns"]:
        if column["type"] != "phone":
            continue
        details = column["details"]
        n = details["national_without_country"]
        if not n:
            continue
        formats = len(details["national_formats"])
        regions = ", ".join(f"{r['region']} ({r['count']})" for r in details["likely_regions"])
        items.append(
            _item(
                "phones.no_country",
                "high",
                n,
                column["filled"],
                f"{_count(n, 'phone number')} in '{column['name']}' "
                f"{'has' if n == 1 else 'have'} no country code and no country in the row "
                f"({_count(formats, 'national format')})",
                "They would be flagged invalid. Set the source's default phone country"
                + (f"; of the numbers tried they fit {regions}." if regions else ".")
                + " A mapped country column is used row by row.",
                column["name"],
            )
        )
    return items


def _flags(report: dict[str, Any]) -> list[Item]:
    usable = report["rows"]["would_import"]
    items = []
    for flag in report["flags"]:
        lines = ", ".join(str(e["line"]) for e in flag["examples"][:3])
        n = flag["count"]
        items.append(
            _item(
                f"flag.{flag['code']}",
                "medium",
                n,
                usable,
                f"{n:,} × {flag['label'].lower()} in '{flag['column']}'",
                "The rows import; the value is kept raw in the source record and flagged. "
                f"First at line{'s' if len(flag['examples']) > 1 else ''} {lines}.",
                flag["column"],
            )
        )
    return items


def _no_contact_point(report: dict[str, Any]) -> list[Item]:
    points = report["contact_points"]
    n = points["rows_without_email_or_phone"]
    if not points["mapped"] or not n:
        return []
    usable = report["rows"]["would_import"]
    return [
        _item(
            "rows.no_email_or_phone",
            "medium",
            n,
            usable,
            f"{_count(n, 'row')}{_pct(n, usable)} {'has' if n == 1 else 'have'} no valid email "
            "and no valid phone",
            "They import, but nobody can reach these customers and they are hard to match "
            "with other systems.",
        )
    ]


def _duplicates(report: dict[str, Any]) -> list[Item]:
    dup = report["duplicates"]
    usable = report["rows"]["would_import"]
    about = "" if dup["exact"] else "about "
    items = []
    people = []
    for key in dup["keys"]:
        if not key["clusters"]:
            continue
        if key["key"] == "source_key":
            items.append(
                _item(
                    "duplicates.source_key",
                    "medium",
                    key["repeats"],
                    usable,
                    f"{about}{_count(key['repeats'], 'row')} "
                    f"{'repeats' if key['repeats'] == 1 else 'repeat'} the source key of an "
                    "earlier row",
                    "The later row wins: the earlier one is kept as a previous version of the "
                    "same record.",
                )
            )
        else:
            people.append(key)
    if people:
        repeats = dup["rows_repeating_a_person"]
        if repeats is None:
            repeats = max(k["repeats"] for k in people)
        pairs = "; ".join(
            f"{k['label'].lower()}: {about}{k['pairs']:,} pair{'s' if k['pairs'] != 1 else ''}"
            f" in {k['clusters']:,} group{'s' if k['clusters'] != 1 else ''}"
            for k in people
        )
        items.append(
            _item(
                "duplicates.people",
                "medium",
                repeats,
                usable,
                f"{about}{_count(repeats, 'row')}{_pct(repeats, usable)} "
                f"{'looks' if repeats == 1 else 'look'} like a customer already earlier in the "
                "file",
                f"{pairs[0].upper()}{pairs[1:]}. Each would become a customer of its own; "
                "merge them in the source system or after the import.",
            )
        )
    return items


def _decimal_comma(report: dict[str, Any]) -> list[Item]:
    items = []
    for column in report["columns"]:
        if column["type"] != "number" or column["details"]["convention"] != "comma":
            continue
        mapping = column.get("mapping") or {}
        target = fields.target(mapping.get("target") or "")
        if mapping.get("transform") == "decimal_comma":
            continue
        mapped = target is not None and target.kind == "number"
        n = column["details"]["decimal_comma"]
        items.append(
            _item(
                "numbers.decimal_comma",
                "high" if mapped else "low",
                n,
                column["filled"],
                f"'{column['name']}' writes numbers with a decimal comma (1.234,56)",
                "Choose the transform 'Number with decimal comma' when you map it"
                + (": as mapped, 1.234,56 would be read as 1.23456." if mapped else "."),
                column["name"],
            )
        )
    return items


def _overlap(report: dict[str, Any]) -> list[Item]:
    overlap = report["overlap"]
    if not overlap.get("checked") or not overlap["rows_matching"]:
        return []
    n = overlap["rows_matching"]
    usable = report["rows"]["would_import"]
    return [
        _item(
            "overlap.existing",
            "low",
            n,
            usable,
            f"{_count(n, 'row')}{_pct(n, usable)} {'matches' if n == 1 else 'match'} customers "
            "already in Patron",
            f"{overlap['rows_matching_email']:,} by email, {overlap['rows_matching_phone']:,} "
            "by phone. A new row with a known email joins that customer (unless the import is "
            "set to always create new records).",
        )
    ]


def _columns(report: dict[str, Any]) -> list[Item]:
    rows = report["rows"]["readable"]
    items = []
    unmapped = []
    for column in report["columns"]:
        name = column["name"]
        if rows and not column["filled"]:
            items.append(
                _item(
                    "columns.empty", "low", rows, rows, f"'{name}' is empty in every row", "", name
                )
            )
            continue
        if column["placeholders"]:
            n = sum(p["count"] for p in column["placeholders"])
            values = ", ".join(f"'{p['value']}'" for p in column["placeholders"][:3])
            items.append(
                _item(
                    "values.placeholder",
                    "low",
                    n,
                    column["filled"],
                    f"{_count(n, 'value')} in '{name}' {'stands' if n == 1 else 'stand'} for "
                    f"nothing: {values}",
                    "Leave such cells empty in the source system; as values they would be kept "
                    "(and flagged where they should be an email or phone).",
                    name,
                )
            )
        if 0 < column["completeness"] < 0.5:
            n = column["empty"]
            items.append(
                _item(
                    "columns.mostly_empty",
                    "low",
                    n,
                    rows,
                    f"'{name}' is empty in {_count(n, 'row')}{_pct(n, rows)}",
                    "",
                    name,
                )
            )
        if not (column.get("mapping") or {}).get("target"):
            unmapped.append(name)
    if unmapped:
        shown = ", ".join(f"'{n}'" for n in unmapped[:6]) + ("…" if len(unmapped) > 6 else "")
        items.append(
            _item(
                "mapping.unmapped",
                "low",
                len(unmapped),
                len(report["columns"]),
                f"{len(unmapped)} column{'s' if len(unmapped) != 1 else ''} would not be mapped",
                f"{shown}: kept in the source record only. Map them to a field or a custom "
                "field on the mapping step if Patron should use them.",
            )
        )
    return items


RULES: list[Callable[[dict[str, Any]], list[Item]]] = [
    _quarantined,
    _misdecoded,
    _date_format_mismatch,
    _ambiguous_dates,
    _phones_without_country,
    _decimal_comma,
    _flags,
    _no_contact_point,
    _duplicates,
    _overlap,
    _columns,
]
