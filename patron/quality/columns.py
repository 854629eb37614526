"""One column's profile, built a value at a time: what the values are (email, phone, date, …),
how many are filled and valid, the formats they come in and the first problems.

Validity uses the importer's own parsers (`integration.fields`): a value counted invalid here
is one the import would flag. Each value is checked only against the types its shape allows
(a value without "@" is no email, without digits no date), and results are memoised per
column for repeated values, so a column costs a few microseconds a row.
"""

from __future__ import annotations

import re
from typing import Any

import phonenumbers

from patron.integration import fields
from patron.integration.fields import Problem, Target

from .sketches import FirstExamples, ValueCounts

TYPE_LABELS = {
    "email": "Email",
    "phone": "Phone",
    "date": "Date",
    "number": "Number",
    "boolean": "Yes / no",
    "country": "Country",
    "name": "Name",
    "identifier": "Identifier / code",
    "text": "Free text",
    "empty": "Empty",
}

# Date formats by the shape of the value; each is tried with `fields.parse_date(value, fmt)`.
# "iso" is Patron's detection reading an ISO date (with or without a time), "auto" its
# detection of each value on its own (ISO, 31.12.2024, 31/12/2024, …, Excel numbers).
_TIMES = ("", " %H:%M", " %H:%M:%S")
_DATE_SHAPES: list[tuple[re.Pattern[str], tuple[str, ...]]] = [
    (re.compile(r"^\d{4}-\d{2}-\d{2}(?:[T ].*)?$"), ("iso",)),
    (re.compile(r"^\d{1,2}\.\d{1,2}\.\d{4}(?P<time> \d{1,2}:\d{2}(?::\d{2})?)?$"), ("%d.%m.%Y",)),
    (re.compile(r"^\d{1,2}\.\d{1,2}\.\d{2}(?P<time> \d{1,2}:\d{2}(?::\d{2})?)?$"), ("%d.%m.%y",)),
    (
        re.compile(r"^\d{1,2}/\d{1,2}/\d{4}(?P<time> \d{1,2}:\d{2}(?::\d{2})?)?$"),
        ("%d/%m/%Y", "%m/%d/%Y"),
    ),
    (
        re.compile(r"^\d{1,2}-\d{1,2}-\d{4}(?P<time> \d{1,2}:\d{2}(?::\d{2})?)?$"),
        ("%d-%m-%Y", "%m-%d-%Y"),
    ),
    (re.compile(r"^\d{4}/\d{1,2}/\d{1,2}$"), ("%Y/%m/%d",)),
    (re.compile(r"^(?:19|20)\d{6}$"), ("%Y%m%d",)),
]
DATE_FORMATS = [
    "iso",
    *[
        f + t
        for f in ("%d.%m.%Y", "%d.%m.%y", "%d/%m/%Y", "%m/%d/%Y", "%d-%m-%Y", "%m-%d-%Y")
        for t in _TIMES
    ],
    "%Y/%m/%d",
    "%Y%m%d",
    "excel",
]
_DAY_MONTH_PAIRS = {
    day + t: month + t
    for day, month in (("%d/%m/%Y", "%m/%d/%Y"), ("%d-%m-%Y", "%m-%d-%Y"))
    for t in _TIMES
}
_MONTH_FIRST = set(_DAY_MONTH_PAIRS.values())


def date_label(fmt: str) -> str:
    """A format as people read it: "%d.%m.%Y" -> "31.12.2024"."""
    if fmt == "iso":
        return "2024-12-31 (ISO, with or without a time)"
    if fmt == "excel":
        return "Excel serial number (45657)"
    if fmt == "auto":
        return "mixed (Patron detects each value)"
    for code, sample in (
        ("%d", "31"),
        ("%m", "12"),
        ("%Y", "2024"),
        ("%y", "24"),
        ("%H", "23"),
        ("%M", "59"),
        ("%S", "58"),
    ):
        fmt = fmt.replace(code, sample)
    return fmt


_EXCEL = re.compile(r"^\d{5}(?:\.\d+)?$")

