"""API and page latency on a large demo database, side by side with the raw SQL behind it.

Builds (or reuses, when it already holds that many contacts) a demo database with
`patron demo`, then measures in-process with django.test.Client, signed in as a sales rep
(rep1) and as the administrator:

* the API contact list (GET /api/contacts?limit=50) and account list (GET /api/accounts?limit=50),
* API search by name, by email and by phone (GET /api/contacts?q=...&limit=50), with real
  values picked from the data and varied per request,
* the contact detail page (GET /contacts/<id>/).

For every request the same statements are also replayed as raw SQL through
`connection.cursor()` (each SELECT the request ran, same parameters, rows fetched), so the
difference is what Django, ninja, permissions, serialisation and templates add. The
statements are captured on an untimed run of the same request just before; the request and
the replay are then timed one after the other, both with warm caches.

    .venv/bin/python benchmarks/api_latency.py                        # PostgreSQL, 1M contacts
    .venv/bin/python benchmarks/api_latency.py --database-url sqlite  # SQLite, 100k contacts

Results go to benchmarks/results/ as JSON (gitignored); docs/benchmarks.md records them.
"""

from __future__ import annotations

import argparse
import gc
import json
import os
import platform
import random
import re
import statistics
import sys
import time
from pathlib import Path
from typing import Any
from urllib.parse import urlencode, urlparse

ROOT = Path(__file__).resolve().parent.parent
RESULTS = ROOT / "benchmarks" / "results"
DEFAULT_PG = "postgres://postgres@127.0.0.1:5432/patron_bench"
TARGETS_MS = {"list": 30.0, "search": 50.0, "overhead": 10.0, "duplicate check": 50.0}


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument(
        "--database-url",
        default=DEFAULT_PG,
        help="Database to build or reuse; 'sqlite' means a file under "
        "benchmarks/results/ (default: %(default)s).",
    )
    parser.add_argument(
        "--contacts",
        type=int,
        default=None,
        help="Size of the demo database (default: 1,000,000 on PostgreSQL, 100,000 on SQLite).",
    )
    parser.add_argument(
        "--requests",
        type=int,
        default=200,
        help="Timed requests per scenario and user (default: %(default)s).",
    )
    parser.add_argument(
        "--only",
        default=None,
        help="Run only the scenarios whose name contains this text (case-insensitive), "
        "e.g. --only 'contact page'.",
    )
    parser.add_argument("--warmup", type=int, default=20)
    parser.add_argument("--seed", type=int, default=42)
    parser.add_argument("--batch-size", type=int, default=10000)
    parser.add_argument(
        "--rebuild",
        action="store_true",
        help="Drop the database (or delete the SQLite file) and generate it again.",
    )
    args = parser.parse_args()
    if args.database_url == "sqlite":
        size = args.contacts or 100_000
        args.database_url = f"sqlite:///{RESULTS / f'bench-{size}.sqlite3'}"
    if args.contacts is None:
        args.contacts = 100_000 if args.database_url.startswith("sqlite") else 1_000_000
    return args


# --- the database --------------------------------------------------------------------------


def ensure_postgres_database(url: str, *, drop: bool) -> None:
    """Create the PostgreSQL database named in `url` if missing (or drop it first)."""
    import psycopg

    parsed = urlparse(url)
    name = parsed.path.lstrip("/")
    admin_url = parsed._replace(path="/postgres").geturl()
    with psycopg.connect(admin_url, autocommit=True) as conn:
        exists = conn.execute("SELECT 1 FROM pg_database WHERE datname = %s", [name]).fetchone()
        if exists and drop:
            print(f"Dropping database {name}…")
            conn.execute(f'DROP DATABASE "{name}" WITH (FORCE)')
            exists = None
        if not exists:
            print(f"Creating database {name}…")
            conn.execute(f'CREATE DATABASE "{name}"')


def prepare(args: argparse.Namespace) -> dict[str, Any] | None:
    """Migrate, and generate the demo data unless the database already has that size.
    Returns the generation figures when data was generated in this run."""
    from django.core.management import call_command

    from patron.customers.models import Contact

    call_command("migrate", verbosity=0, interactive=False)
    existing = Contact.objects.count()
    if existing == args.contacts:
        print(f"Reusing the demo database: {existing:,} contacts.")
        return None
    if existing:
        sys.exit(
            f"The database holds {existing:,} contacts, not {args.contacts:,}: "
            "pass --rebuild to start again."
        )
    print(
        f"Generating {args.contacts:,} contacts with `patron demo` "
        "(this takes a while for large sizes)…"
    )
    started = time.monotonic()
    call_command("demo", contacts=args.contacts, seed=args.seed, batch_size=args.batch_size)
    seconds = time.monotonic() - started
    return {
        "contacts": args.contacts,
        "seconds": round(seconds, 1),
        "contacts_per_second": round(args.contacts / seconds),
    }


