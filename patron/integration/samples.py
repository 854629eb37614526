"""Sample source files for testing and benchmarking the importer.

Customers bring exports from several systems that describe the same people differently and
break in ways no single fixture shows. `generate_sources` writes one shared population as three
such systems (a cp1252 finance CSV, a JSON Lines webshop feed, a UTF-16 call-centre TSV plus the
same calls as an Excel workbook), mixes in every kind of broken row the importer must handle at
known places, and writes `manifest.json`: for every record its physical line, source key, the
true person behind it (ground truth for entity resolution) and the quarantine reason or value
flags the importer is expected to report. `write_messy_csv` streams a large single-file variant
for the million-row benchmark.

Expectations in the manifest follow these rules, which the importer's tests can rely on:

* a record is quarantined for exactly one reason: "ragged" (field count differs from the
  header), "undecodable" (bytes invalid in the declared encoding), "invalid_json" (not a JSON
  object), "no_name" (every name field empty) or "no_key" (empty source key);
* a usable record keeps a bad value raw and gets a flag (column, code): "invalid_email" (not
  accepted by `email_validator` without deliverability checks), "invalid_phone" ("12": too short
  to be any number), "invalid_date", "invalid_number"; a JSON column is its dotted path;
* every other value parses once surrounding whitespace is stripped, and empty values are never
  flagged. Every other phone is valid (`phonenumbers.is_valid_number`) and reads back as the
  person's own number in its region: the row's country in billing (national numbers of four
  countries, so one default region is not enough), DE in the call centre, "+" in the webshop;
* a key repeated later in the same file is valid: the later record wins;
* a spreadsheet row cannot be short (missing cells are empty), so the call centre's short row is
  "ragged" in the TSV but valid in the workbook; a row with a cell beyond the header is ragged.

Record tags say what is special about a record and change no expectation. Broken rows:
ragged_short, ragged_long, cp850_byte, truncated, not_an_object. Awkward but valid values:
street_semicolon, multiline, whitespace, formula_text, ascii_escaped, short_row, serial_date (an
Excel date stored as a plain number). Systems disagreeing: email_case, email_differs,
name_folded, address_differs, title, middle_name. A repeated key: superseded (the earlier row)
and duplicate_key (the later one, which wins).

Pure Python (Faker, phonenumbers, openpyxl): no database and no Django models.
"""

from __future__ import annotations

import csv
import datetime as dt
import io
import json
import random
import re
import time
import unicodedata
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import phonenumbers
from faker import Faker
from openpyxl import Workbook

from patron.utils.text import fold

LOCALES = {"de_DE": "DE", "en_GB": "GB", "fr_FR": "FR", "en_US": "US"}
LOCALE_WEIGHTS = [35, 25, 20, 20]
# Country names as the finance system writes them.
BILLING_COUNTRY_NAMES = {
    "DE": "Deutschland", "GB": "United Kingdom", "FR": "France", "US": "United States"
}  # fmt: skip
# Every spelling of a country that `write_messy_csv` uses, with its ISO code.
COUNTRY_LABELS = {
    **{code: code for code in BILLING_COUNTRY_NAMES},
    **{name: code for code, name in BILLING_COUNTRY_NAMES.items()},
    "Germany": "DE",
}
# Number plans (national prefix, national number length) inside ranges that phonenumbers accepts;
# the UK, French and US ones are the ranges reserved for drama and examples.
PHONE_PLANS = {
    "DE": [("30", 10), ("89", 10), ("40", 9), ("221", 9), ("69", 10), ("151", 11), ("176", 11)],
    "GB": [("2079460", 10), ("1614960", 10), ("1134960", 10), ("1174960", 10), ("79", 10)],
    "FR": [("19900", 9), ("26191", 9), ("35301", 9), ("46571", 9), ("53649", 9), ("6", 9)],
    "US": [("21255501", 10), ("31255501", 10), ("41555501", 10), ("61755501", 10)],
}
PERSONAL_DOMAINS = ["mail.example", "inbox.example", "post.example", "webmail.example"]
APOSTROPHE_NAMES = {
    "de_DE": ["D'Angelo", "Dell'Orto"],
    "en_GB": ["O'Connor", "O'Neill"],
    "fr_FR": ["D'Arcy", "L'Hermite"],
    "en_US": ["O'Brien", "D'Souza"],
}
HYPHEN_FIRST_NAMES = {
    "de_DE": ["Karl-Heinz", "Hans-Jürgen", "Anna-Lena"],
    "en_GB": ["Mary-Kate", "Jo-Anne"],
    "fr_FR": ["Jean-Luc", "Marie-Thérèse", "Anne-Sophie"],
    "en_US": ["Billy-Ray", "Mary-Beth"],
}
# Names a cp1252 system cannot store: their people are never in billing.csv.
BEYOND_CP1252 = ["Dvořák", "Wałęsa", "Nguyễn", "Łukasiewicz"]
FORMULA_NOTE = '=HYPERLINK("https://refund.example/claim","Click here for your refund")'
FORMULA_LINE = "=cmd|' /C calc'!A0"
EXCEL_EPOCH = dt.date(1899, 12, 30)

