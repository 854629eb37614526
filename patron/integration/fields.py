"""What a column can become (targets), how a raw value is turned into one (transforms), and the
mapping suggested from a file's header names and contents.

A mapping column is `{"column": "customer_name", "target": "contact.full_name",
"transform": "last_first", "options": {...}}`. Normalising a row never raises: a value that
fails is kept raw and reported as a problem `{"field", "code", "message", "value"}`; only the
importer decides that a whole row is unusable (no name, no key).
"""

from __future__ import annotations

import datetime
import decimal
import email.utils
import gettext
import re
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from functools import lru_cache
from typing import Any

import phonenumbers
import pycountry
from email_validator import EmailNotValidError, validate_email
from nameparser import HumanName

from patron.customers.models import LifecycleStage

# --- targets ----------------------------------------------------------------------------------

KEEP = ""  # not mapped: the value stays in the source record's payload only


@dataclass(frozen=True)
class Target:
    key: str
    label: str
    kind: str  # text, name, date, number, email, phone, country, choice, boolean, tags
    group: str
    entity: str = "both"  # contact, account or both
    max_length: int | None = None


CORE_TARGETS: list[Target] = [
    Target("source_key", "Source key (the system's own id)", "text", "Identity", max_length=255),
    Target("contact.full_name", "Full name (split)", "name", "Person", "contact"),
    Target("contact.prefix", "Title / prefix", "text", "Person", "contact", 20),
    Target("contact.first_name", "First name", "text", "Person", "contact", 100),
    Target("contact.middle_name", "Middle name", "text", "Person", "contact", 100),
    Target("contact.last_name", "Last name", "text", "Person", "contact", 100),
    Target("contact.suffix", "Suffix", "text", "Person", "contact", 20),
    Target("contact.job_title", "Job title", "text", "Person", "contact", 150),
    Target("contact.date_of_birth", "Date of birth", "date", "Person", "contact"),
    Target("contact.description", "Description / notes", "text", "Person", "contact"),
    Target("contact.lifecycle_stage", "Lifecycle stage", "choice", "Person", "contact"),
    Target("contact.tags", "Tags (comma separated)", "tags", "Person", "contact"),
    Target("account.name", "Company / account name", "text", "Organisation", "both", 200),
    Target("account.domain", "Website / domain", "text", "Organisation", "account", 200),
    Target("account.industry", "Industry", "text", "Organisation", "account", 100),
    Target("account.employee_count", "Employees", "number", "Organisation", "account"),
    Target("account.annual_revenue", "Annual revenue", "number", "Organisation", "account"),
    Target("account.description", "Description", "text", "Organisation", "account"),
    Target("account.lifecycle_stage", "Lifecycle stage", "choice", "Organisation", "account"),
    Target("account.tags", "Tags (comma separated)", "tags", "Organisation", "account"),
    Target("email", "Email", "email", "Contact points"),
    Target("email.work", "Email (work)", "email", "Contact points"),
    Target("email.personal", "Email (personal)", "email", "Contact points"),
    Target("phone", "Phone", "phone", "Contact points"),
    Target("phone.mobile", "Phone (mobile)", "phone", "Contact points"),
    Target("phone.work", "Phone (work)", "phone", "Contact points"),
    Target("phone.home", "Phone (home)", "phone", "Contact points"),
    Target("address.street", "Street", "text", "Address", max_length=200),
    Target("address.street2", "Street (line 2)", "text", "Address", max_length=200),
    Target("address.city", "City", "text", "Address", max_length=100),
    Target("address.region", "Region / state", "text", "Address", max_length=100),
    Target("address.postal_code", "Postal code", "text", "Address", max_length=20),
    Target("address.country", "Country", "country", "Address"),
]

_CORE = {t.key: t for t in CORE_TARGETS}


def targets_for(entity: str, custom_fields: Iterable[Any] = ()) -> list[Target]:
    """The targets a source of `entity` ("contact"/"account") can map to, custom fields last."""
    result = [t for t in CORE_TARGETS if t.entity in ("both", entity)]
    for definition in custom_fields:
        kind = {"text": "text", "number": "number", "date": "date", "boolean": "boolean"}.get(
            definition.field_type, "choice"
        )
        result.append(Target(f"custom.{definition.name}", definition.label, kind, "Custom fields"))
    return result


