"""Sales page latency at 100k open opportunities: the kanban board and the forecast page.

Builds (or reuses, when it already holds that many open opportunities) a database with the
demo organisation's teams and users (`customers.demo.ensure_organisation`: manager1…,
rep1…), 2,000 accounts, N open opportunities spread over the reps, their teams, the open
stages of the default pipeline, three currencies and twelve months of expected close dates,
plus 5,000 closed ones with their stage history (what the forecast from history learns
from), written with bulk_create. Then measures in-process with django.test.Client, signed in
as a sales manager (manager1, who sees their team), a sales rep (rep1, their own deals
and, with team visibility, their team's) and the administrator (admin, every deal):

* the kanban board, GET /sales/ (patron.sales),
* the forecast page, GET /performance/?period=<this quarter> (patron.performance),

side by side with two baselines measured in the same run: the raw SQL aggregate the page
needs, timed alone (the board's per-stage totals; the forecast's GROUP BY owner, team,
category and currency), and a replay of every SELECT the request ran.

    .venv/bin/python benchmarks/sales_pages.py                        # PostgreSQL, 100k
    .venv/bin/python benchmarks/sales_pages.py --database-url sqlite  # SQLite file

Results go to benchmarks/results/ as JSON (gitignored); docs/benchmarks.md records them.
"""

from __future__ import annotations

import argparse
import datetime
import json
import os
import random
import statistics
import sys
import time
from decimal import Decimal
from pathlib import Path
from typing import Any
from urllib.parse import urlparse

ROOT = Path(__file__).resolve().parent.parent
RESULTS = ROOT / "benchmarks" / "results"
DEFAULT_PG = "postgres://postgres@127.0.0.1:5432/patron_bench_sales"
CLOSED = 5_000
ACCOUNTS = 2_000


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--database-url", default=DEFAULT_PG)
    parser.add_argument("--open", type=int, default=100_000, help="Open opportunities.")
    parser.add_argument("--requests", type=int, default=30, help="Timed requests per row.")
    parser.add_argument("--warmup", type=int, default=3)
    parser.add_argument("--seed", type=int, default=42)
    parser.add_argument("--rebuild", action="store_true")
    args = parser.parse_args()
    if args.database_url == "sqlite":
        args.database_url = f"sqlite:///{RESULTS / f'bench-sales-{args.open}.sqlite3'}"
    return args


def ensure_postgres_database(url: str, *, drop: bool) -> None:
    import psycopg

    parsed = urlparse(url)
    name = parsed.path.lstrip("/")
    admin_url = parsed._replace(path="/postgres").geturl()
    with psycopg.connect(admin_url, autocommit=True) as conn:
        exists = conn.execute("SELECT 1 FROM pg_database WHERE datname = %s", [name]).fetchone()
        if exists and drop:
            conn.execute(f'DROP DATABASE "{name}" WITH (FORCE)')
            exists = None
        if not exists:
            print(f"Creating database {name}…")
            conn.execute(f'CREATE DATABASE "{name}"')


# --- the data ---------------------------------------------------------------------------------