BILLING_HEADER = [
    "customer_no", "customer_name", "email", "phone", "street", "zip", "city", "country",
    "customer_since", "credit_limit", "vip",
]  # fmt: skip
CALLCENTRE_HEADER = [
    "Caller ID", "Full Name", "Telephone", "Date of Birth", "Last Call", "Agent Notes"
]  # fmt: skip
MESSY_HEADER = [
    "id", "first_name", "last_name", "email", "phone", "street", "city", "postcode", "country",
    "date_of_birth", "company", "notes",
]  # fmt: skip
# The ways `write_messy_csv` breaks a row, in the order it uses them.
MESSY_BROKEN_KINDS = (
    "ragged_short", "ragged_long", "no_name", "no_key", "undecodable",
    "invalid_email", "invalid_phone", "invalid_date", "duplicate_key",
)  # fmt: skip
MIN_CUSTOMERS = 40


@dataclass(frozen=True)
class SamplePerson:
    """One real customer behind the sample records: the ground truth for entity resolution."""

    person_id: str
    country: str
    first_name: str
    middle_name: str
    last_name: str
    title: str
    company: str
    email: str
    phone_e164: str
    mobile_e164: str
    street: str
    postcode: str
    city: str
    date_of_birth: dt.date
    customer_since: dt.date


@dataclass
class SampleRecord:
    """What the importer should make of one record: where it starts, whose it is, what's wrong."""

    line: int
    source_key: str | None
    person_id: str | None
    quarantine: str | None = None
    flags: list[tuple[str, str]] = field(default_factory=list)
    tags: list[str] = field(default_factory=list)


@dataclass
class SampleFile:
    """One written file: how to read it and the expectations for each of its records."""

    path: str
    source: str
    format: str  # csv, tsv, jsonl or xlsx
    header: list[str]
    key_field: str
    date_formats: dict[str, str]  # column -> strptime format, "iso8601" or "excel"
    records: list[SampleRecord]
    encoding: str | None = None
    bom: bool = False
    delimiter: str | None = None
    quotechar: str | None = None
    line_terminator: str | None = None
    sheet: str | None = None
    sheets: list[str] | None = None
    default_phone_region: str | None = None

    @property
    def total_records(self) -> int:
        return len(self.records)

    @property
    def expected_valid_rows(self) -> int:
        return sum(1 for r in self.records if r.quarantine is None)

    @property
    def distinct_keys(self) -> int:
        return len({r.source_key for r in self.records if r.quarantine is None})

    def to_json(self) -> dict[str, Any]:
        data = asdict(self)
        data["records"] = [
            {**asdict(r), "flags": [list(flag) for flag in r.flags]} for r in self.records
        ]
        data["total_records"] = self.total_records
        data["expected_valid_rows"] = self.expected_valid_rows
        data["distinct_keys"] = self.distinct_keys
        return data


@dataclass
class SampleSet:
    """The files `generate_sources` wrote, keyed by file name, and the people behind them."""

    out_dir: Path
    seed: int
    customers: int
    people: list[SamplePerson]
    files: dict[str, SampleFile]

    @property
    def manifest_path(self) -> Path:
        return self.out_dir / "manifest.json"

    def to_json(self) -> dict[str, Any]:
        return {
            "seed": self.seed,
            "customers": self.customers,
            "files": {name: f.to_json() for name, f in self.files.items()},
            "people": [
                {
                    **asdict(p),
                    "date_of_birth": p.date_of_birth.isoformat(),
                    "customer_since": p.customer_since.isoformat(),
                }
                for p in self.people
            ],
        }


@dataclass
class _Entry:
    """A record before it is written: its field values (or raw text) and its expectations."""

    record: SampleRecord
    values: list[Any]
    raw: str | None = None
    special: bool = False


# --- phones -------------------------------------------------------------------------------


def _random_phone(country: str, rng: random.Random) -> str:
    """E.164 of a random valid number in one of the country's plans."""
    code = phonenumbers.country_code_for_region(country)
    for _ in range(200):
        prefix, length = rng.choice(PHONE_PLANS[country])
        free = length - len(prefix)
        nsn = prefix + rng.choice("123456789") + "".join(rng.choices("0123456789", k=free - 1))
        parsed = phonenumbers.parse(f"+{code}{nsn}")
        if phonenumbers.is_valid_number(parsed):
            return f"+{code}{nsn}"
    raise RuntimeError(f"no valid phone number found for {country}")  # pragma: no cover


def phone_styles(e164: str) -> dict[str, str]:
    """The ways people write one number: national, international, dashed, with 00, …"""
    parsed = phonenumbers.parse(e164)
    code = parsed.country_code
    nsn = phonenumbers.national_significant_number(parsed)
    ndc_len = phonenumbers.length_of_national_destination_code(parsed) or 3
    ndc, sub = nsn[:ndc_len], nsn[ndc_len:]
    groups = [sub[:3], sub[3:]] if code == 1 else [sub[i : i + 4] for i in range(0, len(sub), 4)]
    national = phonenumbers.format_number(parsed, phonenumbers.PhoneNumberFormat.NATIONAL)
    return {
        "e164": e164,
        "national": national,
        "international": phonenumbers.format_number(
            parsed, phonenumbers.PhoneNumberFormat.INTERNATIONAL
        ),
        "trunk_in_brackets": (
            f"+1 ({ndc}) {groups[0]}-{groups[1]}"
            if code == 1
            else f"+{code} (0){ndc} {' '.join(groups)}"
        ),
        "dashed": f"+{code}-{ndc}-{'-'.join(groups)}",
        "idd": f"00{code} {ndc} {sub}",
        "national_brackets": national if code == 1 else f"(0{ndc}) {' '.join(groups)}",
    }