def target(key: str, custom_fields: dict[str, Any] | None = None) -> Target | None:
    if key in _CORE:
        return _CORE[key]
    if key.startswith("custom.") and custom_fields and key[7:] in custom_fields:
        definition = custom_fields[key[7:]]
        kind = {"text": "text", "number": "number", "date": "date", "boolean": "boolean"}.get(
            definition.field_type, "choice"
        )
        return Target(key, definition.label, kind, "Custom fields")
    return None


# --- value helpers ----------------------------------------------------------------------------


class Problem(Exception):
    """A value that could not be used; carries a stable code and a sentence for people."""

    def __init__(self, code: str, message: str) -> None:
        super().__init__(message)
        self.code = code
        self.message = message


# What the database columns hold (a PositiveIntegerField; a DecimalField of 16 digits, 2 after
# the point): larger values are flagged instead of failing the batch that writes them.
MAX_EMPLOYEES = 2_147_483_647
MAX_AMOUNT = decimal.Decimal(10) ** 14

TRUE_WORDS = {"true", "1", "yes", "y", "j", "ja", "oui", "si", "sí", "x", "on", "t"}
FALSE_WORDS = {"false", "0", "no", "n", "nein", "non", "off", "f", ""}

DATE_FORMATS = {
    "auto": "Detect",
    "%Y-%m-%d": "2024-12-31 (ISO)",
    "%d.%m.%Y": "31.12.2024",
    "%d/%m/%Y": "31/12/2024",
    "%m/%d/%Y": "12/31/2024",
    "%d-%m-%Y": "31-12-2024",
    "%Y%m%d": "20241231",
    "excel": "Excel serial number (45657)",
}

_EXCEL_EPOCH = datetime.date(1899, 12, 30)


def parse_date(raw: str, fmt: str = "auto") -> datetime.date:
    text = raw.strip()
    if fmt == "excel" or (fmt == "auto" and re.fullmatch(r"\d{5}(\.\d+)?", text)):
        try:
            serial = float(text)
        except ValueError:
            raise Problem("invalid_date", f"'{raw}' is not an Excel date number.") from None
        if not 1 <= serial < 2958466:
            raise Problem("invalid_date", f"'{raw}' is out of the Excel date range.")
        return _EXCEL_EPOCH + datetime.timedelta(days=int(serial))
    # A time of day after the date ("12/31/2024 23:59", "2024-12-31T08:00") is not part of it.
    date_part = re.split(r"[ T](?=\d{1,2}:\d{2})", text, maxsplit=1)[0]
    if fmt != "auto":
        for candidate in (text, date_part):
            try:
                return datetime.datetime.strptime(candidate, fmt).date()
            except ValueError:
                continue
        else:
            raise Problem(
                "invalid_date", f"'{raw}' is not a date in the form {DATE_FORMATS.get(fmt, fmt)}."
            ) from None
    text = date_part
    # Detect: ISO first (with or without time), then day-first European forms.
    try:
        return datetime.date.fromisoformat(text[:10])
    except ValueError:
        pass
    for candidate in ("%d.%m.%Y", "%d/%m/%Y", "%d-%m-%Y", "%m/%d/%Y", "%d.%m.%y", "%Y/%m/%d"):
        try:
            return datetime.datetime.strptime(text, candidate).date()
        except ValueError:
            continue
    raise Problem("invalid_date", f"'{raw}' is not a date Patron can read.")


_DECIMAL_COMMA_END = re.compile(r"\d,\d{1,2}$")


