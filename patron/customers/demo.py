"""Demo data: a realistic international organisation, fast enough for a million contacts.

`patron demo` does not go through `services`: they validate, audit and rebuild the search
document row by row, which would take hours for a million contacts. The generator writes
straight to the tables in batches instead (psycopg COPY on PostgreSQL, executemany on
SQLite), one transaction per batch, and keeps the services' invariants itself:

* every contact and account gets its `search_document`, built exactly as
  `search.contact_document` / `search.account_document` would build it;
* exactly one primary email, phone and address per parent that has any, and the primary
  one is written first (lowest id), as the services' ordering expects;
* phones carry the E.164 form `phones.to_e164` gives for the number as typed, read in the
  organisation's default region;
* version 1, the owner's team as the record's team, custom field values that pass
  `clean_custom_fields`, timeline `data` that passes the kind's schema.

No audit events are written: demo data has no history. Every email address and domain uses
the reserved `.example` top-level domain, so no demo address can ever reach anyone.

Speed comes from building pools once (names, companies, streets from Faker in several
locales; phone number blocks validated once with `phonenumbers`) and combining them per
row with `random`: Faker and phonenumbers per row would be far too slow at a million rows.
"""

from __future__ import annotations

import datetime as dt
import json
import random
import re
import time
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any, cast

import phonenumbers
from django.contrib.auth.hashers import make_password
from django.core.management.color import no_style
from django.db import connection, models, transaction
from django.utils import timezone
from faker import Faker
from tqdm import tqdm

from patron.core import bulk
from patron.core.models import CustomFieldDefinition, OrganisationSettings, Role, Team, User
from patron.utils.text import digits, fold

from .models import (
    Account,
    AccountRelationship,
    Contact,
    EmailAddress,
    PhoneNumber,
    PostalAddress,
    Tag,
    TimelineEntry,
)

DEMO_PASSWORD = "patron-demo"  # noqa: S105 - the published password of the demo users
DAY = 86400
# From this many contacts on PostgreSQL, the foreign keys and secondary indexes of the tables
# written are dropped during the load and rebuilt after it: building a trigram GIN index once
# is several times faster than maintaining it row by row.
REBUILD_INDEXES_FROM = 50_000


@dataclass(frozen=True)
class Market:
    """A country the demo organisation sells in: its Faker locale, team and language."""

    locale: str
    country: str
    team: str
    language: str
    weight: int


MARKETS = [
    Market("en_US", "US", "North America", "English", 14),
    Market("en_CA", "CA", "North America", "English", 3),
    Market("en_GB", "GB", "UK & Ireland", "English", 8),
    Market("en_IE", "IE", "UK & Ireland", "English", 2),
    Market("de_DE", "DE", "DACH", "German", 8),
    Market("de_AT", "AT", "DACH", "German", 2),
    Market("de_CH", "CH", "DACH", "German", 2),
    Market("fr_FR", "FR", "France & Benelux", "French", 7),
    Market("nl_NL", "NL", "France & Benelux", "Dutch", 3),
    Market("nl_BE", "BE", "France & Benelux", "Dutch", 2),
    Market("es_ES", "ES", "Southern Europe", "Spanish", 5),
    Market("it_IT", "IT", "Southern Europe", "Italian", 5),
    Market("pt_PT", "PT", "Southern Europe", "Portuguese", 2),
    Market("pt_BR", "BR", "Latin America", "Portuguese", 6),
    Market("es_MX", "MX", "Latin America", "Spanish", 4),
]
TEAMS = {
    "North America": "Sales and service for the United States and Canada.",
    "UK & Ireland": "Sales and service for the United Kingdom and Ireland.",
    "DACH": "Sales and service for Germany, Austria and Switzerland.",
    "France & Benelux": "Sales and service for France, the Netherlands and Belgium.",
    "Southern Europe": "Sales and service for Spain, Italy and Portugal.",
    "Latin America": "Sales and service for Brazil and Mexico.",
}
REPS_PER_TEAM = 3
LANGUAGES = sorted({m.language for m in MARKETS})