def _checked(text: str, region: str, e164: str) -> str:
    """`text` itself, after making sure it reads back as `e164` in `region`."""
    parsed = phonenumbers.parse(text, region)
    if phonenumbers.format_number(parsed, phonenumbers.PhoneNumberFormat.E164) != e164:
        raise AssertionError(f"{text!r} does not read back as {e164} in {region}")
    return text


# --- the population -----------------------------------------------------------------------


def _email_local(*parts: str) -> str:
    return ".".join(re.sub(r"[^a-z0-9'-]", "", fold(p)) for p in parts if fold(p)) or "customer"


def _population(customers: int, seed: int, rng: random.Random) -> list[SamplePerson]:
    fakers = {}
    for offset, locale in enumerate(LOCALES):
        fakers[locale] = Faker(locale)
        fakers[locale].seed_instance(seed * 100 + offset)
    people: list[SamplePerson] = []
    used_emails: set[str] = set()
    used_phones: set[str] = set()
    for n in range(customers):
        locale = rng.choices(list(LOCALES), weights=LOCALE_WEIGHTS)[0]
        country, fake = LOCALES[locale], fakers[locale]
        first, last = fake.first_name(), fake.last_name()
        if n % 11 == 3:
            last = rng.choice(APOSTROPHE_NAMES[locale])
        elif n % 9 == 4:
            last = f"{last}-{fake.last_name()}"
        elif n % 31 == 17:
            last = rng.choice(BEYOND_CP1252)
        if n % 13 == 6:
            first = rng.choice(HYPHEN_FIRST_NAMES[locale])
        middle = fake.first_name() if rng.random() < 0.2 else ""
        title = rng.choice(["Dr.", "Dr.", "Prof. Dr."]) if rng.random() < 0.1 else ""
        company = fake.company() if rng.random() < 0.3 else ""
        if company:
            domain = re.sub(r"[^a-z0-9]+", "-", fold(company.split(",")[0])).strip("-")
            domain = f"{domain}.{country.lower()}.example"
        else:
            domain = rng.choice(PERSONAL_DOMAINS)
        email, k = f"{_email_local(first, last)}@{domain}", 1
        while email in used_emails:
            k += 1
            email = f"{_email_local(first, last)}{k}@{domain}"
        used_emails.add(email)
        phones = []
        for _ in range(2):
            phone = _random_phone(country, rng)
            while phone in used_phones:
                phone = _random_phone(country, rng)
            used_phones.add(phone)
            phones.append(phone)
        people.append(
            SamplePerson(
                person_id=f"P{n + 1:04d}",
                country=country,
                first_name=first,
                middle_name=middle,
                last_name=last,
                title=title,
                company=company,
                email=email,
                phone_e164=phones[0],
                mobile_e164=phones[1] if rng.random() < 0.4 else "",
                street=fake.street_address(),
                postcode=fake.postcode(),
                city=fake.city(),
                date_of_birth=fake.date_between(dt.date(1940, 1, 1), dt.date(2004, 12, 31)),
                customer_since=fake.date_between(dt.date(2008, 1, 1), dt.date(2024, 12, 31)),
            )
        )
    return people


def _members(people: list[SamplePerson], rng: random.Random) -> dict[str, list[SamplePerson]]:
    """Each system knows 60-80% of the people; everyone is known somewhere."""
    members: dict[str, list[SamplePerson]] = {"billing": [], "webshop": [], "callcentre": []}
    for person in people:
        billed = (person.first_name, person.last_name, person.street, person.postcode, person.city)
        cp1252_ok = _encodable(" ".join(billed))
        chosen = [
            s
            for s, share in (("billing", 0.72), ("webshop", 0.7), ("callcentre", 0.66))
            if rng.random() < share and (s != "billing" or cp1252_ok)
        ]
        if not chosen:
            chosen = ["billing" if cp1252_ok else "webshop"]
        for source in chosen:
            members[source].append(person)
    for source in members:
        rng.shuffle(members[source])
    return members


def _encodable(text: str, encoding: str = "cp1252") -> bool:
    try:
        text.encode(encoding)
    except UnicodeEncodeError:
        return False
    return True


def _spread(count: int, total: int, rng: random.Random) -> list[int]:
    """`count` distinct positions spread over `total`, in a seeded order of assignment."""
    positions = [int((i + 0.5) * total / count) for i in range(count)]
    rng.shuffle(positions)
    return positions


def _de_amount(value: float) -> str:
    return f"{value:,.2f}".translate(str.maketrans(",.", ".,"))


# --- billing.csv --------------------------------------------------------------------------