def parse_number(raw: str, decimal_comma: bool = False) -> decimal.Decimal:
    text = raw.strip().replace("\u00a0", "").replace(" ", "")
    text = re.sub(r"^[€$£¥]|[€$£¥]$|(EUR|USD|GBP|CHF)$", "", text, flags=re.IGNORECASE)
    if not decimal_comma and _DECIMAL_COMMA_END.search(text):
        decimal_comma = True  # "1,5" or "1.234,56": no thousands separator ends so
    if decimal_comma:
        text = text.replace(".", "").replace("'", "").replace(",", ".")
    else:
        text = text.replace(",", "").replace("'", "")
    try:
        number = decimal.Decimal(text)
    except decimal.InvalidOperation:
        raise Problem("invalid_number", f"'{raw}' is not a number.") from None
    if not number.is_finite():
        raise Problem("invalid_number", f"'{raw}' is not a number.")
    return number


def parse_boolean(raw: str) -> bool:
    text = raw.strip().lower()
    if text in TRUE_WORDS:
        return True
    if text in FALSE_WORDS:
        return False
    raise Problem("invalid_boolean", f"'{raw}' is neither yes nor no.")


_FAST_EMAIL = re.compile(
    r"[a-z0-9!#$%&'*+/=?^_`{|}~-]+(\.[a-z0-9!#$%&'*+/=?^_`{|}~-]+)*@"
    r"([a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?\.)+[a-z]{2,24}"
)


def parse_email(raw: str) -> str:
    """Lower-cased, validated address (email-validator; no DNS lookups during imports)."""
    text = raw.strip().strip("<>").strip()
    if text.lower().startswith("mailto:"):
        text = text[7:]
    lowered = text.lower()
    if _FAST_EMAIL.fullmatch(lowered) and len(lowered) <= 254:
        return lowered  # plain ASCII addresses: the validator would agree, faster
    try:
        result = validate_email(text, check_deliverability=False)
    except EmailNotValidError as exc:
        raise Problem("invalid_email", f"'{raw}' is not an email address: {exc}") from None
    return result.normalized.lower()


def parse_phone(raw: str, region: str) -> tuple[str, str]:
    """(E.164, extension) of a number typed in any format; national numbers use `region`."""
    text = raw.strip()
    if text.startswith("00"):
        text = "+" + text[2:]
    try:
        number = phonenumbers.parse(text, region.upper() or None)
    except phonenumbers.NumberParseException:
        raise Problem("invalid_phone", f"'{raw}' is not a phone number.") from None
    if not phonenumbers.is_possible_number(number) or len(str(number.national_number)) < 6:
        raise Problem("invalid_phone", f"'{raw}' is not a possible phone number.")
    e164 = phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164)
    return e164, str(number.extension or "")


@lru_cache(maxsize=1)
def _country_names() -> dict[str, str]:
    """Every country's code, name, official and common name, in several languages."""
    names: dict[str, str] = {}
    countries = list(pycountry.countries)
    for country in countries:
        for value in (
            country.alpha_2,
            country.alpha_3,
            country.name,
            getattr(country, "official_name", ""),
            getattr(country, "common_name", ""),
        ):
            if value:
                names[value.casefold()] = country.alpha_2
    for language in ("de", "fr", "es", "it", "nl", "pt", "sv", "da", "pl"):
        try:
            translation = gettext.translation(
                "iso3166-1", pycountry.LOCALES_DIR, languages=[language]
            )
        except OSError:
            continue
        for country in countries:
            names.setdefault(translation.gettext(country.name).casefold(), country.alpha_2)
    names.update({"uk": "GB", "england": "GB", "usa": "US", "u.s.a.": "US", "u.s.": "US"})
    return names


def parse_country(raw: str) -> str:
    text = raw.strip()
    code = _country_names().get(text.casefold())
    if code is None:
        try:
            code = pycountry.countries.lookup(text).alpha_2
        except LookupError:
            raise Problem("invalid_country", f"'{raw}' is not a country Patron knows.") from None
    return code


@lru_cache(maxsize=65536)
def split_name(raw: str, order: str = "first_last") -> dict[str, str]:
    """A person's name in parts; "Last, First" and titles handled by nameparser."""
    text = " ".join(raw.split())
    if order == "last_first" and "," not in text and " " in text:
        last, _, first = text.partition(" ")
        text = f"{last}, {first}"
    name = HumanName(text)
    return {
        "contact.prefix": name.title[:20],
        "contact.first_name": name.first[:100],
        "contact.middle_name": name.middle[:100],
        "contact.last_name": name.last[:100],
        "contact.suffix": name.suffix[:20],
    }