_PHONE = re.compile(r"^(?:\+|00)?[\d\s().\-/]{6,24}$")
_PHONE_SEPARATED = re.compile(r"^\+|[\s\-./()]")
_NUMBER = re.compile(
    r"^[+-]?(?:[€$£¥]\s?)?\d[\d.,'\u00a0 ]*(?:\s?(?:[€$£¥]|EUR|USD|GBP|CHF))?$", re.IGNORECASE
)
_THOUSANDS_COMMA = re.compile(r"^[+-]?\d{1,3}(?:,\d{3})+$")
_THOUSANDS_POINT = re.compile(r"^[+-]?\d{1,3}(?:\.\d{3})+$")
_NAME = re.compile(r"^[^\W\d_]+(?:[\s'’.,\-]+[^\W\d_]+)*\.?$")
_IDENTIFIER = re.compile(r"^[\w\-./#:]+$")
_HAS_DIGIT = re.compile(r"\d")
# UTF-8 read as Windows-1252: "Jürgen" becomes "JÃ¼rgen", "–" becomes "â€“".
_MOJIBAKE = re.compile(
    "[\u00c2-\u00c5\u00e2][\u0080-\u00bf\u0152\u0153\u0160\u0161\u0178\u017d\u017e"
    "\u0192\u02c6\u02dc\u2013\u2014\u2018-\u201e\u2020-\u2022\u2026\u2030\u2039"
    "\u203a\u20ac\u2122]"
)

PLACEHOLDERS = {
    "n/a", "na", "n.a.", "-", "--", "---", "?", "??", "null", "none", "nil", "unknown",
    "unbekannt", "keine", "k.a.", "tbd", "xxx", "x", "test", ".", "0000000",
}  # fmt: skip
BOOLEAN_WORDS = (fields.TRUE_WORDS | fields.FALSE_WORDS) - {""}

# Countries whose national numbers are tried when a file gives no country for a phone number.
COMMON_REGIONS = [
    "DE", "GB", "FR", "US", "NL", "AT", "CH", "ES", "IT", "BE", "IE", "PL", "SE", "DK", "CA", "AU",
]  # fmt: skip

CACHE_LIMIT = 1024
COUNTRY_WARM_UP = 200  # values looked up before a column with few countries stops
EXAMPLES = 5
REGION_PROBES = 300


_SHAPE_ASCII = str.maketrans(
    "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789\t\r\n",
    "A" * 26 + "a" * 26 + "9" * 10 + "   ",
)
_SHAPE_RUNS = [
    (re.compile(r"A+a[Aa]*"), "Aa"),
    (re.compile(r"(?<!A)a[Aa]*"), "a"),
    (re.compile(r"A+(?!a)"), "A"),
    (re.compile(r"\s+"), " "),
]


def shape(value: str, limit: int = 32) -> str:
    """The value's format: a word as Aa (capitalised), A (capitals) or a (lower case), each
    digit as 9, the rest as is: "MÜLLER, Hans" -> "A, Aa", "+49 30 1234567" -> "+99 99 9999999"."""
    if value.isascii():
        text = value.translate(_SHAPE_ASCII)
    else:
        text = "".join(
            "9" if ch.isdigit() else ("A" if ch.isupper() else "a") if ch.isalpha() else ch
            for ch in value
        )
    for pattern, replacement in _SHAPE_RUNS:
        text = pattern.sub(replacement, text)
    return text if len(text) <= limit else text[:limit] + "…"