def _billing(people: list[SamplePerson], rng: random.Random) -> list[_Entry]:
    entries = []
    for n, p in enumerate(people):
        name = f"{p.last_name}, {p.first_name}"
        if rng.random() < 0.1:
            name = f"{p.last_name.upper()}, {p.first_name}"
        credit = rng.choice([0, 500, 1000, 2500, 5000, 10000, 15000, 25000])
        key = f"{4711 + n * 7:06d}"
        phone = _checked(phone_styles(p.phone_e164)["national"], p.country, p.phone_e164)
        values = [
            key,
            name,
            p.email if rng.random() < 0.9 else "",
            phone if rng.random() < 0.9 else "",
            p.street,
            p.postcode,
            p.city,
            BILLING_COUNTRY_NAMES[p.country],
            p.customer_since.strftime("%d.%m.%Y"),
            _de_amount(credit + rng.choice([0, 0, 0.5, 34.56])),
            "J" if credit >= 15000 else "N",
        ]
        entries.append(_Entry(SampleRecord(0, key, p.person_id), values))
    specials = [
        ("ragged", "ragged_short", lambda v: v[:8]),
        ("ragged", "ragged_long", lambda v: [*v[:4], "Rue de la Paix 3", " Bât. B", *v[5:]]),
        ("undecodable", "cp850_byte", lambda v: [*v[:4], "Gr\udc81ner Weg 5", *v[5:]]),
        ("no_name", "", lambda v: [v[0], "", *v[2:]]),
        ("no_key", "", lambda v: ["", *v[1:]]),
        (None, "invalid_email", lambda v: [*v[:2], "john@@example", *v[3:]]),
        (None, "invalid_phone", lambda v: [*v[:3], "12", *v[4:]]),
        (None, "invalid_date", lambda v: [*v[:8], "31.02.2020", *v[9:]]),
        (None, "invalid_number", lambda v: [*v[:9], "abc", v[10]]),
        (None, "invalid_email+invalid_phone", lambda v: [*v[:2], "n/a", "12", *v[4:]]),
        (None, "street_semicolon", lambda v: [*v[:4], "Rue de la Paix 3; Bât. B", *v[5:]]),
        (None, "multiline", lambda v: [*v[:4], f"{v[4]}\nc/o Buchhaltung", *v[5:]]),
        (None, "whitespace", lambda v: [v[0], f"  {v[1]} ", f" {v[2].upper()} ", *v[3:]]),
    ]
    flag_columns = {
        "invalid_email": "email",
        "invalid_phone": "phone",
        "invalid_date": "customer_since",
        "invalid_number": "credit_limit",
    }
    _apply_specials(entries, specials, flag_columns, rng)
    _add_duplicate(
        entries,
        rng,
        lambda v: [v[0], v[1], f"new.{v[2] or 'mail@mail.example'}", *v[3:6], "Neustadt", *v[7:]],
    )
    return entries


def _apply_specials(
    entries: list[_Entry],
    specials: list[tuple[str | None, str, Any]],
    flag_columns: dict[str, str],
    rng: random.Random,
) -> None:
    """Turn entries at spread positions into the special rows (quarantined or flagged)."""
    for (reason, tag, change), position in zip(
        specials, _spread(len(specials), len(entries), rng), strict=True
    ):
        entry = entries[position]
        entry.special = True
        changed = change(entry.values)
        if isinstance(changed, str):
            entry.raw = changed  # a line written as is
        else:
            entry.values = changed
        entry.record.quarantine = reason
        if reason == "no_key":
            entry.record.source_key = None
        for code in tag.split("+"):
            if code in flag_columns and reason is None:
                entry.record.flags.append((flag_columns[code], code))
            elif code:
                entry.record.tags.append(code)


