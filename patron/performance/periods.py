"""Forecast periods: a month ("2026-11"), a quarter ("2026-Q4") or a year ("2026")."""

from __future__ import annotations

import calendar
import datetime
import re
from dataclasses import dataclass

from django.core.exceptions import ValidationError

PATTERN = r"^\d{4}(-(0[1-9]|1[0-2])|-[Qq][1-4])?$"
_PATTERN = re.compile(PATTERN)
MIN_YEAR, MAX_YEAR = 1900, 2999


@dataclass(frozen=True)
class Period:
    """A calendar period, named by its kind and first day."""

    kind: str  # "month", "quarter" or "year"
    start: datetime.date

    @property
    def end(self) -> datetime.date:
        """The last day (inclusive)."""
        months = {"month": 1, "quarter": 3, "year": 12}[self.kind]
        month = self.start.month + months - 1
        year = self.start.year + (month - 1) // 12
        month = (month - 1) % 12 + 1
        return datetime.date(year, month, calendar.monthrange(year, month)[1])

    @property
    def label(self) -> str:
        """The period's name as the API and the URLs take it: 2026, 2026-Q4, 2026-11."""
        if self.kind == "year":
            return f"{self.start.year}"
        if self.kind == "quarter":
            return f"{self.start.year}-Q{(self.start.month - 1) // 3 + 1}"
        return f"{self.start.year}-{self.start.month:02d}"

    @property
    def title(self) -> str:
        """The period for people: "Q4 2026", "November 2026", "2026"."""
        if self.kind == "year":
            return f"{self.start.year}"
        if self.kind == "quarter":
            return f"Q{(self.start.month - 1) // 3 + 1} {self.start.year}"
        return f"{calendar.month_name[self.start.month]} {self.start.year}"

    def contains(self, day: datetime.date) -> bool:
        return self.start <= day <= self.end

    def shifted(self, steps: int) -> Period:
        """The period `steps` periods later (earlier when negative)."""
        months = {"month": 1, "quarter": 3, "year": 12}[self.kind] * steps
        index = self.start.year * 12 + self.start.month - 1 + months
        return Period(self.kind, datetime.date(index // 12, index % 12 + 1, 1))

    def __str__(self) -> str:
        return self.label


def parse(value: str) -> Period:
    """ "2026-Q4", "2026-11" or "2026" → Period; ValidationError on anything else."""
    text = (value or "").strip()
    if not _PATTERN.match(text):
        raise ValidationError(
            {"period": ["Use a year (2026), a quarter (2026-Q4) or a month (2026-11)."]}
        )
    year = int(text[:4])
    if not MIN_YEAR <= year <= MAX_YEAR:
        raise ValidationError({"period": [f"Use a year between {MIN_YEAR} and {MAX_YEAR}."]})
    if len(text) == 4:
        return Period("year", datetime.date(year, 1, 1))
    if text[5] in "Qq":
        quarter = int(text[6])
        return Period("quarter", datetime.date(year, 3 * quarter - 2, 1))
    return Period("month", datetime.date(year, int(text[5:7]), 1))


def containing(kind: str, day: datetime.date) -> Period:
    """The period of `kind` that contains `day`."""
    if kind == "year":
        return Period(kind, datetime.date(day.year, 1, 1))
    if kind == "quarter":
        return Period(kind, datetime.date(day.year, (day.month - 1) // 3 * 3 + 1, 1))
    if kind == "month":
        return Period(kind, datetime.date(day.year, day.month, 1))
    raise ValueError(f"Unknown period kind {kind!r}")


def of_record(kind: str, start: datetime.date) -> Period:
    """The period a quota or an assignment names; ValidationError if `start` does not begin one."""
    if kind not in ("month", "quarter", "year"):
        raise ValidationError({"period_kind": ["Choose month, quarter or year."]})
    period = containing(kind, start)
    if period.start != start:
        raise ValidationError({"period_start": [f"A {kind} starts on {period.start}."]})
    return period