TAGS = [
    ("VIP", "#b91c1c"),
    ("Newsletter", "#2563eb"),
    ("Partner", "#7c3aed"),
    ("Decision maker", "#047857"),
    ("Churn risk", "#c2410c"),
    ("Trial", "#0891b2"),
    ("Reference customer", "#15803d"),
    ("Webinar attendee", "#4f46e5"),
    ("Conference lead", "#a16207"),
    ("Upsell", "#be185d"),
    ("Do not call", "#475569"),
    ("Event 2026", "#0d9488"),
]
INDUSTRIES = [
    "Software",
    "Manufacturing",
    "Retail",
    "Financial services",
    "Healthcare",
    "Logistics",
    "Education",
    "Hospitality",
    "Construction",
    "Energy",
    "Media",
    "Telecommunications",
    "Professional services",
    "Public sector",
    "Agriculture",
    "Automotive",
    "Food and beverage",
    "Non-profit",
]
JOBS = [
    ("CEO", "Chief Executive Officer"),
    ("CFO", "Chief Financial Officer"),
    ("CTO", "Chief Technology Officer"),
    ("Buyer", "Purchasing Manager"),
    ("Buyer", "Procurement Specialist"),
    ("Decision maker", "Head of Operations"),
    ("Decision maker", "Managing Director"),
    ("Champion", "IT Manager"),
    ("Champion", "Marketing Manager"),
    ("User", "Sales Representative"),
    ("User", "Office Manager"),
    ("User", "Account Executive"),
    ("Billing contact", "Accounts Payable Clerk"),
    ("Billing contact", "Controller"),
    ("Technical contact", "Systems Administrator"),
    ("Technical contact", "Software Engineer"),
    ("Influencer", "Product Manager"),
    ("Influencer", "HR Business Partner"),
]
SECOND_ROLES = ["Advisor", "Board member", "Consultant", "Former employee"]
CONTACT_STAGES = (
    ["subscriber"] * 10
    + ["lead"] * 30
    + ["mql"] * 12
    + ["sql"] * 8
    + ["opportunity"] * 10
    + ["customer"] * 22
    + ["evangelist"] * 3
    + ["former"] * 3
    + ["other"] * 2
)
ACCOUNT_STAGES = (
    ["lead"] * 25
    + ["sql"] * 10
    + ["opportunity"] * 15
    + ["customer"] * 35
    + ["evangelist"] * 5
    + ["former"] * 6
    + ["other"] * 4
)
CUSTOMER_STAGES = {"customer", "evangelist", "former"}
PERSONAL_DOMAINS = [
    "mailbox.example",
    "inbox.example",
    "post.example",
    "webmail.example",
    "freemail.example",
    "homenet.example",
]
TOPICS = [
    "the renewal",
    "pricing for next year",
    "the onboarding plan",
    "a product demo",
    "the support ticket backlog",
    "the integration with their ERP",
    "volume discounts",
    "the pilot project",
    "contract terms",
    "the quarterly business review",
    "training for new staff",
    "the upgrade to the enterprise plan",
    "invoicing questions",
    "their expansion plans",
    "a reference call",
    "data migration",
]
FOLLOW_UPS = [
    "Will send a proposal by Friday.",
    "They will come back after the budget meeting.",
    "Agreed to talk again next month.",
    "Needs approval from finance.",
    "Very positive, ready to move forward.",
    "Raised concerns about timelines.",
    "Asked for a written summary.",
    "Introduced us to their CFO.",
]
TASKS = [
    "Send proposal",
    "Schedule a demo",
    "Follow up on {t}",
    "Prepare the contract",
    "Call back about {t}",
    "Send case studies",
    "Book the quarterly review",
    "Check in after onboarding",
    "Update the billing details",
    "Share pricing for {t}",
]
MEETING_PLACES = ["Video call", "Their office", "Our office", "Conference booth", "Lunch"]
CALL_OUTCOMES = (
    ["connected"] * 6 + ["left_voicemail"] * 2 + ["no_answer"] * 2 + ["busy"] + ["wrong_number"]
)
# Timeline entries per contact (a few have none, some have many) and their kinds.
ENTRY_COUNTS = [0] * 15 + [1] * 20 + [2] * 20 + [3] * 15 + [4] * 10 + [5] * 8 + [6] * 6 + [8] * 6
ENTRY_KINDS = ["note"] * 25 + ["call"] * 30 + ["email"] * 25 + ["meeting"] * 10 + ["task"] * 10

CONTACT_COLUMNS = [
    "id",
    "prefix",
    "first_name",
    "middle_name",
    "last_name",
    "suffix",
    "job_title",
    "date_of_birth",
    "description",
    "owner_id",
    "team_id",
    "lifecycle_stage",
    "custom_fields",
    "search_document",
    "version",
    "created_at",
    "updated_at",
]
ACCOUNT_COLUMNS = [
    "id",
    "name",
    "domain",
    "industry",
    "employee_count",
    "annual_revenue",
    "description",
    "parent_id",
    "owner_id",
    "team_id",
    "lifecycle_stage",
    "custom_fields",
    "search_document",
    "version",
    "created_at",
    "updated_at",
]
POINT_COLUMNS = [
    "contact_id",
    "account_id",
    "is_primary",
    "verified_at",
    "version",
    "created_at",
    "updated_at",
]
EMAIL_COLUMNS = POINT_COLUMNS + ["email", "kind"]
PHONE_COLUMNS = POINT_COLUMNS + ["number", "e164", "extension", "kind"]
ADDRESS_COLUMNS = POINT_COLUMNS + [
    "kind",
    "street",
    "street2",
    "city",
    "region",
    "postal_code",
    "country",
]
RELATIONSHIP_COLUMNS = [
    "contact_id",
    "account_id",
    "role",
    "is_primary",
    "started_on",
    "ended_on",
    "version",
    "created_at",
    "updated_at",
]
TIMELINE_COLUMNS = [
    "kind",
    "contact_id",
    "account_id",
    "occurred_at",
    "subject",
    "body",
    "author_id",
    "data",
    "due_at",
    "assignee_id",
    "completed_at",
    "version",
    "created_at",
    "updated_at",
]


# --- pools: built once, combined per row -----------------------------------------------------


@dataclass
class PhoneBlock:
    """A run of valid numbers that differ only in their last digits, formatted once.

    `national`/`international` hold "#" where the free digits go; `e164_head` is the E.164
    form without them; `national_digits` the national digits without them.
    """

    country: str
    e164_head: str
    national: list[str]
    international: list[str]
    national_digits: str


@dataclass
class MarketPool:
    market: Market
    first_names: list[str]
    last_names: list[str]
    companies: list[str]
    streets: list[str]
    cities: list[tuple[str, str, str]]  # city, postal code, region
    mobile_blocks: list[PhoneBlock]
    landline_blocks: list[PhoneBlock]
    folded: dict[str, str] = field(default_factory=dict)
    ascii: dict[str, str] = field(default_factory=dict)


FREE_DIGITS = 4
_NOT_ALNUM = re.compile(r"[^a-z0-9]+")


def _fill(parts: list[str], suffix: str) -> str:
    """Put the free digits into a template split at its "#" placeholders."""
    out = parts[0]
    for i, ch in enumerate(suffix):
        out += ch + parts[i + 1]
    return out