# --- transforms -------------------------------------------------------------------------------

TRANSFORMS: dict[str, str] = {
    "": "As is",
    "full_name": "Split full name (First Last)",
    "last_first": 'Split "Last, First"',
    "date": "Date",
    "decimal_comma": "Number with decimal comma (1.234,56)",
    "lower": "Lower case",
    "upper": "Upper case",
    "title": "Title Case",
}


@dataclass
class Normalised:
    """One row after mapping: the target values, the problems found, the source key."""

    values: dict[str, Any]
    problems: list[dict[str, str]]
    key: str


def _problem(column: str, target_key: str, exc: Problem, raw: str) -> dict[str, str]:
    return {
        "column": column,
        "field": target_key,
        "code": exc.code,
        "message": exc.message,
        "value": raw[:200],
    }


class RowNormaliser:
    """Applies one mapping to rows; built once per import (targets resolved up front)."""

    def __init__(
        self,
        columns: list[dict[str, Any]],
        *,
        entity: str,
        default_region: str,
        custom_fields: dict[str, Any],
        vcard: bool = False,
    ) -> None:
        self.columns = columns
        self.entity = entity
        self.region = default_region or ""
        self.custom_fields = custom_fields
        # vCards name an email's or phone's column by its position and kind ("tel.2.work"),
        # so a card further down may bring a column the mapping has never seen: it is mapped
        # as `vcard.VCARD_DEFAULT_MAPPING` says, not left out.
        self.vcard = vcard
        self._known = {str(spec.get("column")) for spec in columns}
        self.steps: list[tuple[str, Target, str, dict[str, Any]]] = []
        for spec in columns:
            key = spec.get("target") or ""
            if not key:
                continue
            found = target(key, custom_fields)
            if found is None:
                continue
            self.steps.append(
                (spec["column"], found, spec.get("transform") or "", spec.get("options") or {})
            )
        self.has_key = any(t.key == "source_key" for _, t, _, _ in self.steps)
        self.country_column = next(
            (column for column, t, _, _ in self.steps if t.key == "address.country"), None
        )
        self.row_region = ""

    def normalise(self, row: dict[str, Any]) -> Normalised:
        if self.vcard and not self._known.issuperset(row):
            self._map_new_points(row)
        values: dict[str, Any] = {}
        problems: list[dict[str, str]] = []
        key = ""
        self.row_region = self._row_region(row)
        for column, tgt, transform, options in self.steps:
            raw = row.get(column)
            if raw is None:
                continue
            raw = str(raw).strip()
            value_map = options.get("value_map") or {}
            if value_map:
                raw = str(value_map.get(raw, value_map.get(raw.lower(), raw)))
            if raw == "":
                continue
            try:
                self._apply(values, tgt, transform, options, raw)
            except Problem as exc:
                problems.append(_problem(column, tgt.key, exc, raw))
            if tgt.key == "source_key":
                key = raw
        return Normalised(values=values, problems=problems, key=key)

    def _map_new_points(self, row: dict[str, Any]) -> None:
        """Map the emails and phones of columns first seen in this row, then keep every email
        and phone step in the order of its position on the card (the first one of a row
        becomes the primary one, and a card lists its preferred one first)."""
        from .vcard import VCARD_DEFAULT_MAPPING, mapping_key, point_column, points_by_position

        for column in row:
            if column in self._known:
                continue
            self._known.add(column)
            found = target(VCARD_DEFAULT_MAPPING.get(mapping_key(column), ""))
            if point_column(column) is not None and found is not None:
                self.steps.append((column, found, "", {}))
        rank = {c: i for i, c in enumerate(points_by_position([s[0] for s in self.steps]))}
        self.steps.sort(key=lambda step: rank[step[0]])

    def _row_region(self, row: dict[str, Any]) -> str:
        """The row's own country, when one is mapped: national phone numbers of a source with
        customers in several countries are read in each customer's country."""
        if self.country_column is None:
            return ""
        raw = str(row.get(self.country_column) or "").strip()
        if not raw:
            return ""
        try:
            return parse_country(raw)
        except Problem:
            return ""

    def _apply(
        self,
        values: dict[str, Any],
        tgt: Target,
        transform: str,
        options: dict[str, Any],
        raw: str,
    ) -> None:
        if transform == "lower":
            raw = raw.lower()
        elif transform == "upper":
            raw = raw.upper()
        elif transform == "title":
            raw = raw.title()
        kind = tgt.kind
        if kind == "name" or transform in ("full_name", "last_first"):
            order = "last_first" if transform == "last_first" else "first_last"
            for part, value in split_name(raw, order).items():  # cached: do not change it
                if value and not values.get(part):
                    values[part] = value
            return
        if kind == "email":
            kind_name = tgt.key.partition(".")[2] or "work"
            refused: Problem | None = None
            for piece in _email_pieces(raw):
                try:
                    email = parse_email(piece)
                except Problem as exc:
                    refused = refused or exc  # flagged once the good ones are kept
                    continue
                values.setdefault("emails", []).append({"email": email, "kind": kind_name})
            if refused is not None:
                raise refused
            return
        if kind == "phone":
            kind_name = tgt.key.partition(".")[2] or "mobile"
            region = (options.get("region") or self.row_region or self.region or "").upper()
            pieces = _split_multi(raw, phone=True)
            if len(pieces) > 1 and "/" in raw and _is_phone(raw, region):
                pieces = [raw]  # "0171/1234567": a slash inside one number, not between two
            for piece in pieces:
                e164, extension = parse_phone(piece, region)
                if extension:  # kept on its own: the number as typed, without it
                    piece = _EXTENSION_END.sub("", piece) or piece
                values.setdefault("phones", []).append(
                    {"number": piece[:50], "e164": e164, "extension": extension, "kind": kind_name}
                )
            return
        if kind == "date":
            fmt = options.get("format") or "auto"
            values[tgt.key] = parse_date(raw, fmt).isoformat()
            return
        if kind == "number":
            number = parse_number(
                raw, transform == "decimal_comma" or bool(options.get("decimal_comma"))
            )
            if tgt.key == "account.employee_count":
                if number < 0 or number != number.to_integral_value():
                    raise Problem("invalid_number", f"'{raw}' is not a whole number.")
                if number > MAX_EMPLOYEES:
                    raise Problem("out_of_range", f"'{raw}' is more than {MAX_EMPLOYEES:,}.")
                values[tgt.key] = int(number)
            elif tgt.key == "account.annual_revenue":
                if abs(number) >= MAX_AMOUNT:
                    raise Problem("out_of_range", f"'{raw}' is too large for an amount.")
                # Cents at most, as the column keeps them ("1000" stays as it was written).
                exponent = number.as_tuple().exponent
                if isinstance(exponent, int) and exponent < -2:
                    number = number.quantize(decimal.Decimal("0.01"))
                values[tgt.key] = str(number)
            elif tgt.key.startswith("custom."):
                values[tgt.key] = int(number) if number == int(number) else float(number)
            else:
                values[tgt.key] = str(number)
            return
        if kind == "boolean":
            values[tgt.key] = parse_boolean(raw)
            return
        if kind == "country":
            values[tgt.key] = parse_country(raw)
            return
        if kind == "tags":
            values[tgt.key] = sorted({t.strip()[:50] for t in re.split(r"[,;|]", raw) if t.strip()})
            return
        if kind == "choice":
            values[tgt.key] = self._choice(tgt, raw)
            return
        if tgt.max_length and len(raw) > tgt.max_length:
            raise Problem("too_long", f"{len(raw)} characters; {tgt.label} holds {tgt.max_length}.")
        values[tgt.key] = raw

    def _choice(self, tgt: Target, raw: str) -> str:
        if tgt.key.endswith("lifecycle_stage"):
            lowered = raw.strip().lower()
            for value, label in LifecycleStage.choices:
                if lowered in (value, str(label).lower()):
                    return value
            raise Problem("invalid_choice", f"'{raw}' is not a lifecycle stage.")
        definition = self.custom_fields.get(tgt.key[7:])
        choices = [str(c) for c in (definition.choices if definition else [])]
        for choice in choices:
            if raw.strip().lower() == choice.lower():
                return choice
        raise Problem("invalid_choice", f"'{raw}' is not one of: {', '.join(choices)}.")