class ColumnProfile:
    """Everything the report says about one column, accumulated row by row."""

    def __init__(self, name: str, position: int, hint: Target | None = None) -> None:
        self.name = name
        self.position = position
        self.hint = hint
        self.hint_kind = hint.kind if hint else ""
        self.hint_key = hint.key if hint else ""
        self.filled = 0
        self.placeholders = ValueCounts(capacity=50)
        self.values = ValueCounts()
        self.shapes = ValueCounts(capacity=200)
        self.shape_examples: dict[str, str] = {}
        self.ok: dict[str, int] = {}  # filled in by `tally()`
        self.check_sets: dict[frozenset[str], int] = {}
        self.phone_checks: dict[str, int] = {}
        self.failures: dict[str, FirstExamples] = {}
        self.min_length = 0
        self.max_length = 0
        self.total_length = 0
        self.too_long = FirstExamples(EXAMPLES)
        self.mojibake = FirstExamples(3)
        self.national_phones = ValueCounts(capacity=50)  # national formats (shapes)
        self.region_votes: dict[str, int] = {}
        self.region_probes = 0
        self._cache: dict[str, tuple[frozenset[str], str]] = {}
        self._phone_cache: dict[tuple[str, str], bool] = {}
        self.country_checks = 0
        self._country_hits = 0
        self._checks = _checks_for(self.hint_kind)
        self._open = list(self._checks)

    # -- one value ----------------------------------------------------------------------

    def add(self, line: int, value: str, region: str = "") -> None:
        """Count one value. Kept cheap in allocations: a value's checks are one shared set,
        counted once per value and spread over the checks at the end (`tally`)."""
        if not value:
            return
        self.filled += 1
        length = len(value)
        if self.filled == 1 or length < self.min_length:
            self.min_length = length
        if length > self.max_length:
            self.max_length = length
        self.total_length += length
        self.values.add(value)
        cached = self._cache.get(value)
        if cached is None:
            cached = (_interned(self._classify(value)), _interned(shape(value)))
            if len(self._cache) < CACHE_LIMIT:
                self._cache[value] = cached
        ok, pattern = cached
        self.shapes.add(pattern)
        if pattern not in self.shape_examples and len(self.shape_examples) < 200:
            self.shape_examples[pattern] = value
        if "mojibake" in ok and not self.mojibake.full:
            self.mojibake.add(line=line, value=value[:200])
        self.check_sets[ok] = self.check_sets.get(ok, 0) + 1
        if "country?" in ok and self.country_checks < COUNTRY_WARM_UP:
            self.country_checks += 1
            self._country_hits += "country" in ok
            if self.country_checks == COUNTRY_WARM_UP and self._country_hits < COUNTRY_WARM_UP // 4:
                self._country_hits = 0  # clearly no country column: stop looking up names
        if "placeholder" in ok:
            self.placeholders.add(value)
        phone = "phone~" in ok and self._phone(value, region, "phone+intl" in ok)
        if phone:
            self.phone_checks[phone] = self.phone_checks.get(phone, 0) + 1
        if self.hint and self.hint.max_length and length > self.hint.max_length:
            self.too_long.add(line=line, value=value[:200])
        if self._open:
            closed = False
            for check in self._open:
                if check not in ok and check != phone:
                    failures = self.failures.setdefault(check, FirstExamples(EXAMPLES))
                    failures.add(line=line, value=value[:200], region=region)
                    closed = closed or failures.full
            if closed:
                self._open = [
                    c for c in self._open if c not in self.failures or not self.failures[c].full
                ]

    def tally(self) -> dict[str, int]:
        """How many values passed each check."""
        counts = dict(self.phone_checks)
        for checks, n in self.check_sets.items():
            for check in checks:
                counts[check] = counts.get(check, 0) + n
        self.ok = counts
        return counts

    def _classify(self, value: str) -> frozenset[str]:
        """The checks `value` passes (memoised by the caller); phones are checked apart
        because their validity depends on the row's country."""
        ok: set[str] = set()
        lowered = value.lower()
        if lowered in PLACEHOLDERS:
            ok.add("placeholder")
        if " " in value.strip():
            ok.add("words")
        if not value.isascii() and _MOJIBAKE.search(value):
            ok.add("mojibake")
        if "@" in value:
            ok.add("email~")
            try:
                fields.parse_email(value)
                ok.add("email")
            except Problem:
                pass
            if value != lowered:
                ok.add("email!case")
        if lowered in BOOLEAN_WORDS:
            ok.add("boolean")
        has_digit = bool(_HAS_DIGIT.search(value))
        date_like = has_digit and value[0].isdigit() and self._dates(value, ok)
        if has_digit and not date_like:
            if _NUMBER.match(value):
                self._number(value, ok)
            if _PHONE.match(value) and (
                self.hint_kind == "phone"
                or (self.hint_key not in CODE_TARGETS and _PHONE_SEPARATED.search(value))
            ):
                digits = sum(ch.isdigit() for ch in value)
                if 6 <= digits <= 17:
                    ok.add("phone~")
                    if value.startswith(("+", "00")):
                        ok.add("phone+intl")
        if not has_digit and "@" not in value and len(value) <= 60 and value.count(" ") < 6:
            if self.country_checks < COUNTRY_WARM_UP or self._country_hits:
                ok.add("country?")
                try:
                    fields.parse_country(value)
                    ok.add("country")
                except Problem:
                    pass
            if _NAME.match(value):
                ok.add("name~")
        if has_digit and " " not in value and len(value) <= 64 and _IDENTIFIER.match(value):
            ok.add("identifier~")
        return frozenset(ok)

    def _dates(self, value: str, ok: set[str]) -> bool:
        for pattern, formats in _DATE_SHAPES:
            match = pattern.match(value)
            if match is None:
                continue
            ok.add("date~")
            time = match.groupdict().get("time") or ""
            suffix = _TIMES[time.count(":")]
            passed = []
            for fmt in formats:
                try:
                    fields.parse_date(value, "auto" if fmt == "iso" else fmt + suffix)
                except Problem:
                    continue
                passed.append(fmt)
                ok.add("date:" + (fmt if fmt == "iso" else fmt + suffix))
            if len(formats) == 2 and len(passed) == 2:
                ok.add("date!either")
            if passed and (fmt == "iso" or not suffix):
                ok.add("date:auto")  # what Patron's detection (the "Detect" format) reads
            return True
        if _EXCEL.match(value) and self.hint_kind == "date":
            ok.add("date~")
            try:
                fields.parse_date(value, "excel")
                ok.update(("date:excel", "date:auto"))
            except Problem:
                pass
            return True
        return False

    def _number(self, value: str, ok: set[str]) -> None:
        bare = value.strip("+-€$£¥ ").replace("\u00a0", "").replace(" ", "")
        if bare.isdigit():
            evidence = "int"
            if len(bare) > 1 and bare.startswith("0"):
                ok.add("number!lead0")
        elif "," in bare and "." in bare:
            evidence = "comma" if bare.rfind(",") > bare.rfind(".") else "point"
        elif "," in bare:
            evidence = "ambiguous" if _THOUSANDS_COMMA.match(bare) else "comma"
        elif "." in bare:
            evidence = "ambiguous" if _THOUSANDS_POINT.match(bare) else "point"
        else:
            evidence = "int"
        ok.add("number~")
        ok.add(f"number!{evidence}")
        for convention, comma in (("point", False), ("comma", True)):
            if evidence in ("point", "comma") and evidence != convention:
                continue
            try:
                fields.parse_number(value, comma)
            except Problem:
                continue
            ok.add(f"number:{convention}")

    def _phone(self, value: str, region: str, international: bool) -> str:
        """ "phone" when the importer would read the number in the row's country (or as an
        international number), "phone!noregion" for a national number with no country."""
        if not international and not region:
            self.national_phones.add(shape(value))
            if self.region_probes < REGION_PROBES:
                self.region_probes += 1
                for candidate in COMMON_REGIONS:
                    try:
                        number = phonenumbers.parse(value, candidate)
                    except phonenumbers.NumberParseException:
                        break
                    if phonenumbers.is_valid_number(number):
                        self.region_votes[candidate] = self.region_votes.get(candidate, 0) + 1
            return "phone!noregion"
        key = (value, "" if international else region)
        valid = self._phone_cache.get(key)
        if valid is None:
            try:
                fields.parse_phone(value, key[1])
                valid = True
            except Problem:
                valid = False
            if len(self._phone_cache) < CACHE_LIMIT:
                self._phone_cache[key] = valid
        return "phone" if valid else ""

    # -- the verdict --------------------------------------------------------------------

    def count(self, check: str) -> int:
        return self.ok.get(check, 0)

    def infer(self) -> tuple[str, str]:
        """(type, check that decides validity) from the shares of values of each kind; the
        suggested mapping's target breaks ties (a header saying "zip" makes 5 digits a code)."""
        filled, hint = self.filled, self.hint_kind
        key = self.hint_key
        if not filled:
            return "empty", ""

        def share(check: str) -> float:
            return self.count(check) / filled

        if share("email~") >= 0.5 or (hint == "email" and share("email~") >= 0.2):
            return "email", "email"
        if share("date~") >= 0.6 or (hint == "date" and share("date~") >= 0.3):
            return "date", f"date:{self.date_format()}"
        if share("boolean") >= 0.95 and self.values.distinct() <= 6 and hint != "number":
            return "boolean", "boolean"
        if share("phone~") >= 0.6 or (hint == "phone" and share("phone~") >= 0.3):
            return "phone", "phone"
        if share("number~") >= 0.8:
            if (
                self.count("number!lead0")
                or key in CODE_TARGETS
                or (hint not in ("number",) and share("identifier~") >= 0.8 and self._unique())
            ):
                return "identifier", "fits"
            return "number", f"number:{self.number_convention()}"
        # Country names are looked up in every value only when the first ones were countries.
        countries = self.count("country") / max(self.count("country?"), 1)
        if (countries >= 0.8 and self.values.distinct() <= 300) or (
            hint == "country" and countries >= 0.5
        ):
            return "country", "country"
        if hint == "name" or key in NAME_TARGETS:
            return "name", "fits"
        if hint not in ("text", "tags") and share("name~") >= 0.8 and share("words") >= 0.7:
            return "name", "fits"
        if share("identifier~") >= 0.8 or key in CODE_TARGETS:
            return "identifier", "fits"
        return "text", "fits"

    def _unique(self) -> bool:
        return self.values.distinct() >= 0.9 * self.filled

    def date_format(self) -> str:
        """The format most date values are in, day or month first as the values that can be
        read only one way say; "auto" when they come in several formats that Patron's
        detection reads (ISO and 31.12.2024, say)."""
        counts = {fmt: self.count(f"date:{fmt}") for fmt in DATE_FORMATS}
        counts = {fmt: n for fmt, n in counts.items() if n}
        if not counts:
            return "auto"
        best = max(counts, key=lambda fmt: (counts[fmt], fmt in _DAY_MONTH_PAIRS))
        day_first = next((d for d, m in _DAY_MONTH_PAIRS.items() if best in (d, m)), None)
        if day_first is not None:
            evidence = self.day_month(day_first)
            if evidence["month_first_only"] > evidence["day_first_only"]:
                best = _DAY_MONTH_PAIRS[day_first]
            elif evidence["day_first_only"] > evidence["month_first_only"]:
                best = day_first
        if self.count("date:auto") > counts[best] and best not in _MONTH_FIRST:
            return "auto"
        return best

    def day_month(self, day_first: str) -> dict[str, int]:
        """Values readable only day-first, only month-first, or both ways."""
        both = self.count("date!either")
        return {
            "day_first_only": self.count(f"date:{day_first}") - both,
            "month_first_only": self.count(f"date:{_DAY_MONTH_PAIRS[day_first]}") - both,
            "either": both,
        }

    def number_convention(self) -> str:
        comma, point = self.count("number!comma"), self.count("number!point")
        return "comma" if comma > point else "point"

    # -- as data ------------------------------------------------------------------------

    def result(self, rows: int) -> dict[str, Any]:
        self.tally()
        kind, check = self.infer()
        filled = self.filled
        if check == "fits":
            invalid = self.too_long.total + sum(n for _, n in self.placeholders.top(50))
            examples = [
                {**e, "message": "Longer than the field it maps to."} for e in self.too_long.items
            ]
            examples += [
                {"line": None, "value": v, "message": f"A placeholder, not a value ({n}×)."}
                for v, n in self.placeholders.top(3)
            ]
        else:
            failures = self.failures.get(check) or FirstExamples()
            invalid = filled - self.count(check)
            examples = [
                {
                    "line": e["line"],
                    "value": e["value"],
                    "message": self._message(kind, check, e["value"], e["region"]),
                }
                for e in failures.items[:EXAMPLES]
            ]
        valid = filled - invalid
        shapes = [
            {"pattern": p, "count": n, "example": self.shape_examples.get(p, "")}
            for p, n in self.shapes.top(8)
        ]
        data: dict[str, Any] = {
            "name": self.name,
            "position": self.position,
            "type": kind,
            "type_label": TYPE_LABELS[kind],
            "rows": rows,
            "filled": filled,
            "empty": rows - filled,
            "completeness": _ratio(filled, rows),
            "valid": valid,
            "invalid": invalid,
            "validity": _ratio(valid, filled),
            "distinct": {"count": self.values.distinct(), "exact": self.values.exact},
            "formats": shapes,
            "format_count": self.shapes.distinct(),
            "length": {
                "min": self.min_length,
                "max": self.max_length,
                "mean": round(self.total_length / filled, 1) if filled else 0,
            },
            "placeholders": [{"value": v, "count": n} for v, n in self.placeholders.top(5)],
            "misdecoded": {"count": self.count("mojibake"), "examples": self.mojibake.items},
            "problems": examples,
            "top_values": self._top_values(kind),
            "details": self._details(kind, check),
        }
        return data

    def _top_values(self, kind: str) -> list[dict[str, Any]]:
        """The most common values, where they say something (not for unique identifiers)."""
        top = [(v, n) for v, n in self.values.top(10) if n > 1 or self.values.distinct() <= 10]
        return [{"value": v[:80], "count": n} for v, n in top]

    def _details(self, kind: str, check: str) -> dict[str, Any]:
        if kind == "date":
            fmt = check.partition(":")[2]
            formats = {f: self.count(f"date:{f}") for f in DATE_FORMATS}
            details: dict[str, Any] = {
                "format": fmt,
                "format_label": date_label(fmt),
                "formats": [
                    {"format": f, "label": date_label(f), "count": n}
                    for f, n in sorted(formats.items(), key=lambda item: -item[1])
                    if n
                ],
                "readable_by_detection": self.count("date:auto"),
                "with_time": any(n and "%H" in f for f, n in formats.items()),
            }
            for day_first, month_first in _DAY_MONTH_PAIRS.items():
                if formats[day_first] or formats[month_first]:
                    details["day_month"] = self.day_month(day_first)
                    break
            return details
        if kind == "phone":
            national = self.count("phone!noregion")
            votes = sorted(
                self.region_votes.items(),
                key=lambda item: (-item[1], COMMON_REGIONS.index(item[0])),
            )
            return {
                "international": self.count("phone+intl"),
                "national": self.count("phone~") - self.count("phone+intl"),
                "national_without_country": national,
                "national_formats": [
                    {"pattern": p, "count": n} for p, n in self.national_phones.top(5)
                ],
                "likely_regions": [
                    {"region": r, "count": n} for r, n in votes[:4] if n >= 0.1 * self.region_probes
                ],
            }
        if kind == "number":
            return {
                "convention": self.number_convention(),
                "decimal_comma": self.count("number!comma"),
                "decimal_point": self.count("number!point"),
                "whole": self.count("number!int"),
                "ambiguous": self.count("number!ambiguous"),
            }
        if kind == "email":
            return {"not_lower_case": self.count("email!case")}
        if kind == "identifier":
            return {"leading_zeros": self.count("number!lead0"), "unique": self._unique()}
        return {}

    def _message(self, kind: str, check: str, value: str, region: str) -> str:
        """What the importer would say about `value` (its own parser's message)."""
        try:
            if kind == "email":
                fields.parse_email(value)
            elif kind == "phone":
                fields.parse_phone(value, "" if value.startswith(("+", "00")) else region)
            elif kind == "date":
                fmt = check.partition(":")[2]
                fields.parse_date(value, "auto" if fmt == "iso" else fmt)
            elif kind == "number":
                fields.parse_number(value, check.endswith("comma"))
            elif kind == "country":
                fields.parse_country(value)
            elif kind == "boolean":
                fields.parse_boolean(value)
        except Problem as exc:
            return exc.message
        return f"Not a {TYPE_LABELS[kind].lower()} like the rest of the column."


CODE_TARGETS = {"source_key", "address.postal_code"}
NAME_TARGETS = {
    "contact.full_name",
    "contact.first_name",
    "contact.middle_name",
    "contact.last_name",
    "account.name",
}


_INTERNED: dict[Any, Any] = {}


def _interned(value: Any) -> Any:
    """One shared object per distinct check set or format: a column's memo holds thousands
    of values but only a few dozen of these."""
    if len(_INTERNED) > 10_000:
        _INTERNED.clear()
    return _INTERNED.setdefault(value, value)


def _checks_for(hint_kind: str) -> list[str]:
    """The checks whose failures are worth examples (one list per possible verdict)."""
    checks = ["email", "phone", "boolean", "country"]
    checks += [f"date:{fmt}" for fmt in (*DATE_FORMATS, "auto")]
    checks += ["number:point", "number:comma"]
    return checks


def _ratio(part: int, whole: int) -> float:
    return round(part / whole, 4) if whole else 0.0