def _template(formatted: str, k: int) -> str:
    """`formatted` with its last `k` digits replaced by "#"."""
    chars = list(formatted)
    left = k
    for i in range(len(chars) - 1, -1, -1):
        if left and chars[i].isdigit():
            chars[i] = "#"
            left -= 1
    return "".join(chars)


def phone_blocks(
    country: str, number_type: int, count: int, rng: random.Random, default_region: str
) -> list[PhoneBlock]:
    """Up to `count` blocks of valid numbers near the library's example number.

    A block is kept only when sampled completions (including the extremes) are all valid,
    format the same way and read back to the same E.164 from what a user would type.
    """
    from patron.utils.phones import to_e164

    example = phonenumbers.example_number_for_type(country, number_type)
    if example is None:
        return []
    base = str(example.national_number)
    blocks: list[PhoneBlock] = []
    seen: set[str] = set()
    attempts = 0
    while len(blocks) < count and attempts < count * 8:
        attempts += 1
        # Vary the three digits before the free ones; keep the leading digits (the range).
        head = base[:-FREE_DIGITS]
        if len(head) > 3:
            head = head[:-3] + f"{rng.randrange(1000):03d}"
        if head in seen:
            continue
        seen.add(head)
        samples = ["0" * FREE_DIGITS, "9" * FREE_DIGITS] + [
            f"{rng.randrange(10**FREE_DIGITS):0{FREE_DIGITS}d}" for _ in range(6)
        ]
        nat_t = intl_t = None
        ok = True
        for suffix in samples:
            parsed = phonenumbers.parse(head + suffix, country)
            if not phonenumbers.is_valid_number(parsed):
                ok = False
                break
            e164 = phonenumbers.format_number(parsed, phonenumbers.PhoneNumberFormat.E164)
            nat = phonenumbers.format_number(parsed, phonenumbers.PhoneNumberFormat.NATIONAL)
            intl = phonenumbers.format_number(parsed, phonenumbers.PhoneNumberFormat.INTERNATIONAL)
            if nat_t is None:
                nat_t, intl_t, e164_head = (
                    _template(nat, FREE_DIGITS),
                    _template(intl, FREE_DIGITS),
                    e164[:-FREE_DIGITS],
                )
            if (
                _fill(nat_t.split("#"), suffix) != nat
                or _fill(cast(str, intl_t).split("#"), suffix) != intl
                or e164 != e164_head + suffix
                or to_e164(intl, default_region) != e164
                or (country == default_region and to_e164(nat, default_region) != e164)
            ):
                ok = False
                break
        if ok and nat_t and intl_t:
            blocks.append(
                PhoneBlock(
                    country,
                    e164_head,
                    nat_t.split("#"),
                    intl_t.split("#"),
                    digits(nat_t.replace("#", "")),
                )
            )
    return blocks


def _unique(values: Sequence[str]) -> list[str]:
    return sorted({v.strip() for v in values if v and v.strip()})