def build(args: argparse.Namespace) -> dict[str, Any] | None:
    """Generate the organisation and the opportunities unless they are there already."""
    from django.core.management import call_command
    from django.db import transaction
    from django.utils import timezone

    from patron.core.models import User
    from patron.customers.demo import ensure_organisation
    from patron.customers.models import Account
    from patron.performance.models import ExchangeRate
    from patron.sales.models import Opportunity, Pipeline, Stage, StageChange

    call_command("migrate", verbosity=0, interactive=False)
    open_count = Opportunity.objects.filter(closed_at__isnull=True).count()
    if open_count == args.open:
        print(f"Reusing the database: {open_count:,} open opportunities.")
        return None
    if open_count:
        sys.exit(f"The database holds {open_count:,} open opportunities: pass --rebuild.")
    started = time.monotonic()
    rng = random.Random(args.seed)
    ensure_organisation(rng)
    reps = list(User.objects.filter(role__slug="sales_rep").order_by("id"))
    pipeline = Pipeline.objects.get(is_default=True)
    stages = list(pipeline.stages.order_by("order"))
    open_stages = [s for s in stages if s.kind == Stage.Kind.OPEN]
    won = next(s for s in stages if s.kind == Stage.Kind.WON)
    lost = next(s for s in stages if s.kind == Stage.Kind.LOST)
    now = timezone.now()
    today = timezone.localdate()
    print(f"Writing {ACCOUNTS:,} accounts, {args.open:,} open and {CLOSED:,} closed deals…")
    with transaction.atomic():
        ExchangeRate.objects.get_or_create(
            currency="USD", valid_from=datetime.date(2000, 1, 1), defaults={"rate": Decimal("0.92")}
        )
        accounts = Account.objects.bulk_create(
            [
                Account(name=f"Account {i}", owner=(o := rng.choice(reps)), team_id=o.team_id)
                for i in range(ACCOUNTS)
            ],
            batch_size=2000,
        )

        def deal(i: int, stage: Stage, closed: datetime.datetime | None) -> Opportunity:
            owner = rng.choice(reps)
            entered = now - datetime.timedelta(days=rng.randint(0, 90), hours=rng.randint(0, 23))
            return Opportunity(
                name=f"Deal {i}",
                account=rng.choice(accounts),
                pipeline=pipeline,
                stage=stage,
                amount=Decimal(rng.randint(500, 200_000)),
                currency=rng.choices(["EUR", "USD", "GBP"], weights=[90, 8, 2])[0],
                expected_close_date=today + datetime.timedelta(days=rng.randint(-60, 300)),
                owner=owner,
                team_id=owner.team_id,
                stage_entered_at=closed or entered,
                closed_at=closed,
                close_reason="" if closed is None or stage.kind == "won" else "Price",
                created_at=entered - datetime.timedelta(days=30),
                updated_at=closed or entered,
            )

        rows = [deal(i, rng.choice(open_stages), None) for i in range(args.open)]
        for i in range(CLOSED):
            closed = now - datetime.timedelta(days=rng.randint(1, 700))
            rows.append(deal(args.open + i, won if rng.random() < 0.35 else lost, closed))
        created = Opportunity.objects.bulk_create(rows, batch_size=5000)
        changes = []
        for o in created:
            if o.closed_at is None:
                changes.append(
                    StageChange(opportunity=o, to_stage=o.stage, changed_at=o.stage_entered_at)
                )
                continue
            # A closed deal went through the open stages up to a random one, then closed.
            at = o.closed_at - datetime.timedelta(days=rng.randint(20, 120))
            previous = None
            for stage in open_stages[: rng.randint(1, len(open_stages))]:
                changes.append(
                    StageChange(opportunity=o, from_stage=previous, to_stage=stage, changed_at=at)
                )
                previous = stage
                at += datetime.timedelta(days=rng.randint(1, 20))
            changes.append(
                StageChange(
                    opportunity=o, from_stage=previous, to_stage=o.stage, changed_at=o.closed_at
                )
            )
        StageChange.objects.bulk_create(changes, batch_size=5000)
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute("ANALYZE")
    seconds = time.monotonic() - started
    print(f"Built in {seconds:.1f} s.")
    return {"open": args.open, "closed": CLOSED, "seconds": round(seconds, 1)}


# --- measuring --------------------------------------------------------------------------------


def percentile(values: list[float], pct: float) -> float:
    ordered = sorted(values)
    k = (len(ordered) - 1) * pct / 100
    lo, hi = int(k), min(int(k) + 1, len(ordered) - 1)
    return ordered[lo] + (ordered[hi] - ordered[lo]) * (k - lo)


def time_sql(sql: str, params: Any) -> float:
    from django.db import connection

    started = time.perf_counter()
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        cursor.fetchall()
    return (time.perf_counter() - started) * 1000


def replay(statements: list[str]) -> float:
    from django.db import connection

    started = time.perf_counter()
    with connection.cursor() as cursor:
        for sql in statements:
            cursor.execute(sql)
            cursor.fetchall()
    return (time.perf_counter() - started) * 1000