def _email_pieces(raw: str) -> list[str]:
    """The addresses of a cell: one, several ("a@x.com; b@y.com"), or written with names
    ("Anna Müller <anna@x.de>, Bob <bob@y.com>")."""
    if "<" in raw and ">" in raw:
        found = [
            address
            for part in re.split(r"[;|\n]", raw)
            for _, address in email.utils.getaddresses([part])
            if address
        ]
        # "Müller, Anna <anna@x.de>": the comma in the name is no separator.
        found = [a for a in found if "@" in a] or found
        if found:
            return found
    return _split_multi(raw)


_EXTENSION_END = re.compile(
    r"\s*(?:;\s*ext=|,|ext\.?|extn\.?|extension|durchwahl|dw\.?|x|#)\s*\d{1,10}#?\s*$",
    re.IGNORECASE,
)


def _is_phone(raw: str, region: str) -> bool:
    try:
        parse_phone(raw, region)
    except Problem:
        return False
    return True


def _split_multi(raw: str, phone: bool = False) -> list[str]:
    """Several emails or phones in one cell ("a@x.com; b@y.com")."""
    separators = r"[;|/\n]" if phone else r"[;,|\s]+"
    pieces = [p.strip() for p in re.split(separators, raw) if p.strip()]
    return pieces or [raw]