# --- picking real values ----------------------------------------------------------------------


def sample_contacts(user: Any, count: int, rng: random.Random) -> list[dict[str, Any]]:
    """`count` random contacts the user may see, with their primary email and phone."""
    from django.db.models import Max, Min

    from patron.customers import selectors
    from patron.customers.models import EmailAddress, PhoneNumber

    visible = selectors.contact_visible(user=user)
    bounds = visible.aggregate(lo=Min("id"), hi=Max("id"))
    found: dict[int, dict[str, Any]] = {}
    while len(found) < count:
        ids = [rng.randint(bounds["lo"], bounds["hi"]) for _ in range(count * 4)]
        for c in visible.filter(id__in=ids).values("id", "first_name", "last_name"):
            found.setdefault(c["id"], c)
    picked = rng.sample(sorted(found), count)
    emails = dict(
        EmailAddress.objects.filter(contact_id__in=picked, is_primary=True).values_list(
            "contact_id", "email"
        )
    )
    phones = {
        c: (n, e)
        for c, n, e in PhoneNumber.objects.filter(
            contact_id__in=picked, is_primary=True
        ).values_list("contact_id", "number", "e164")
    }
    return [
        {**found[pk], "email": emails.get(pk, ""), "phone": phones.get(pk, ("", ""))}
        for pk in picked
    ]


def scenario_urls(user: Any, n: int, rng: random.Random) -> dict[str, list[str]]:
    people = sample_contacts(user, n, rng)

    def q(value: str) -> str:
        return "/api/contacts?" + urlencode({"q": value, "limit": 50})

    return {
        "API list (limit=50)": ["/api/contacts?limit=50"] * n,
        "API accounts (limit=50)": ["/api/accounts?limit=50"] * n,
        "API search: name": [q(f"{p['first_name']} {p['last_name']}".strip()) for p in people],
        "API search: email": [q(p["email"]) for p in people],
        # Half as typed (national or international format), half in E.164.
        "API search: phone": [q(p["phone"][i % 2]) for i, p in enumerate(people)],
        "Contact page": [f"/contacts/{p['id']}/" for p in people],
        # What the new-contact form sends while someone types a person who may exist already:
        # the name with the email or the phone (as typed), alternately.
        "API duplicate check": [
            "/api/duplicate-check/contacts?"
            + urlencode(
                {
                    "first_name": p["first_name"],
                    "last_name": p["last_name"],
                    **({"email": p["email"]} if i % 2 else {"phone": p["phone"][0]}),
                }
            )
            for i, p in enumerate(people)
        ],
    }


# --- measuring --------------------------------------------------------------------------------


def percentile(values: list[float], pct: float) -> float:
    ordered = sorted(values)
    if not ordered:
        return float("nan")
    k = (len(ordered) - 1) * pct / 100
    lo, hi = int(k), min(int(k) + 1, len(ordered) - 1)
    return ordered[lo] + (ordered[hi] - ordered[lo]) * (k - lo)


def replay(statements: list[str]) -> float:
    """Run the captured SELECTs again through a plain cursor; seconds taken."""
    from django.db import connection

    started = time.perf_counter()
    with connection.cursor() as cursor:
        for sql in statements:
            cursor.execute(sql)
            cursor.fetchall()
    return time.perf_counter() - started


def measure(client: Any, urls: list[str], warmup: int) -> dict[str, Any]:
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    for url in urls[:warmup]:
        client.get(url)
    times, raw, diffs, counts, results = [], [], [], [], []
    for url in urls:
        with CaptureQueriesContext(connection) as ctx:
            response = client.get(url)
        if response.status_code != 200:
            raise SystemExit(
                f"GET {url} answered {response.status_code}: {response.content[:300]!r}"
            )
        # Read the capture now: the next request (request_started) empties the query log.
        captured = [q["sql"] for q in ctx.captured_queries]
        statements = [
            sql for sql in captured if sql.lstrip().upper().startswith(("SELECT", "WITH"))
        ]
        started = time.perf_counter()
        response = client.get(url)
        elapsed = time.perf_counter() - started
        raw_elapsed = replay(statements)
        times.append(elapsed * 1000)
        raw.append(raw_elapsed * 1000)
        diffs.append((elapsed - raw_elapsed) * 1000)
        counts.append(len(captured))
        if url.startswith("/api/"):
            body = response.json()
            results.append(len(body["results"] if isinstance(body, dict) else body))
    return {
        "requests": len(urls),
        "queries": statistics.median(counts),
        "results_median": statistics.median(results) if results else None,
        "p50_ms": percentile(times, 50),
        "p95_ms": percentile(times, 95),
        "raw_p50_ms": percentile(raw, 50),
        "raw_p95_ms": percentile(raw, 95),
        "overhead_p50_ms": percentile(diffs, 50),
    }