def _add_duplicate(entries: list[_Entry], rng: random.Random, change: Any) -> None:
    """Repeat a clean early record's key further down with changed data (the later one wins)."""
    original = rng.choice([e for e in entries[: len(entries) // 2] if not e.special])
    original.record.tags.append("superseded")
    original.special = True
    copy = _Entry(
        SampleRecord(
            0, original.record.source_key, original.record.person_id, None, [], ["duplicate_key"]
        ),
        change(list(original.values)),
        special=True,
    )
    entries.insert(len(entries) * 3 // 4, copy)


def _write_delimited(
    entries: list[_Entry], header: list[str], delimiter: str, encode: Any, path: Path
) -> None:
    """Write the rows, noting the physical line each record starts on (header = line 1)."""
    row = io.StringIO()
    writer = csv.writer(row, delimiter=delimiter, lineterminator="\r\n")
    writer.writerow(header)
    parts, line = [row.getvalue()], 2
    for entry in entries:
        row.seek(0)
        row.truncate()
        writer.writerow(entry.values)
        entry.record.line = line
        parts.append(row.getvalue())
        spans = parts[-1].count("\n")
        if spans > 1 and "multiline" not in entry.record.tags:
            entry.record.tags.append("multiline")  # Faker's British addresses have two lines
        line += spans
    path.write_bytes(encode("".join(parts)))


# --- webshop.jsonl ------------------------------------------------------------------------


def _strip_accents(text: str) -> str:
    """How an ASCII-only web form mangles names: "Müller" -> "Muller", keeping the case."""
    decomposed = unicodedata.normalize("NFKD", text)
    return "".join(ch for ch in decomposed if not unicodedata.combining(ch))


def _shout(email: str) -> str:
    """The same address in other case: "john.smith@mail.example" -> "JOHN.Smith@Mail.Example"."""
    local, _, domain = email.partition("@")
    head, _, tail = local.partition(".")
    local = f"{head.upper()}.{tail.capitalize()}" if tail else local.upper()
    return f"{local}@{'.'.join(part.capitalize() for part in domain.split('.'))}"


def _with(values: list[Any], path: str, value: Any) -> list[Any]:
    """A deep copy of a JSON entry's object with the dotted `path` set to `value`."""
    obj = json.loads(json.dumps(values[0]))
    *parents, last = path.split(".")
    target = obj
    for part in parents:
        target = target[part]
    target[last] = value
    return [obj]


def _webshop(
    members: list[SamplePerson], people: list[SamplePerson], rng: random.Random
) -> list[_Entry]:
    entries = []
    for n, p in enumerate(members):
        key, tags = f"WS-{1001 + n}", []
        email, roll = p.email, rng.random()
        if roll < 0.2:
            email = _shout(email)
            tags.append("email_case")
        elif roll < 0.35:
            email = f"{_email_local(p.first_name)}{p.date_of_birth.year}@webmail.example"
            tags.append("email_differs")
        first, last = p.first_name, p.last_name
        if rng.random() < 0.15 and _strip_accents(first + last) != first + last:
            first, last = _strip_accents(first), _strip_accents(last)
            tags.append("name_folded")
        home = p
        if rng.random() < 0.15:
            home = rng.choice([q for q in people if q.country == p.country])
            if home is not p:
                tags.append("address_differs")
        style = rng.choice(["international", "international", "trunk_in_brackets", "e164"])
        phone = phone_styles(p.phone_e164)[style] if rng.random() < 0.9 else None
        created = dt.datetime.combine(
            p.customer_since + dt.timedelta(days=rng.randrange(400)),
            dt.time(rng.randrange(24), rng.randrange(60), rng.randrange(60)),
            tzinfo=dt.UTC,
        )
        created_at = rng.choice(
            [
                created.strftime("%Y-%m-%dT%H:%M:%SZ"),
                created.astimezone(dt.timezone(dt.timedelta(hours=2))).isoformat(),
                created.replace(microsecond=rng.randrange(1, 10**6)).isoformat(),
            ]
        )
        obj = {
            "id": key,
            "customer": {
                "first_name": first,
                "last_name": last,
                "email": email,
                "company": p.company or None,
            },
            "phone": phone,
            "address": {
                "line1": home.street,
                "postcode": home.postcode,
                "city": home.city,
                "country_code": home.country,
            },
            "created_at": created_at,
            "newsletter": rng.random() < 0.4,
            "orders_total": 0 if rng.random() < 0.2 else round(rng.uniform(5, 5000), 2),
        }
        entries.append(_Entry(SampleRecord(0, key, p.person_id, tags=tags), [obj]))
    specials = [
        ("invalid_json", "truncated", lambda v: json.dumps(v[0], ensure_ascii=False)[:45]),
        (
            "no_name",
            "",
            lambda v: _with(_with(v, "customer.first_name", ""), "customer.last_name", None),
        ),
        ("no_key", "", lambda v: _with(v, "id", "")),
        (None, "invalid_email", lambda v: _with(v, "customer.email", "n/a")),
        (None, "invalid_phone", lambda v: _with(v, "phone", "12")),
        (None, "invalid_date", lambda v: _with(v, "created_at", "2023-02-30T10:00:00Z")),
        (None, "invalid_number", lambda v: _with(v, "orders_total", "abc")),
        (None, "formula_text", lambda v: _with(v, "address.line1", FORMULA_LINE)),
        (None, "ascii_escaped", lambda v: json.dumps(v[0], ensure_ascii=True)),
    ]
    flag_columns = {
        "invalid_email": "customer.email",
        "invalid_phone": "phone",
        "invalid_date": "created_at",
        "invalid_number": "orders_total",
    }
    _apply_specials(entries, specials, flag_columns, rng)
    for entry in entries:
        if entry.record.quarantine == "invalid_json":
            entry.record.source_key = None
    _add_duplicate(
        entries,
        rng,
        lambda v: _with(
            _with(v, "customer.email", f"new.{v[0]['customer']['email']}"),
            "newsletter",
            not v[0]["newsletter"],
        ),
    )
    garbage = _Entry(
        SampleRecord(0, None, None, "invalid_json", [], ["not_an_object"]), [], "[1, 2]"
    )
    entries.insert(len(entries) // 2, garbage)
    return entries


def _write_jsonl(entries: list[_Entry], path: Path) -> None:
    lines = []
    for number, entry in enumerate(entries, start=1):
        entry.record.line = number
        lines.append(
            entry.raw if entry.raw is not None else json.dumps(entry.values[0], ensure_ascii=False)
        )
    path.write_bytes(("\n".join(lines) + "\n").encode("utf-8"))


# --- callcentre.tsv and callcentre.xlsx ---------------------------------------------------

AGENT_NOTES = [
    "",
    "",
    "",
    "Asked about invoice, will pay next week",
    'Customer said "never call before 10am"',
    "Wants catalogue by post, not email",
    "Complained about delivery, offered 10% voucher",
    "Address change requested; see ticket",
    "Prefers French, speaks some English",
]


def _callcentre(members: list[SamplePerson], rng: random.Random) -> list[_Entry]:
    entries = []
    for n, p in enumerate(members):
        key = 77001 + n * 3
        tags = [t for t, present in (("title", p.title), ("middle_name", p.middle_name)) if present]
        name = " ".join(x for x in (p.title, p.first_name, p.middle_name, p.last_name) if x)
        e164 = p.mobile_e164 or p.phone_e164
        styles = ["dashed", "idd", "international"]
        if p.country == "DE":
            styles = ["dashed", "national_brackets", "idd"]
        phone = _checked(phone_styles(e164)[rng.choice(styles)], "DE", e164)
        last_call = dt.datetime(2023, 1, 2, 8) + dt.timedelta(minutes=rng.randrange(3 * 365 * 600))
        values = [
            key,
            name,
            phone if rng.random() < 0.92 else "",
            p.date_of_birth if rng.random() < 0.8 else None,
            last_call.replace(second=0),
            rng.choice(AGENT_NOTES),
        ]
        entries.append(_Entry(SampleRecord(0, str(key), p.person_id, tags=tags), values))
    specials = [
        ("ragged", "ragged_short", lambda v: v[:4]),
        ("ragged", "ragged_long", lambda v: [*v[:5], "Called back", "left message"]),
        ("no_name", "", lambda v: [v[0], "", *v[2:]]),
        ("no_key", "", lambda v: [None, *v[1:]]),
        (None, "invalid_phone", lambda v: [*v[:2], "12", *v[3:]]),
        (None, "invalid_date", lambda v: [*v[:3], "13/45/1990", *v[4:]]),
        (None, "formula_text", lambda v: [*v[:5], FORMULA_NOTE]),
        (
            None,
            "multiline",
            lambda v: [*v[:5], 'Disputes invoice 4711, says "already paid".\nCall back Monday'],
        ),
    ]
    flag_columns = {"invalid_phone": "Telephone", "invalid_date": "Date of Birth"}
    _apply_specials(entries, specials, flag_columns, rng)
    _add_duplicate(
        entries,
        rng,
        lambda v: [*v[:4], v[4] + dt.timedelta(days=30), "Follow-up: moved house, new number"],
    )
    return entries


def _tsv_value(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, dt.datetime):
        return value.strftime("%m/%d/%Y %H:%M")
    if isinstance(value, dt.date):
        return value.strftime("%m/%d/%Y")
    return str(value)


def _write_xlsx(entries: list[_Entry], path: Path, rng: random.Random) -> list[SampleRecord]:
    """The call centre's rows as a workbook: a summary sheet first, then "Calls" with typed
    cells (numbers, real dates). Returns the records with sheet row numbers."""
    workbook = Workbook()
    summary = workbook.active
    assert summary is not None
    summary.title = "Summary"
    summary.append(["Call centre export"])
    summary.append(["Exported on", dt.datetime(2025, 3, 31, 18, 0)])
    summary.append(["Calls", len(entries)])
    summary.append(["The calls are on the sheet 'Calls'."])
    sheet = workbook.create_sheet("Calls")
    sheet.append(CALLCENTRE_HEADER)
    serial_entry = rng.choice(
        [e for e in entries if not e.special and isinstance(e.values[3], dt.date)]
    )
    records = []
    for row, entry in enumerate(entries, start=2):
        record = SampleRecord(
            row,
            entry.record.source_key,
            entry.record.person_id,
            entry.record.quarantine,
            list(entry.record.flags),
            [t if t != "ragged_short" else "short_row" for t in entry.record.tags],
        )
        if "ragged_short" in entry.record.tags:
            # A spreadsheet row cannot be short: its missing cells are just empty.
            record.quarantine = None
        for column, value in enumerate(entry.values, start=1):
            cell = sheet.cell(row=row, column=column, value=value)
            if isinstance(value, dt.datetime):
                cell.number_format = "mm/dd/yyyy hh:mm"
            elif isinstance(value, dt.date):
                cell.number_format = "mm/dd/yyyy"
                if entry is serial_entry:
                    cell.value = (value - EXCEL_EPOCH).days
                    cell.number_format = "General"
                    record.tags.append("serial_date")
            elif isinstance(value, str) and value.startswith("="):
                cell.data_type = "s"  # text that looks like a formula stays text
        records.append(record)
    workbook.properties.creator = "Patron samples"
    workbook.properties.created = workbook.properties.modified = dt.datetime(2025, 3, 31, 18, 0)
    workbook.save(path)
    return records


# --- the three sources together -----------------------------------------------------------


def generate_sources(out_dir: Path, *, customers: int = 200, seed: int = 7) -> SampleSet:
    """Write billing.csv, webshop.jsonl, callcentre.tsv, callcentre.xlsx and manifest.json for
    one population of `customers` people; the same seed writes the same files."""
    if customers < MIN_CUSTOMERS:
        raise ValueError(f"customers must be at least {MIN_CUSTOMERS} to place every broken row")
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    rng = random.Random(seed)
    people = _population(customers, seed, rng)
    members = _members(people, rng)

    billing = _billing(members["billing"], rng)
    _write_delimited(
        billing,
        BILLING_HEADER,
        ";",
        lambda text: text.encode("cp1252", "surrogateescape"),
        out_dir / "billing.csv",
    )
    webshop = _webshop(members["webshop"], people, rng)
    _write_jsonl(webshop, out_dir / "webshop.jsonl")
    calls = _callcentre(members["callcentre"], rng)
    tsv_calls = [_Entry(e.record, [_tsv_value(v) for v in e.values]) for e in calls]
    _write_delimited(
        tsv_calls,
        CALLCENTRE_HEADER,
        "\t",
        lambda text: b"\xff\xfe" + text.encode("utf-16-le"),
        out_dir / "callcentre.tsv",
    )
    xlsx_records = _write_xlsx(calls, out_dir / "callcentre.xlsx", rng)

    files = {
        "billing.csv": SampleFile(
            "billing.csv", "billing", "csv", BILLING_HEADER, "customer_no",
            {"customer_since": "%d.%m.%Y"}, [e.record for e in billing],
            encoding="cp1252", delimiter=";", quotechar='"', line_terminator="\r\n",
        ),
        "webshop.jsonl": SampleFile(
            "webshop.jsonl", "webshop", "jsonl",
            ["id", "customer", "phone", "address", "created_at", "newsletter", "orders_total"],
            "id", {"created_at": "iso8601"}, [e.record for e in webshop],
            encoding="utf-8", line_terminator="\n",
        ),
        "callcentre.tsv": SampleFile(
            "callcentre.tsv", "callcentre", "tsv", CALLCENTRE_HEADER, "Caller ID",
            {"Date of Birth": "%m/%d/%Y", "Last Call": "%m/%d/%Y %H:%M"},
            [e.record for e in calls],
            encoding="utf-16", bom=True, delimiter="\t", quotechar='"', line_terminator="\r\n",
            default_phone_region="DE",
        ),
        "callcentre.xlsx": SampleFile(
            "callcentre.xlsx", "callcentre", "xlsx", CALLCENTRE_HEADER, "Caller ID",
            {"Date of Birth": "excel", "Last Call": "excel"}, xlsx_records,
            sheet="Calls", sheets=["Summary", "Calls"], default_phone_region="DE",
        ),
    }  # fmt: skip
    sample = SampleSet(out_dir, seed, customers, people, files)
    sample.manifest_path.write_text(
        json.dumps(sample.to_json(), indent=2, ensure_ascii=False) + "\n", encoding="utf-8"
    )
    return sample


# --- the million-row benchmark file -------------------------------------------------------

MESSY_NOTES = [
    *[""] * 12,
    "Prefers email, not phone",
    'Said "call back Tuesday", sounded annoyed',
    "Moved from Berlin, new address pending",
    "VIP; handle with care",
    "Two lines:\nsecond line of the note",
    FORMULA_NOTE,
]


def _csv_field(value: str) -> str:
    """`value` as one field of a "," CSV, quoted only when it has to be (as csv.writer does)."""
    if any(ch in value for ch in ',"\n\r'):
        return '"' + value.replace('"', '""') + '"'
    return value


@dataclass
class _MessyPools:
    """What messy rows are combined from, built once and already written as CSV fields.

    Rows are joined from these pieces with one f-string each: csv.writer per row would halve
    the speed. Names carry their email form; a place is phone, street, city, postcode and country
    of one country, both joined and as separate fields for rows that get broken.
    """

    first_names: list[tuple[str, str]]
    last_names: list[tuple[str, str]]
    domains: list[str]
    places: list[tuple[str, list[str]]]
    dates: list[str]
    companies: list[str]
    notes: list[str]


def _messy_pools(rows: int, seed: int) -> _MessyPools:
    rng = random.Random(seed)
    names = max(50, min(rows // 20, 1500))
    places = max(100, min(rows // 10, 20000))
    firsts: list[tuple[str, str]] = []
    lasts: list[tuple[str, str]] = []
    streets: dict[str, list[tuple[str, str, str]]] = {}
    companies: list[str] = []
    for offset, (locale, country) in enumerate(LOCALES.items()):
        fake = Faker(locale)
        fake.seed_instance(seed * 100 + offset)
        for _ in range(names):
            first, last = fake.first_name(), fake.last_name()
            # Most addresses are lower case; some people type their name in capitals.
            case = rng.choices([str.lower, str.capitalize, str.upper], weights=[8, 1, 1])[0]
            firsts.append((_csv_field(first), case(_email_local(first))))
            lasts.append((_csv_field(last), _email_local(last)))
        streets[country] = [
            (fake.street_address(), fake.city(), fake.postcode()) for _ in range(names // 2)
        ]
        companies += [_csv_field(fake.company()) for _ in range(names // 5)]
    # Each number is written in every style once; formatting per place would dominate the time.
    phones: dict[str, list[str]] = {country: [] for country in PHONE_PLANS}
    for country, written in phones.items():
        for _ in range(max(20, places // 25)):
            styles = phone_styles(_random_phone(country, rng))
            written += [styles[s] for s in ("national", "international", "e164", "dashed")]
    labels: dict[str, list[str]] = {}
    for label, country in COUNTRY_LABELS.items():
        labels.setdefault(country, []).append(label)
    place_rows = []
    for _ in range(places):
        country = rng.choices(list(LOCALES.values()), weights=LOCALE_WEIGHTS)[0]
        street, city, postcode = rng.choice(streets[country])
        phone = rng.choice(phones[country]) if rng.random() < 0.9 else ""
        fields = [_csv_field(v) for v in (phone, street, city, postcode)]
        fields.append(rng.choice(labels[country]))
        place_rows.append((",".join(fields), fields))
    dates = []
    for _ in range(2000):
        born = dt.date(1940, 1, 1) + dt.timedelta(days=rng.randrange(65 * 365))
        dates.append(born.isoformat() if rng.random() < 0.5 else born.strftime("%d.%m.%Y"))
    return _MessyPools(
        first_names=firsts,
        last_names=lasts,
        domains=[*PERSONAL_DOMAINS, "Mail.Example", "INBOX.EXAMPLE", "example.com"],
        places=place_rows,
        dates=[*dates, *[""] * 100],
        companies=[*companies, *[""] * (len(companies) * 2)],
        notes=[_csv_field(note) for note in MESSY_NOTES],
    )


def _break_row(kind: str, row: list[str], previous_id: str) -> list[str]:
    """One messy row broken the way `kind` says (see MESSY_BROKEN_KINDS)."""
    if kind == "ragged_short":
        return row[:9]
    if kind == "ragged_long":
        return [*row, "unexpected extra value"]
    if kind == "no_name":
        return [row[0], "", "", *row[3:]]
    if kind == "no_key":
        return ["", *row[1:]]
    if kind == "undecodable":  # a Latin-1 "ü" in a UTF-8 file
        return [row[0], "J\udcfcrgen", *row[2:]]
    if kind == "invalid_email":
        return [*row[:3], "john@@example", *row[4:]]
    if kind == "invalid_phone":
        return [*row[:4], "12", *row[5:]]
    if kind == "invalid_date":
        return [*row[:9], "31.02.1980", *row[10:]]
    return [previous_id, *row[1:3], f"changed.{row[3]}", *row[4:]]  # duplicate_key


def _multiples(every: int, *, after: int, up_to: int) -> range:
    """The multiples of `every` in (after, up_to]; none when `every` is 0."""
    if not every:
        return range(0)
    return range((after + every) // every * every, up_to + 1, every)


def write_messy_csv(
    path: Path, rows: int, *, seed: int = 1, broken_every: int = 50, batch_size: int = 20_000
) -> dict[str, Any]:
    """Stream `rows` messy customer rows (UTF-8, ",") to `path` in constant memory.

    Row number k (1-based, the header not counted) is broken when k is a multiple of
    `broken_every` (0: never), cycling through MESSY_BROKEN_KINDS; a "duplicate_key" row repeats
    the previous row's id with another email. Pools are built once and combined with
    `random.choices` per column, so a million rows take seconds. Returns the counts to expect.
    """
    if broken_every == 1 or broken_every < 0:
        raise ValueError("broken_every must be 0 (no broken rows) or at least 2")
    started = time.perf_counter()
    rng = random.Random(seed)
    pools = _messy_pools(rows, seed)
    broken = dict.fromkeys(MESSY_BROKEN_KINDS, 0)
    path = Path(path)
    with path.open("wb") as out:
        out.write((",".join(MESSY_HEADER) + "\n").encode())
        for start in range(0, rows, batch_size):
            n = min(batch_size, rows - start)
            numbers = range(start + 1, start + n + 1)
            firsts = rng.choices(pools.first_names, k=n)
            lasts = rng.choices(pools.last_names, k=n)
            domains = rng.choices(pools.domains, k=n)
            places = rng.choices(pools.places, k=n)
            dates = rng.choices(pools.dates, k=n)
            companies = rng.choices(pools.companies, k=n)
            notes = rng.choices(pools.notes, k=n)
            lines = [
                f"{number},{fn[0]},{ln[0]},{fn[1]}.{ln[1]}@{d},{place[0]},{born},{co},{note}\n"
                for number, fn, ln, d, place, born, co, note in zip(
                    numbers, firsts, lasts, domains, places, dates, companies, notes, strict=True
                )
            ]
            for number in _multiples(broken_every, after=start, up_to=start + n):
                i = number - start - 1
                kind = MESSY_BROKEN_KINDS[(number // broken_every - 1) % len(MESSY_BROKEN_KINDS)]
                email = f"{firsts[i][1]}.{lasts[i][1]}@{domains[i]}"
                fields = [str(number), firsts[i][0], lasts[i][0], email, *places[i][1]]
                fields += [dates[i], companies[i], notes[i]]
                lines[i] = ",".join(_break_row(kind, fields, str(number - 1))) + "\n"
                broken[kind] += 1
            out.write("".join(lines).encode("utf-8", "surrogateescape"))
    quarantined = {
        "ragged": broken["ragged_short"] + broken["ragged_long"],
        **{reason: broken[reason] for reason in ("no_name", "no_key", "undecodable")},
    }
    valid_rows = rows - sum(quarantined.values())
    counts: dict[str, Any] = {
        "path": str(path),
        "rows": rows,
        "valid_rows": valid_rows,
        "distinct_keys": valid_rows - broken["duplicate_key"],
        "duplicate_keys": broken["duplicate_key"],
        "broken": broken,
        "quarantined": quarantined,
        "flagged": {
            code: broken[code] for code in ("invalid_email", "invalid_phone", "invalid_date")
        },
    }
    counts["bytes"] = path.stat().st_size
    counts["seconds"] = time.perf_counter() - started
    return counts