# --- suggestions ------------------------------------------------------------------------------

# Header words → field, tried in this order (the first that fits wins): keys, names, contact
# points and address before the looser words ("Company email" is an email, "Mailing street"
# a street, "Phone number" a phone and not a key).
_NOT_A_KEY = r"phone|fax|mobile|zip|postal|postcode|post ?code|plz|iban|\b(tel|cell|vat|tax)\b"
_ID_WORDS = re.compile(r"\b(id|no|nr|number|code|ref|key)\b")
_COMPANY_WORDS = re.compile(r"account|company|organi[sz]ation|employer|firm|\borg\b")
_HEADER_HINTS: list[tuple[str, str]] = [
    (
        rf"^(?!.*({_NOT_A_KEY}))(id|key|uid|uuid|guid|.*\b(id|no|nr|key)|.*(_|\b)(number|code|ref)"
        r"|customer ?(no|number|id)|caller id)$",
        "source_key",
    ),
    (
        r"(full ?name|^name$|customer ?name|contact ?name|display ?name|^fn$|kunde)",
        "contact.full_name",
    ),
    (r"^(title|salutation|prefix|anrede)$|n\.prefix", "contact.prefix"),
    (r"(first|given|fore|vor) ?name|^first$|n\.given|customer\.first_name", "contact.first_name"),
    (r"(middle|additional) ?name|n\.additional", "contact.middle_name"),
    (r"(last|family|sur|nach) ?name|^last$|n\.family|customer\.last_name", "contact.last_name"),
    (r"^suffix$|n\.suffix", "contact.suffix"),
    (r"e-?mail|\bmail\b", "email"),
    (r"(mobile|cell|handy)", "phone.mobile"),
    (r"(phone|\btel\b|telephone|telefon|\bfon\b|caller)", "phone"),
    (r"(street|address|line ?1|adr\.street|strasse|straße|\brue\b)", "address.street"),
    (r"line ?2|street ?2|address ?2", "address.street2"),
    (r"(city|town|\bort\b|ville|adr\.city)", "address.city"),
    (r"(state|region|county|province|adr\.region)", "address.region"),
    (r"(zip|postcode|postal|\bplz\b|adr\.code)", "address.postal_code"),
    (r"(country|\bland\b|\bpays\b|adr\.country)", "address.country"),
    (r"job|position|role|function|^title$", "contact.job_title"),
    (r"(birth|dob|bday|geburt)", "contact.date_of_birth"),
    (r"(note|comment|description|remark)", "contact.description"),
    (r"(stage|lifecycle|status)", "contact.lifecycle_stage"),
    (r"^tags?$|label", "contact.tags"),
    (r"(company|organi[sz]ation|account|employer|firm|^org$)", "account.name"),
    (r"(website|domain|url)", "account.domain"),
    (r"industry|sector", "account.industry"),
]

