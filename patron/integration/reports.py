"""What users read about an import: its progress (rate, ETA) and its error file."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

from django.utils import timezone

from .models import ImportRun, QuarantinedRow, SourceRecord


@dataclass
class RunProgress:
    rows_done: int
    total_rows: int | None
    percent: int | None
    rate: float | None  # rows per second since the run (re)started
    eta_seconds: int | None
    elapsed_seconds: int | None


def run_progress(run: ImportRun) -> RunProgress:
    total = run.total_rows
    done = run.rows_done
    percent = None
    if total:
        percent = min(100, int(done * 100 / total))
    elif run.file_size and run.bytes_done:
        percent = min(99, int(run.bytes_done * 100 / run.file_size))
    if run.status == ImportRun.Status.COMPLETED:
        percent = 100
    rate = eta = elapsed = None
    started = run.resumed_at or run.started_at
    if started is not None:
        end = run.finished_at if not run.is_active and run.finished_at else timezone.now()
        seconds = max((end - started).total_seconds(), 0.001)
        rate = (done - run.rows_at_resume) / seconds
        elapsed = int((end - (run.started_at or started)).total_seconds())
        if run.is_active and rate > 0 and total and total > done:
            eta = int((total - done) / rate)
    return RunProgress(done, total, percent, rate, eta, elapsed)


ERROR_FILE_HEADER = ["line", "problem", "column", "message", "value"]


def error_rows(run: ImportRun) -> Iterator[list[Any]]:
    """The downloadable error file: every quarantined row (with its raw columns) and every
    flagged value of the rows that were imported, in line order."""
    quarantined = QuarantinedRow.objects.filter(run=run).order_by("line", "id")
    flagged = (
        SourceRecord.objects.filter(last_run=run)
        .exclude(problems=[])
        .order_by("line", "id")
        .values_list("line", "problems", "payload")
    )
    raw_columns: list[str] = []
    for q in quarantined[:1000]:
        if isinstance(q.raw, dict):
            raw_columns += [k for k in q.raw if k not in raw_columns]
    yield ERROR_FILE_HEADER + [f"raw: {c}" for c in raw_columns]
    items: list[tuple[int, list[Any]]] = []
    for q in quarantined.iterator(chunk_size=2000):
        raw = q.raw if isinstance(q.raw, dict) else {}
        value = ""
        if isinstance(q.raw, list):
            value = " | ".join(str(v) for v in q.raw)
        elif isinstance(q.raw, dict) and "text" in q.raw:
            value = str(q.raw["text"])
        items.append(
            (
                q.line,
                [q.line, q.reason, "", q.message, value] + [raw.get(c, "") for c in raw_columns],
            )
        )
    for line, problems, _payload in flagged.iterator(chunk_size=2000):
        for problem in problems:
            items.append(
                (
                    line or 0,
                    [
                        line,
                        problem.get("code", ""),
                        problem.get("column", ""),
                        problem.get("message", ""),
                        problem.get("value", ""),
                    ]
                    + [""] * len(raw_columns),
                )
            )
    items.sort(key=lambda item: item[0])
    for _, row in items:
        yield row


def top_problems(run: ImportRun, limit: int = 8) -> list[tuple[str, int, str]]:
    """(code, count, explanation) of the most frequent problems."""
    counts = sorted((run.problem_counts or {}).items(), key=lambda kv: -kv[1])[:limit]
    return [(code, n, PROBLEM_TEXT.get(code, code)) for code, n in counts]


PROBLEM_TEXT = {
    "ragged": "Rows with more or fewer fields than the header (quarantined)",
    "undecodable": "Rows with bytes invalid in the file's encoding (quarantined)",
    "unreadable": "Rows the reader could not parse (quarantined)",
    "invalid_json": "Lines that are not a JSON object (quarantined)",
    "no_name": "Rows without a name (quarantined)",
    "no_key": "Rows with an empty source key (quarantined)",
    "database": "Rows the database refused (quarantined)",
    "nul_character": "Rows holding a NUL character (byte 0) (quarantined)",
    "key_too_long": "Rows whose source key is longer than 255 characters (quarantined)",
    "forbidden": "Rows feeding a customer the importing user may not change (quarantined)",
    "out_of_range": "Numbers too large for the field (kept raw)",
    "invalid_email": "Email addresses that are not valid (kept raw)",
    "invalid_phone": "Phone numbers that are not possible (kept raw)",
    "invalid_date": "Dates that could not be read (kept raw)",
    "invalid_number": "Numbers that could not be read (kept raw)",
    "invalid_country": "Unknown countries (kept raw)",
    "invalid_choice": "Values outside the allowed choices (kept raw)",
    "invalid_boolean": "Values that are neither yes nor no (kept raw)",
    "too_long": "Values longer than the field holds (kept raw)",
}
