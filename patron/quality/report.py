"""The readiness report as files people open: JSON (the report itself) and a standalone HTML
page whose charts are inline SVG drawn by the template (no JavaScript, nothing fetched).

`presentation()` adds only what the charts need (percentages and bar segments) beside the
report; the JSON stays exactly what `assess` produced.
"""

from __future__ import annotations

import base64
import json
from typing import Any

from django.template.loader import render_to_string

SEVERITY_LABELS = {"high": "Fix before importing", "medium": "Worth a look", "low": "Good to know"}
TYPE_COLOURS = {
    "email": "#4f46e5",
    "phone": "#0891b2",
    "date": "#b45309",
    "number": "#15803d",
    "boolean": "#7c3aed",
    "country": "#be185d",
    "name": "#1d4ed8",
    "identifier": "#475569",
    "text": "#64748b",
    "empty": "#cbd5e1",
}


def to_json(report: dict[str, Any]) -> str:
    return json.dumps(report, indent=2, ensure_ascii=False) + "\n"


def _pct(part: float, whole: float) -> float:
    return round(100 * part / whole, 2) if whole else 0.0


def _segments(parts: list[tuple[str, int, str]], whole: int) -> list[dict[str, Any]]:
    """Stacked bar pieces: label, count, width and x in percent, CSS class."""
    x = 0.0
    result = []
    for label, count, css in parts:
        width = _pct(count, whole)
        if count:
            result.append({"label": label, "count": count, "x": x, "width": width, "css": css})
        x = round(x + width, 2)
    return result


def _file_view(file: dict[str, Any]) -> dict[str, Any]:
    rows = file["rows"]
    clean = rows["would_import"] - rows["with_flags"]
    rows_bar = _segments(
        [
            ("would import as they are", clean, "ok"),
            ("would import with flagged values", rows["with_flags"], "warn"),
            ("would be quarantined", rows["quarantined"], "bad"),
        ],
        rows["records"],
    )
    largest_reason = max((q["count"] for q in file["quarantine"]), default=0)
    quarantine = [{**q, "width": _pct(q["count"], largest_reason)} for q in file["quarantine"]]
    columns = []
    for column in file["columns"]:
        filled = column["filled"]
        bar = _segments(
            [
                ("valid", column["valid"], "ok"),
                ("invalid", column["invalid"], "bad"),
                ("empty", column["empty"], "empty"),
            ],
            column["rows"],
        )
        formats = [
            {**f, "width": _pct(f["count"], filled), "share": _pct(f["count"], filled)}
            for f in column["formats"]
        ]
        columns.append(
            {
                "c": column,
                "bar": bar,
                "formats": formats,
                "colour": TYPE_COLOURS.get(column["type"], "#64748b"),
                "completeness_pct": round(100 * column["completeness"], 1),
                "validity_pct": round(100 * column["validity"], 1),
            }
        )
    largest = max((a["count"] for a in file["attention"]), default=0)
    attention = [
        {
            **item,
            "width": _pct(item["count"], largest),
            "share_pct": round(100 * item["share"], 1),
            "severity_label": SEVERITY_LABELS[item["severity"]],
        }
        for item in file["attention"]
    ]
    dup = file["duplicates"]
    largest_dup = max((k["rows_sharing"] for k in dup["keys"]), default=0)
    duplicates = [{**k, "width": _pct(k["rows_sharing"], largest_dup)} for k in dup["keys"]]
    overlap = file["overlap"]
    overlap_bar = []
    if overlap.get("checked"):
        overlap_bar = _segments(
            [
                ("match customers in Patron", overlap["rows_matching"], "info"),
                (
                    "new to Patron",
                    overlap["rows_checked"] - overlap["rows_matching"],
                    "empty",
                ),
            ],
            overlap["rows_checked"],
        )
    delimiter = file["file"]["delimiter"]
    return {
        "f": file,
        "delimiter_label": {"\t": "tab", ",": "comma", ";": "semicolon", "|": "bar"}.get(
            delimiter, delimiter
        ),
        "rows_bar": rows_bar,
        "quarantine": quarantine,
        "columns": columns,
        "attention": attention,
        "high": sum(1 for a in attention if a["severity"] == "high"),
        "duplicates": duplicates,
        "overlap_bar": overlap_bar,
    }


def presentation(report: dict[str, Any]) -> dict[str, Any]:
    """The template's context: the report and, per file, the chart geometry."""
    return {
        "report": report,
        "files": [_file_view(f) for f in report["files"]],
        "json_data_uri": "data:application/json;base64,"
        + base64.b64encode(to_json(report).encode("utf-8")).decode("ascii"),
    }


def render_html(report: dict[str, Any]) -> str:
    """The whole report as one standalone HTML document."""
    return render_to_string("quality/readiness_report.html", presentation(report))