_EMAIL_LIKE = re.compile(r"[^@\s]+@[^@\s]+\.[a-z]{2,}", re.IGNORECASE)
_PHONE_LIKE = re.compile(r"^[+(]?[\d][\d\s().\-/]{5,}\d$")
_DMY = re.compile(r"^(\d{1,2})[./-](\d{1,2})[./-](\d{4})(?:[ T]\d{1,2}:\d{2}.*)?$")
_ISO = re.compile(r"^\d{4}-\d{2}-\d{2}")


def _looks(values: list[str], pattern: re.Pattern[str], share: float = 0.6) -> bool:
    filled = [v for v in values if v]
    return bool(filled) and sum(1 for v in filled if pattern.search(v)) / len(filled) >= share


def _date_format(values: list[str]) -> str | None:
    filled = [v for v in values if v]
    if not filled:
        return None
    if all(_ISO.match(v) for v in filled):
        return "%Y-%m-%d"
    matches = [_DMY.match(v) for v in filled]
    if sum(1 for m in matches if m) / len(filled) < 0.6:
        return None
    separator = "." if "." in filled[0] else ("/" if "/" in filled[0] else "-")
    pairs = [(int(m.group(1)), int(m.group(2))) for m in matches if m]
    # Values decide by majority; an impossible one (13/45/1990) is evidence for neither.
    day_first = sum(1 for first, second in pairs if first > 12 and second <= 12)
    month_first = sum(1 for first, second in pairs if second > 12 and first <= 12)
    if month_first > day_first:
        return f"%m{separator}%d{separator}%Y"
    if day_first > month_first:
        return f"%d{separator}%m{separator}%Y"
    # No value tells: slashes are month-first in the exports that use them most (US systems).
    return "%m/%d/%Y" if separator == "/" else f"%d{separator}%m{separator}%Y"


def _key_like(values: list[str]) -> bool:
    """Whether sample values can be a row's own id: nearly every row has one, nearly all
    are different (an export may hold a record twice, its later version further down; a zip
    code or a company number is shared by many rows), and they are not emails or phones."""
    filled = [v for v in values if v]
    if len(filled) < 0.8 * max(len(values), 1) or len(set(filled)) < 0.8 * len(filled):
        return False
    return not _looks(filled, _EMAIL_LIKE) and not (
        _looks(filled, _PHONE_LIKE, 0.8) and any(re.search(r"[\s()/+-]", v) for v in filled)
    )