def target_for(scenario: str) -> float | None:
    if scenario.startswith(("API list", "API accounts")):
        return TARGETS_MS["list"]
    if scenario.startswith("API search"):
        return TARGETS_MS["search"]
    if scenario.startswith("API duplicate check"):
        return TARGETS_MS["duplicate check"]
    return None


def print_table(rows: list[dict[str, Any]]) -> None:
    header = (
        f"{'scenario':<22} {'user':<6} {'q':>3} {'hits':>5} {'p50 ms':>8} {'p95 ms':>8} "
        f"{'raw SQL p50':>11} {'raw SQL p95':>11} {'overhead p50':>12}  target"
    )
    print(header)
    print("-" * len(header))
    for r in rows:
        target = target_for(r["scenario"])
        verdict = ""
        if target is not None:
            ok = r["p95_ms"] <= target and r["overhead_p50_ms"] <= TARGETS_MS["overhead"]
            verdict = f"p95≤{target:.0f}, overhead≤10: {'ok' if ok else 'MISSED'}"
        hits = "" if r["results_median"] is None else f"{r['results_median']:.0f}"
        print(
            f"{r['scenario']:<22} {r['user']:<6} {r['queries']:>3.0f} {hits:>5} "
            f"{r['p50_ms']:>8.1f} {r['p95_ms']:>8.1f} {r['raw_p50_ms']:>11.1f} "
            f"{r['raw_p95_ms']:>11.1f} {r['overhead_p50_ms']:>12.1f}  {verdict}"
        )


def machine() -> dict[str, Any]:
    import django
    from django.db import connection

    info = {
        "cpus": os.cpu_count(),
        "platform": platform.platform(),
        "python": platform.python_version(),
        "django": django.get_version(),
        "database": connection.vendor,
        "gc_threshold": gc.get_threshold(),
        "gc_frozen_objects": gc.get_freeze_count(),
    }
    with connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            cursor.execute("SHOW server_version")
        else:
            cursor.execute("SELECT sqlite_version()")
        info["database_version"] = cursor.fetchone()[0]
    try:
        meminfo = Path("/proc/meminfo").read_text().split("\n")[0]
        info["memory_kib"] = int(meminfo.split()[1])
    except (OSError, ValueError, IndexError):
        pass
    return info


def main() -> None:
    args = parse_args()
    os.environ["DATABASE_URL"] = args.database_url
    os.environ.setdefault("PATRON_ALLOW_INSECURE_KEY", "1")
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "patron.settings")
    sys.path.insert(0, str(ROOT))
    RESULTS.mkdir(parents=True, exist_ok=True)
    if args.database_url.startswith(("postgres://", "postgresql://")):
        ensure_postgres_database(args.database_url, drop=args.rebuild)
    elif args.rebuild:
        Path(urlparse(args.database_url).path).unlink(missing_ok=True)

    import django

    django.setup()
    from django.db import connection
    from django.test import Client

    from patron.core.models import User

    generation = prepare(args)
    # Load the app as the WSGI server does (patron/wsgi.py), garbage-collector tuning included.
    import patron.wsgi  # noqa: F401

    rng = random.Random(args.seed)
    load_before = os.getloadavg()
    rows = []
    for username in ("rep1", "admin"):
        user = User.objects.select_related("role").get(username=username)
        client = Client()
        client.force_login(user)
        for scenario, urls in scenario_urls(user, args.requests, rng).items():
            if args.only and args.only.lower() not in scenario.lower():
                continue
            print(f"  {username}: {scenario}…", flush=True)
            rows.append(
                {"scenario": scenario, "user": username, **measure(client, urls, args.warmup)}
            )
    print()
    print(
        f"{args.contacts:,} contacts on {connection.vendor}, {os.cpu_count()} cores, "
        f"{args.requests} requests per row (in-process, django.test.Client); load average "
        f"{load_before[0]:.2f} before, {os.getloadavg()[0]:.2f} after"
    )
    print_table(rows)
    result = {
        "contacts": args.contacts,
        "database_url": args.database_url.split("@")[-1],
        "measured_at": time.strftime("%Y-%m-%dT%H:%M:%S%z"),
        "machine": machine(),
        # Other work on the machine skews the figures: the 1/5/15-minute load averages.
        "load_average": {"before": load_before, "after": os.getloadavg()},
        "generation": generation,
        "targets_ms": TARGETS_MS,
        "rows": rows,
        "command": " ".join([Path(sys.executable).name, *sys.argv]),
    }
    suffix = "" if not args.only else "-only-" + re.sub(r"\W+", "-", args.only.lower()).strip("-")
    out = RESULTS / f"api-latency-{connection.vendor}-{args.contacts}{suffix}.json"
    out.write_text(json.dumps(result, indent=2))
    print(f"\nWrote {out.relative_to(ROOT)}")


if __name__ == "__main__":
    main()