def baseline_query(page: str, user: Any, period: Any) -> tuple[str, Any]:
    """The one aggregate the page needs, as SQL and parameters."""
    from django.db.models import Count, Sum

    from patron.performance import selectors as perf
    from patron.sales import selectors as sales

    if page == "board":
        pipeline = sales.pipeline_for_board(user=user)
        queryset = (
            sales.opportunity_visible(user=user)
            .filter(pipeline=pipeline)
            .order_by()
            .values("stage_id", "currency")
            .annotate(n=Count("id"), total=Sum("amount"))
        )
    else:
        queryset = (
            perf.open_in_period(perf.forecast_visible(user=user), period)
            .annotate(category=perf.category_expression())
            .order_by()
            .values("owner_id", "team_id", "category", "currency")
            .annotate(n=Count("id"), total=Sum("amount"))
        )
    return queryset.query.sql_with_params()


def measure(client: Any, url: str, baseline: tuple[str, Any], n: int, warmup: int) -> dict:
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    for _ in range(warmup):
        client.get(url)
    with CaptureQueriesContext(connection) as ctx:
        response = client.get(url)
    if response.status_code != 200:
        raise SystemExit(f"GET {url} answered {response.status_code}")
    statements = [
        q["sql"] for q in ctx.captured_queries if q["sql"].lstrip().upper().startswith("SELECT")
    ]
    count = len(ctx.captured_queries)
    page, base, replays = [], [], []
    for _ in range(n):
        started = time.perf_counter()
        client.get(url)
        page.append((time.perf_counter() - started) * 1000)
        base.append(time_sql(*baseline))
        replays.append(replay(statements))
    return {
        "queries": count,
        "p50_ms": percentile(page, 50),
        "p95_ms": percentile(page, 95),
        "baseline_p50_ms": percentile(base, 50),
        "baseline_p95_ms": percentile(base, 95),
        "replay_p50_ms": percentile(replays, 50),
        "mean_ms": statistics.mean(page),
    }


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
    from django.utils import timezone

    from patron.core.models import User
    from patron.performance import periods
    from patron.sales.models import Opportunity

    generation = build(args)
    import patron.wsgi  # noqa: F401  (the server's garbage-collector tuning)

    period = periods.containing("quarter", timezone.localdate())
    pages = {"board": "/sales/", "forecast": f"/performance/?period={period.label}"}
    rows = []
    load_before = os.getloadavg()
    for username in ("manager1", "rep1", "admin"):
        user = User.objects.select_related("role").get(username=username)
        client = Client()
        client.force_login(user)
        visible = Opportunity.objects.restrict(user, "view").filter(closed_at__isnull=True).count()
        for page, url in pages.items():
            print(f"  {username}: {url}…", flush=True)
            result = measure(
                client, url, baseline_query(page, user, period), args.requests, args.warmup
            )
            rows.append({"page": page, "user": username, "open_visible": visible, **result})
    print()
    print(
        f"{args.open:,} open opportunities on {connection.vendor}, {os.cpu_count()} cores, "
        f"{args.requests} requests per row; load average {load_before[0]:.2f} before, "
        f"{os.getloadavg()[0]:.2f} after"
    )
    header = (
        f"{'page':<9} {'user':<9} {'visible':>8} {'q':>3} {'p50 ms':>8} {'p95 ms':>8} "
        f"{'aggregate SQL p50':>17} {'p95':>7} {'all SQL p50':>11}"
    )
    print(header)
    print("-" * len(header))
    for r in rows:
        print(
            f"{r['page']:<9} {r['user']:<9} {r['open_visible']:>8,} {r['queries']:>3} "
            f"{r['p50_ms']:>8.1f} {r['p95_ms']:>8.1f} {r['baseline_p50_ms']:>17.1f} "
            f"{r['baseline_p95_ms']:>7.1f} {r['replay_p50_ms']:>11.1f}"
        )
    out = RESULTS / f"sales-pages-{connection.vendor}-{args.open}.json"
    out.write_text(
        json.dumps(
            {
                "open": args.open,
                "measured_at": time.strftime("%Y-%m-%dT%H:%M:%S%z"),
                "database": connection.vendor,
                "generation": generation,
                "load_average": {"before": load_before, "after": os.getloadavg()},
                "rows": rows,
            },
            indent=2,
        )
    )
    print(f"\nWrote {out.relative_to(ROOT)}")


if __name__ == "__main__":
    main()