def suggest(
    columns: list[str],
    samples: list[dict[str, Any]],
    *,
    entity: str,
    custom_fields: dict[str, Any] | None = None,
) -> list[dict[str, Any]]:
    """A first mapping: header names first, then what the values look like."""
    custom_fields = custom_fields or {}
    allowed = {t.key for t in targets_for(entity, custom_fields.values())}
    used: set[str] = set()
    result = []
    for column in columns:
        values = [str(s.get(column) or "").strip() for s in samples]
        header = column.strip().lower().replace("_", " ")
        spec: dict[str, Any] = {"column": column, "target": KEEP, "transform": "", "options": {}}
        choice = None
        for name, definition in custom_fields.items():
            if header in (name.lower().replace("_", " "), definition.label.lower()):
                choice = f"custom.{name}"
        if choice is None:
            for pattern, key in _HEADER_HINTS:
                if entity == "account" and key.startswith("contact."):
                    key = {"contact.full_name": "account.name"}.get(key, key)
                if key == "source_key" and entity == "contact" and _COMPANY_WORDS.search(header):
                    continue  # a person's company number is shared by its people
                if key == "account.name" and _ID_WORDS.search(header):
                    continue  # "Account number" is not the account's name
                if key in allowed and key not in used and re.search(pattern, header):
                    choice = key
                    break
        # Content overrides a header that said nothing useful.
        if choice is None or choice in ("contact.description",):
            if _looks(values, _EMAIL_LIKE):
                choice = "email"
            elif _looks(values, _PHONE_LIKE, 0.8) and not _date_format(values):
                choice = "phone" if "phone" not in used else choice
        if choice == "email" and "email" in used:
            choice = "email.personal" if "email.personal" not in used else None
        if choice and choice.startswith("phone") and choice in used:
            choice = next((p for p in ("phone.work", "phone.home") if p not in used), None)
        if choice == "source_key" and not _key_like(values):
            choice = None  # not an id of each row: key by content instead
        if choice:
            used.add(choice)
            spec["target"] = choice
            tgt = target(choice, custom_fields)
            if tgt and tgt.kind == "name" and any("," in v for v in values):
                spec["transform"] = "last_first"
            elif tgt and tgt.kind == "name":
                spec["transform"] = "full_name"
            if tgt and tgt.kind == "date":
                fmt = _date_format(values)
                if fmt is None and any(re.fullmatch(r"\d{5}", v) for v in values):
                    fmt = "excel"
                spec["options"] = {"format": fmt or "auto"}
            if tgt and tgt.kind == "number" and any(_DECIMAL_COMMA_END.search(v) for v in values):
                spec["transform"] = "decimal_comma"
        result.append(spec)
    return result


@dataclass(frozen=True)
class FieldProposal:
    """A custom field proposed for a column no field fits: its label, its type (text, number,
    date or boolean) and how to read the column into it (transform and options)."""

    label: str
    field_type: str
    transform: str = ""
    options: tuple[tuple[str, str], ...] = ()


NEW_FIELD_TYPES = {"text": "Text", "number": "Number", "date": "Date", "boolean": "Yes / no"}


def propose_field(column: str, values: list[str]) -> FieldProposal:
    """What a new custom field for `column` should be, from its header and sample values: the
    header made readable ("customer_since" → "Customer since"), and the type every filled
    value can be read as — yes/no words, dates (their format detected), numbers (a decimal
    comma detected) — else text."""
    words = re.sub(r"[_.\-]+", " ", column).strip()
    words = re.sub(r"(?<=[a-z])(?=[A-Z])", " ", words)  # customerSince → customer Since
    label = (words[:1].upper() + words[1:].lower()) if words else "New field"
    if len(words) <= 3 and words.isalpha():
        label = words.upper()  # vip → VIP
    filled = [v.strip() for v in values if v and v.strip()]
    if not filled:
        return FieldProposal(label[:100], "text")
    lowered = {v.lower() for v in filled}
    if lowered <= (TRUE_WORDS | FALSE_WORDS) and not lowered <= {"0", "1"}:
        return FieldProposal(label[:100], "boolean")
    fmt = _date_format(filled)
    if fmt and _all_read(filled, lambda v: parse_date(v, fmt)):
        return FieldProposal(label[:100], "date", options=(("format", fmt),))
    comma = any(_DECIMAL_COMMA_END.search(v) for v in filled)
    if _all_read(filled, lambda v: parse_number(v, comma)):
        return FieldProposal(label[:100], "number", "decimal_comma" if comma else "")
    return FieldProposal(label[:100], "text")


def _all_read(values: list[str], read: Callable[[str], Any]) -> bool:
    try:
        for value in values:
            read(value)
    except Problem:
        return False
    return True


def describe(columns: list[dict[str, Any]]) -> dict[str, str]:
    """column → target label, for reports."""
    return {
        c["column"]: (_CORE[c["target"]].label if c["target"] in _CORE else c["target"])
        for c in columns
        if c.get("target")
    }


NormaliseFn = Callable[[dict[str, Any]], Normalised]