def build_pools(
    *, seed: int, size: int, phone_blocks_per_type: int, default_region: str
) -> list[MarketPool]:
    """Names, companies, streets and phone blocks per market, from Faker and phonenumbers."""
    pools = []
    for index, market in enumerate(MARKETS):
        fake = Faker(market.locale)
        fake.seed_instance(seed * 1000 + index)
        rng = random.Random(seed * 1000 + index)
        firsts = _unique([fake.first_name() for _ in range(size)])
        lasts = _unique([fake.last_name() for _ in range(size)])
        companies = _unique([fake.company() for _ in range(size)])
        streets = _unique([fake.street_address().replace("\n", ", ") for _ in range(size)])
        has_region = hasattr(fake, "administrative_unit")
        cities = [
            (fake.city(), fake.postcode(), fake.administrative_unit() if has_region else "")
            for _ in range(max(size // 2, 10))
        ]
        pool = MarketPool(
            market,
            firsts,
            lasts,
            companies,
            streets,
            cities,
            phone_blocks(
                market.country,
                phonenumbers.PhoneNumberType.MOBILE,
                phone_blocks_per_type,
                rng,
                default_region,
            ),
            phone_blocks(
                market.country,
                phonenumbers.PhoneNumberType.FIXED_LINE,
                phone_blocks_per_type,
                rng,
                default_region,
            ),
        )
        for name in firsts + lasts:
            pool.folded[name] = fold(name)
            pool.ascii[name] = _NOT_ALNUM.sub("", fold(name))
        if not pool.mobile_blocks:
            pool.mobile_blocks = pool.landline_blocks
        if not pool.landline_blocks:
            pool.landline_blocks = pool.mobile_blocks
        pools.append(pool)
    return pools


# --- writing ------------------------------------------------------------------------------------

Write = tuple[type[models.Model] | str, Sequence[str], list[tuple]]


class TableWriter:
    """Appends batches of rows (tuples in a given column order) to tables with
    `core.bulk.insert_rows` (COPY on PostgreSQL, executemany elsewhere), one transaction per
    batch. Datetimes are aware on
    PostgreSQL and naive UTC on SQLite, the form Django itself stores.

    (Writing on a background thread while the next batch is generated was tried: on two
    cores it was no faster, the COPY formatting competes with generation for the GIL.)
    """

    def __init__(self) -> None:
        self.postgres = connection.vendor == "postgresql"
        self.counts: dict[str, int] = {}

    def submit(self, writes: list[Write]) -> None:
        self._write_batch(writes)

    def _write_batch(self, writes: list[Write]) -> None:
        with transaction.atomic():
            for model, columns, rows in writes:
                self._write(model, columns, rows)

    def _write(
        self, model: type[models.Model] | str, columns: Sequence[str], rows: list[tuple]
    ) -> None:
        written = bulk.insert_rows(model, columns, rows)
        if written:
            table = model if isinstance(model, str) else model._meta.db_table
            self.counts[table] = self.counts.get(table, 0) + written


# --- the organisation ---------------------------------------------------------------------------


@dataclass
class Staff:
    """The demo users and who owns records in each team."""

    users: dict[str, User]
    owners_by_team: dict[str, list[User]]  # reps (several times) and the manager
    team_members: dict[str, list[User]]
    emails: dict[int, str]


def _staff_plan() -> list[tuple[str, str, str | None]]:
    """(username, role slug, team name) of every demo user."""
    plan: list[tuple[str, str, str | None]] = [("admin", "admin", None)]
    teams = list(TEAMS)
    for i, team in enumerate(teams, 1):
        plan.append((f"manager{i}", "manager", team))
        for j in range(REPS_PER_TEAM):
            plan.append((f"rep{(i - 1) * REPS_PER_TEAM + j + 1}", "sales_rep", team))
    plan += [
        ("marketer1", "marketer", teams[0]),
        ("marketer2", "marketer", teams[2]),
        ("agent1", "service_agent", teams[0]),
        ("agent2", "service_agent", teams[1]),
        ("agent3", "service_agent", teams[2]),
        ("viewer", "read_only", teams[1]),
    ]
    return plan


def ensure_organisation(rng: random.Random) -> Staff:
    """Teams, users of every role, tags and custom field definitions (created if missing)."""
    teams = {
        name: Team.objects.get_or_create(name=name, defaults={"description": desc})[0]
        for name, desc in TEAMS.items()
    }
    roles = {r.slug: r for r in Role.objects.all()}
    password = make_password(DEMO_PASSWORD)
    fake = Faker(["en_GB", "de_DE", "fr_FR", "es_ES", "it_IT", "en_US"])
    fake.seed_instance(rng.randrange(2**31))
    plan = _staff_plan()
    names = [(fake.first_name(), fake.last_name()) for _ in plan]
    existing = {u.username: u for u in User.objects.filter(username__in=[p[0] for p in plan])}
    missing = []
    for (username, slug, team), (first, last) in zip(plan, names, strict=True):
        if username in existing:
            continue
        is_admin = bool(roles[slug].sees_all_records)
        missing.append(
            User(
                username=username,
                first_name=first,
                last_name=last,
                email=f"{username}@patron-demo.example",
                password=password,
                role=roles[slug],
                team=teams[team] if team else None,
                is_staff=is_admin,
                is_superuser=is_admin,
            )
        )
    User.objects.bulk_create(missing)
    users = {u.username: u for u in User.objects.filter(username__in=[p[0] for p in plan])}
    owners: dict[str, list[User]] = {}
    members: dict[str, list[User]] = {}
    for username, slug, team in plan:
        if team is None:
            continue
        members.setdefault(team, []).append(users[username])
        if slug == "sales_rep":
            owners.setdefault(team, []).extend([users[username]] * 2)
        elif slug == "manager":
            owners.setdefault(team, []).append(users[username])
    for name, color in TAGS:
        Tag.objects.get_or_create(name=name, defaults={"color": color})
    CustomFieldDefinition.objects.get_or_create(
        object_type="contact",
        name="preferred_language",
        defaults={
            "label": "Preferred language",
            "field_type": "choice",
            "choices": LANGUAGES,
            "show_in_list": True,
            "help_text": "Language for emails and calls.",
        },
    )
    CustomFieldDefinition.objects.get_or_create(
        object_type="account",
        name="customer_since",
        defaults={
            "label": "Customer since",
            "field_type": "date",
            "help_text": "Date of the first signed contract.",
        },
    )
    return Staff(users, owners, members, {u.pk: u.email for u in users.values()})


# --- extensions: other apps' demo data -----------------------------------------------------------


@dataclass
class DemoContext:
    """What an extension's loader gets: the demo's organisation, sizes, randomness and output."""

    rng: random.Random  # seeded from the demo's seed and the extension's name
    seed: int
    contacts: int
    accounts: int
    admin: User  # the demo's administrator, the actor of the services the loaders call
    staff: Staff
    today: dt.date
    say: Callable[[str], None]  # prints a line of progress


@dataclass(frozen=True)
class Extension:
    name: str
    load: Callable[..., None]


_extensions: dict[str, Extension] = {}
# `patron demo` runs the extensions from its documented minimum size on; smaller loads (the
# customers' own tests) are the customers' data alone. `generate(extensions=True)` forces them.
EXTENSIONS_FROM = 1000


def register_extension(name: str, load: Callable[..., None]) -> None:
    """Have `load(context: DemoContext)` run at the end of the demo load, after the
    extensions registered before it. Apps register from their AppConfig.ready(); registering
    a name again replaces its loader (it still runs once, in its first place)."""
    _extensions[name] = Extension(name, load)


def extensions() -> list[Extension]:
    return list(_extensions.values())


# --- the generator --------------------------------------------------------------------------------


@dataclass
class DemoResult:
    contacts: int = 0
    accounts: int = 0
    users: int = 0
    rows: dict[str, int] = field(default_factory=dict)
    seconds: float = 0.0
    skipped: bool = False

    @property
    def total_rows(self) -> int:
        return sum(self.rows.values())


def _next_id(model: type[models.Model]) -> int:
    return (model._default_manager.aggregate(m=models.Max("id"))["m"] or 0) + 1


class DemoGenerator:
    """Generates accounts, then contacts with everything hanging off them, in batches."""

    def __init__(
        self,
        *,
        contacts: int,
        seed: int,
        batch_size: int,
        progress: bool,
        extensions: bool = False,
    ) -> None:
        self.n_contacts = contacts
        self.with_extensions = extensions
        self.n_accounts = max(1, contacts // 5)
        self.seed = seed
        self.batch_size = max(100, batch_size)
        self.progress = progress
        self.rng = random.Random(seed)
        postgres = connection.vendor == "postgresql"
        self.bulk = postgres and contacts >= REBUILD_INDEXES_FROM
        self.writer = TableWriter()
        # Anchor "now" to the start of the day so that one seed gives the same data all day.
        today = timezone.now().replace(hour=0, minute=0, second=0, microsecond=0)
        self.now_ts = int(today.timestamp())
        epoch = dt.datetime(1970, 1, 1, tzinfo=dt.UTC)
        self.epoch = epoch if postgres else epoch.replace(tzinfo=None)
        self.today = today.date()

    def dt(self, ts: int) -> dt.datetime:
        return self.epoch + dt.timedelta(seconds=ts)

    # -- orchestration --

    def run(self, stdout: Callable[[str], None] = print) -> DemoResult:
        started = time.monotonic()
        rng = self.rng
        region = OrganisationSettings.objects.get_or_create(pk=1)[0].default_phone_region
        self.region = region
        with transaction.atomic():
            self.staff = ensure_organisation(rng)
        size = min(2000, max(60, self.n_contacts // 25))
        blocks = min(25, max(3, self.n_contacts // 20000))
        stdout(f"Building name, company, street and phone pools ({len(MARKETS)} locales)…")
        self.pools = build_pools(
            seed=self.seed, size=size, phone_blocks_per_type=blocks, default_region=region
        )
        self.market_choices = [i for i, m in enumerate(MARKETS) for _ in range(m.weight)]
        self.tags = {t.name: t.pk for t in Tag.objects.all()}
        self.tag_ids = [self.tags[name] for name, _ in TAGS]
        self.entry_seq = 0
        with self._indexes_deferred(stdout):
            self._generate_accounts()
            self._generate_contacts()
        self._finish()
        if self.with_extensions:
            self._run_extensions(stdout)
        result = DemoResult(
            contacts=self.n_contacts,
            accounts=self.n_accounts,
            users=len(self.staff.users),
            rows=dict(self.writer.counts),
            seconds=time.monotonic() - started,
        )
        return result

    def _run_extensions(self, stdout: Callable[[str], None]) -> None:
        """Each registered extension's loader, in registration order, in one transaction each."""
        for extension in extensions():
            started = time.monotonic()
            stdout(f"Demo {extension.name}…")
            context = DemoContext(
                rng=random.Random(f"{self.seed}:{extension.name}"),
                seed=self.seed,
                contacts=self.n_contacts,
                accounts=self.n_accounts,
                admin=self.staff.users["admin"],
                staff=self.staff,
                today=self.today,
                say=lambda line: stdout(f"  {line}"),
            )
            with transaction.atomic():
                extension.load(context)
            stdout(f"  {extension.name} done in {time.monotonic() - started:.1f} s.")

    def _bar(self, total: int, desc: str, unit: str) -> tqdm:
        return tqdm(
            total=total,
            desc=desc,
            unit=f" {unit}",
            disable=not self.progress,
            unit_scale=True,
            smoothing=0.1,
        )

    @contextmanager
    def _indexes_deferred(self, stdout: Callable[[str], None]) -> Iterator[None]:
        """On PostgreSQL, for a large load, do what pg_restore does: drop the foreign keys
        and secondary indexes of the tables written (not primary keys nor the indexes behind
        unique constraints), load, then rebuild the indexes and add the foreign keys back.

        Adding a foreign key back checks every row in one join, far cheaper than one
        trigger check per inserted row; a broken reference still fails the command. The
        rebuild runs even when the load fails half way.
        """
        if not self.bulk:
            yield
            return
        qn = connection.ops.quote_name
        tables = [
            m._meta.db_table
            for m in (
                Account,
                Contact,
                EmailAddress,
                PhoneNumber,
                PostalAddress,
                AccountRelationship,
                TimelineEntry,
            )
        ]
        tables += [Account.tags.through._meta.db_table, Contact.tags.through._meta.db_table]
        with connection.cursor() as cursor:
            if connection.in_atomic_block:
                # Inside a caller's transaction (tests): run pending deferred checks now,
                # PostgreSQL refuses to alter a table that has some.
                cursor.execute("SET CONSTRAINTS ALL IMMEDIATE")
            cursor.execute(
                "SELECT t.relname, c.conname, pg_get_constraintdef(c.oid) FROM pg_constraint c "
                "JOIN pg_class t ON t.oid = c.conrelid WHERE c.contype = 'f' "
                "AND t.relname = ANY(%s) AND pg_table_is_visible(t.oid) "
                "ORDER BY t.relname, c.conname",
                [tables],
            )
            foreign_keys = cursor.fetchall()
            for table, name, _ in foreign_keys:
                cursor.execute(f"ALTER TABLE {qn(table)} DROP CONSTRAINT {qn(name)}")
            cursor.execute(
                "SELECT i.relname, pg_get_indexdef(i.oid) FROM pg_index x "
                "JOIN pg_class i ON i.oid = x.indexrelid JOIN pg_class t ON t.oid = x.indrelid "
                "WHERE t.relname = ANY(%s) AND pg_table_is_visible(t.oid) "
                "AND NOT x.indisprimary "
                "AND NOT EXISTS (SELECT 1 FROM pg_constraint c WHERE c.conindid = x.indexrelid) "
                "ORDER BY t.relname, i.relname",
                [tables],
            )
            indexes = cursor.fetchall()
            for name, _ in indexes:
                cursor.execute(f"DROP INDEX {qn(name)}")
        try:
            yield
        finally:
            stdout(
                f"Rebuilding {len(indexes)} indexes and checking {len(foreign_keys)} foreign keys…"
            )
            bar = self._bar(len(indexes) + len(foreign_keys), "indexes", "index")
            with connection.cursor() as cursor:
                if connection.in_atomic_block:
                    cursor.execute("SET CONSTRAINTS ALL IMMEDIATE")
                cursor.execute("SET maintenance_work_mem = '512MB'")
                for _, definition in indexes:
                    cursor.execute(definition)
                    bar.update(1)
                for table, name, definition in foreign_keys:
                    cursor.execute(
                        f"ALTER TABLE {qn(table)} ADD CONSTRAINT {qn(name)} {definition}"
                    )
                    bar.update(1)
                cursor.execute("RESET maintenance_work_mem")
            bar.close()

    def _finish(self) -> None:
        """Move the id sequences past the ids we chose, and refresh planner statistics."""
        with connection.cursor() as cursor:
            if self.writer.postgres:
                for sql in connection.ops.sequence_reset_sql(no_style(), [Contact, Account]):
                    cursor.execute(sql)
            tables = sorted(self.writer.counts)
            if self.writer.postgres:
                cursor.execute("ANALYZE " + ", ".join(connection.ops.quote_name(t) for t in tables))
            else:
                cursor.execute("ANALYZE")

    def _owner(self, team: str) -> User:
        return self.rng.choice(self.staff.owners_by_team[team])

    def _created(self, not_before: int) -> int:
        """A creation time in the past two years, after `not_before`."""
        start = max(self.now_ts - 730 * DAY, not_before)
        return self.rng.randint(start, self.now_ts - 3600)

    def _phone(
        self,
        block: PhoneBlock,
        kind: str,
        is_primary: bool,
        parent: tuple[int | None, int | None],
        ts: int,
    ) -> tuple[tuple, list[str]]:
        """A phone row and its search variants (as `phones.search_variants` gives them)."""
        rng = self.rng
        suffix = f"{rng.randrange(10**FREE_DIGITS):0{FREE_DIGITS}d}"
        if block.country == self.region and rng.random() < 0.6:
            number = _fill(block.national, suffix)
        else:
            number = _fill(block.international, suffix)
        e164 = block.e164_head + suffix
        variants = list(
            dict.fromkeys(
                v for v in (digits(number), e164[1:], block.national_digits + suffix) if v
            )
        )
        when = self.dt(ts)
        row = (parent[0], parent[1], is_primary, None, 1, when, when, number, e164, "", kind)
        return row, variants

    def _address(
        self, pool: MarketPool, kind: str, parent: tuple[int | None, int | None], ts: int
    ) -> tuple:
        rng = self.rng
        city, postcode, region = rng.choice(pool.cities)
        when = self.dt(ts)
        return (
            parent[0],
            parent[1],
            True,
            None,
            1,
            when,
            when,
            kind,
            rng.choice(pool.streets),
            "",
            city,
            region,
            postcode,
            pool.market.country,
        )

    # -- accounts --

    def _generate_accounts(self) -> None:
        rng = self.rng
        self.first_account_id = first_id = _next_id(Account)
        n = self.n_accounts
        self.acc_market = [0] * n
        self.acc_owner: list[User] = [None] * n  # type: ignore[list-item]
        self.acc_domain = [""] * n
        self.acc_created = [0] * n
        used_domains: dict[str, int] = dict.fromkeys(
            Account.objects.exclude(domain="").values_list("domain", flat=True), 1
        )
        bar = self._bar(n, "accounts", "account")
        for start in range(0, n, self.batch_size):
            stop = min(n, start + self.batch_size)
            accounts, emails, phone_rows, addresses, tags, entries = [], [], [], [], [], []
            for i in range(start, stop):
                market_index = rng.choice(self.market_choices)
                pool = self.pools[market_index]
                market = pool.market
                name = rng.choice(pool.companies)
                slug = _NOT_ALNUM.sub("-", fold(name)).strip("-")[:40].strip("-") or "company"
                domain = f"{slug}.{market.country.lower()}.example"
                if domain in used_domains:
                    used_domains[domain] += 1
                    domain = f"{slug}-{used_domains[domain]}.{market.country.lower()}.example"
                used_domains[domain] = 1
                owner = self._owner(market.team)
                created = self._created(0)
                updated = rng.randint(created, self.now_ts)
                stage = rng.choice(ACCOUNT_STAGES)
                custom: dict[str, Any] = {}
                if stage in CUSTOMER_STAGES:
                    since = self.today - dt.timedelta(days=rng.randint(30, 3650))
                    custom["customer_since"] = since.isoformat()
                employees = max(1, min(250_000, int(rng.lognormvariate(3.6, 1.6))))
                revenue = Decimal(employees * rng.randint(60, 400) * 1000)
                account_id = first_id + i
                parent_id = None
                if i > 10 and rng.random() < 0.03:
                    parent_id = first_id + rng.randrange(i)
                description = ""
                if rng.random() < 0.2:
                    description = (
                        f"{rng.choice(INDUSTRIES)} company in {rng.choice(pool.cities)[0]}."
                    )
                parent = (None, account_id)
                document = [fold(name), domain]
                if rng.random() < 0.6:
                    email = f"{rng.choice(['info', 'contact', 'hello', 'office'])}@{domain}"
                    emails.append(
                        (
                            None,
                            account_id,
                            True,
                            None,
                            1,
                            self.dt(created),
                            self.dt(created),
                            email,
                            "work",
                        )
                    )
                    document.append(email)
                if rng.random() < 0.7:
                    row, variants = self._phone(
                        rng.choice(pool.landline_blocks), "work", True, parent, created
                    )
                    phone_rows.append(row)
                    document += variants
                if rng.random() < 0.9:
                    addresses.append(self._address(pool, "billing", parent, created))
                if rng.random() < 0.2:
                    tags.append((account_id, rng.choice(self.tag_ids)))
                for _ in range(rng.choice((0, 0, 1, 1, 1, 2))):
                    entries.append(
                        self._entry(None, account_id, owner, market.team, created, f"info@{domain}")
                    )
                accounts.append(
                    (
                        account_id,
                        name,
                        domain,
                        rng.choice(INDUSTRIES),
                        employees,
                        revenue,
                        description,
                        parent_id,
                        owner.pk,
                        owner.team_id,
                        stage,
                        json.dumps(custom),
                        " ".join(t for t in document if t),
                        1,
                        self.dt(created),
                        self.dt(updated),
                    )
                )
                self.acc_market[i] = market_index
                self.acc_owner[i] = owner
                self.acc_domain[i] = domain
                self.acc_created[i] = created
            self.writer.submit(
                [
                    (Account, ACCOUNT_COLUMNS, accounts),
                    (EmailAddress, EMAIL_COLUMNS, emails),
                    (PhoneNumber, PHONE_COLUMNS, phone_rows),
                    (PostalAddress, ADDRESS_COLUMNS, addresses),
                    (Account.tags.through._meta.db_table, ["account_id", "tag_id"], tags),
                    (TimelineEntry, TIMELINE_COLUMNS, entries),
                ]
            )
            bar.update(stop - start)
        bar.close()

    # -- contacts --

    def _generate_contacts(self) -> None:
        rng = self.rng
        first_id = _next_id(Contact)
        n = self.n_contacts
        n_acc = self.n_accounts
        first_account = self.first_account_id
        pools = self.pools
        market_choices = self.market_choices
        dt_ = self.dt
        bar = self._bar(n, "contacts", "contact")
        # (contact, account, role, is_primary, started, ended, version, created, updated)
        rels: list[
            tuple[
                int, int, str, bool, dt.date | None, dt.date | None, int, dt.datetime, dt.datetime
            ]
        ]
        for start in range(0, n, self.batch_size):
            stop = min(n, start + self.batch_size)
            contacts, emails, phone_rows, addresses, rels, tags, entries = (
                [],
                [],
                [],
                [],
                [],
                [],
                [],
            )
            for i in range(start, stop):
                contact_id = first_id + i
                account_index = rng.randrange(n_acc) if rng.random() < 0.85 else None
                if account_index is not None and rng.random() < 0.9:
                    market_index = self.acc_market[account_index]
                else:
                    market_index = rng.choice(market_choices)
                pool = pools[market_index]
                market = pool.market
                first = rng.choice(pool.first_names)
                last = rng.choice(pool.last_names)
                middle = rng.choice(pool.first_names) if rng.random() < 0.08 else ""
                prefix = "Dr." if rng.random() < 0.03 else ""
                role, title = rng.choice(JOBS)
                if account_index is not None and rng.random() < 0.8:
                    owner = self.acc_owner[account_index]
                else:
                    owner = self._owner(market.team)
                not_before = self.acc_created[account_index] if account_index is not None else 0
                created = self._created(not_before)
                updated = rng.randint(created, self.now_ts)
                custom = {"preferred_language": market.language} if rng.random() < 0.7 else {}
                dob = None
                if rng.random() < 0.25:
                    dob = self.today - dt.timedelta(days=rng.randint(20 * 365, 70 * 365))
                parent = (contact_id, None)
                when = dt_(created)
                # Emails: a work address on the account's domain and/or a personal one.
                local = pool.ascii[first] or "contact"
                lastpart = pool.ascii[last] or "person"
                address_list = []
                if account_index is not None:
                    style = rng.random()
                    if style < 0.6:
                        work_local = f"{local}.{lastpart}"
                    elif style < 0.8:
                        work_local = f"{local[0]}.{lastpart}"
                    else:
                        work_local = f"{local}{lastpart[0]}"
                    address_list.append((f"{work_local}@{self.acc_domain[account_index]}", "work"))
                if account_index is None or rng.random() < 0.45:
                    number = f"{rng.randrange(100)}" if rng.random() < 0.5 else ""
                    sep = rng.choice((".", "_", ""))
                    address_list.append(
                        (
                            f"{local}{sep}{lastpart}{number}@{rng.choice(PERSONAL_DOMAINS)}",
                            "personal",
                        )
                    )
                if len(address_list) == 2 and rng.random() < 0.25:
                    address_list.reverse()
                for position, (email, kind) in enumerate(address_list):
                    emails.append(
                        (contact_id, None, position == 0, None, 1, when, when, email, kind)
                    )
                # Phones: a mobile in their country, sometimes the office line too.
                phone_specs = [(rng.choice(pool.mobile_blocks), "mobile")]
                if rng.random() < 0.4:
                    office = (
                        pools[self.acc_market[account_index]] if account_index is not None else pool
                    )
                    phone_specs.append((rng.choice(office.landline_blocks), "work"))
                    if rng.random() < 0.3:
                        phone_specs.reverse()
                phone_variants: list[str] = []
                for position, (block, kind) in enumerate(phone_specs):
                    row, variants = self._phone(block, kind, position == 0, parent, created)
                    phone_rows.append(row)
                    phone_variants += variants
                if rng.random() < 0.6:
                    addresses.append(
                        self._address(
                            pool,
                            "home" if account_index is None else rng.choice(("home", "work")),
                            parent,
                            created,
                        )
                    )
                if account_index is not None:
                    account_id = first_account + account_index
                    ended = None
                    if rng.random() < 0.04:
                        ended = self.today - dt.timedelta(days=rng.randint(1, 300))
                    rels.append(
                        (contact_id, account_id, role, True, when.date(), ended, 1, when, when)
                    )
                    if rng.random() < 0.1 and n_acc > 1:
                        other = rng.randrange(n_acc)
                        if other != account_index:
                            rels.append(
                                (
                                    contact_id,
                                    first_account + other,
                                    rng.choice(SECOND_ROLES),
                                    False,
                                    None,
                                    None,
                                    1,
                                    when,
                                    when,
                                )
                            )
                if rng.random() < 0.3:
                    for tag_id in set(rng.sample(self.tag_ids, rng.choice((1, 1, 2)))):
                        tags.append((contact_id, tag_id))
                primary_email = address_list[0][0] if address_list else ""
                for _ in range(rng.choice(ENTRY_COUNTS)):
                    entries.append(
                        self._entry(contact_id, None, owner, market.team, created, primary_email)
                    )
                folded = pool.folded
                document = [
                    t
                    for t in (
                        fold(prefix),
                        folded[first],
                        folded[middle] if middle else "",
                        folded[last],
                    )
                    if t
                ]
                document += [e for e, _ in address_list]
                document += phone_variants
                contacts.append(
                    (
                        contact_id,
                        prefix,
                        first,
                        middle,
                        last,
                        "",
                        title,
                        dob,
                        "",
                        owner.pk,
                        owner.team_id,
                        rng.choice(CONTACT_STAGES),
                        json.dumps(custom),
                        " ".join(document),
                        1,
                        when,
                        dt_(updated),
                    )
                )
            self.writer.submit(
                [
                    (Contact, CONTACT_COLUMNS, contacts),
                    (EmailAddress, EMAIL_COLUMNS, emails),
                    (PhoneNumber, PHONE_COLUMNS, phone_rows),
                    (PostalAddress, ADDRESS_COLUMNS, addresses),
                    (AccountRelationship, RELATIONSHIP_COLUMNS, rels),
                    (Contact.tags.through._meta.db_table, ["contact_id", "tag_id"], tags),
                    (TimelineEntry, TIMELINE_COLUMNS, entries),
                ]
            )
            bar.update(stop - start)
        bar.close()

    # -- timeline --

    def _entry(
        self,
        contact_id: int | None,
        account_id: int | None,
        owner: User,
        team: str,
        created: int,
        contact_email: str,
    ) -> tuple:
        """One note, call, email, meeting or task, at some time after the record was created."""
        rng = self.rng
        kind = rng.choice(ENTRY_KINDS)
        author = owner if rng.random() < 0.8 else rng.choice(self.staff.team_members[team])
        occurred = rng.randint(created, self.now_ts)
        topic = rng.choice(TOPICS)
        subject = body = ""
        data: dict[str, Any] = {}
        due = completed = None
        assignee_id = None
        if kind == "note":
            body = f"Talked about {topic}. {rng.choice(FOLLOW_UPS)}"
        elif kind == "call":
            direction = "inbound" if rng.random() < 0.35 else "outbound"
            outcome = rng.choice(CALL_OUTCOMES)
            duration = (
                rng.randint(60, 2400)
                if outcome == "connected"
                else (rng.randint(15, 60) if outcome == "left_voicemail" else 0)
            )
            data = {"direction": direction, "duration_seconds": duration, "outcome": outcome}
            subject = f"{direction.capitalize()} call about {topic}"
            if outcome == "connected":
                body = rng.choice(FOLLOW_UPS)
        elif kind == "meeting":
            data = {
                "duration_minutes": rng.choice((15, 30, 30, 45, 60, 90)),
                "location": rng.choice(MEETING_PLACES),
            }
            subject = f"Meeting: {topic}"
            body = rng.choice(FOLLOW_UPS)
        elif kind == "email":
            inbound = rng.random() < 0.4
            author_email = self.staff.emails[author.pk]
            self.entry_seq += 1
            data = {
                "direction": "inbound" if inbound else "outbound",
                "from_address": contact_email if inbound else author_email,
                "to_addresses": [author_email if inbound else contact_email],
                "message_id": f"<demo-{self.seed}-{self.entry_seq}@patron-demo.example>",
            }
            subject = ("Re: " if inbound else "") + topic[0].upper() + topic[1:]
            body = f"Hello, following up on {topic}. {rng.choice(FOLLOW_UPS)}"
        else:  # task
            subject = rng.choice(TASKS).format(t=topic)
            assignee_id = owner.pk
            due_ts = occurred + rng.randint(1, 21) * DAY
            due = self.dt(due_ts)
            if due_ts < self.now_ts:
                if rng.random() < 0.8:  # most past tasks are done; the rest are overdue
                    completed = self.dt(rng.randint(occurred, min(due_ts + 3 * DAY, self.now_ts)))
            elif rng.random() < 0.1:
                completed = self.dt(rng.randint(occurred, self.now_ts))
        when = self.dt(occurred)
        return (
            kind,
            contact_id,
            account_id,
            when,
            subject,
            body,
            author.pk,
            json.dumps(data),
            due,
            assignee_id,
            completed,
            1,
            when,
            completed or when,
        )


def generate(
    *,
    contacts: int = 5000,
    seed: int = 42,
    batch_size: int = 5000,
    progress: bool = True,
    stdout: Callable[[str], None] = print,
    extensions: bool = False,
) -> DemoResult:
    """Generate a demo organisation with `contacts` contacts (and contacts // 5 accounts);
    with `extensions`, then run the other apps' registered loaders (`register_extension`)."""
    generator = DemoGenerator(
        contacts=contacts,
        seed=seed,
        batch_size=batch_size,
        progress=progress,
        extensions=extensions,
    )
    return generator.run(stdout=stdout)


def has_data() -> bool:
    return Contact.objects.exists()
