"""Order API throughput: electronic orders posted to `POST /api/orders`, side by side with
direct inserts of the same orders.

Builds (or, with --reuse, keeps) a database with an administrator, a sales rep (rep1) with a
personal API token, 1,000 accounts owned by the rep (30% of them with a credit limit), 500
products with two tax rates and a default price list (every product priced, a fifth with a
volume price from 10 units). Then, against a real HTTP server — a pre-fork WSGI server built
on the standard library's wsgiref (gunicorn's sync model: N worker processes, one request at
a time each, accepting on one shared socket, no keep-alive) running `patron.wsgi` in
subprocesses — it measures:

* N orders (default 2,000) of 1-10 lines by SKU and quantity (half the lines with an
  `expected_unit_price`), confirmed at once (credit limit checked), each with its own
  Idempotency-Key, posted by 1 client and then by 2 concurrent clients (threads): orders/s,
  lines/s, p50/p95/p99 latency. Every answer must be a 201.
* 200 of the 1-client requests sent again with the same keys and bodies: every answer must be
  a replay (`Idempotent-Replayed: true`, the same order id) and the order count must not move.
* The baseline, in the same run: the same orders and lines written directly with the ORM's
  `bulk_create`, one transaction per order, prices taken from a dict, no permission check,
  validation, numbering, credit check, audit, timeline or idempotency key.

Before timing, one 1-line and one 10-line order go through django.test.Client in-process to
count the SQL statements a request runs (those orders are then deleted). Orders, lines and
idempotency keys are emptied before each timed phase (the replay follows the 1-client phase),
so every phase starts from the same credit exposure and --reuse from the same state. The table
shows the 1-minute load average as each phase started (the machine may be shared); the JSON
also records the commit measured and any uncommitted change to patron/, and the run warns when
patron/ changed while it ran.

    .venv/bin/python benchmarks/order_api.py                                  # PostgreSQL
    .venv/bin/python benchmarks/order_api.py --orders 500 --database-url sqlite
    .venv/bin/python benchmarks/order_api.py --reuse --orders 1000 --workers 2

Results go to benchmarks/results/ as JSON (gitignored); docs/benchmarks.md records them.
"""

from __future__ import annotations

import argparse
import datetime
import http.client
import json
import os
import platform
import random
import socket
import subprocess
import sys
import threading
import time
import uuid
from decimal import ROUND_HALF_UP, Decimal
from pathlib import Path
from typing import Any
from urllib.parse import urlparse

ROOT = Path(__file__).resolve().parent.parent
RESULTS = ROOT / "benchmarks" / "results"
DEFAULT_PG = "postgres://postgres@127.0.0.1:5432/patron_bench_orders"
ACCOUNTS = 1_000
PRODUCTS = 500
CREDIT_SHARE = 0.3
VOLUME_SHARE = 0.2
SKU = "BENCH-{:05d}"


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument(
        "--database-url",
        default=DEFAULT_PG,
        help="'sqlite' means benchmarks/results/bench-orders.sqlite3 (default: %(default)s).",
    )
    parser.add_argument("--orders", type=int, default=2_000, help="Orders per timed phase.")
    parser.add_argument("--replays", type=int, default=200, help="Requests sent again.")
    parser.add_argument("--workers", type=int, default=2, help="Server worker processes.")
    parser.add_argument("--warmup", type=int, default=20, help="Untimed orders per phase.")
    parser.add_argument("--seed", type=int, default=42)
    parser.add_argument(
        "--reuse",
        action="store_true",
        help="Keep the database when it already holds the catalogue (default: build it anew).",
    )
    args = parser.parse_args()
    if args.database_url == "sqlite":
        args.database_url = f"sqlite:///{RESULTS / 'bench-orders.sqlite3'}"
    return args


def ensure_postgres_database(url: str, *, drop: bool) -> None:
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


# --- the data ---------------------------------------------------------------------------------


def build(args: argparse.Namespace) -> dict[str, Any] | None:
    """Users, accounts, credit limits, tax rates, products and the default price list, unless
    the database already holds them (--reuse)."""
    from django.core.management import call_command
    from django.db import transaction

    from patron.commerce.models import CreditLimit, PriceList, PriceListItem, Product, TaxRate
    from patron.core.models import Role, Team, User
    from patron.customers.models import Account
    from patron.sales.models import default_currency

    call_command("migrate", verbosity=0, interactive=False)
    if Product.objects.filter(sku__startswith="BENCH-").count() == PRODUCTS:
        print("Reusing the database: the catalogue and the accounts are there.")
        return None
    if Product.objects.exists() or Account.objects.exists():
        sys.exit("The database holds other data: run without --reuse to build it anew.")
    started = time.monotonic()
    rng = random.Random(args.seed)
    currency = default_currency()
    print(f"Writing {ACCOUNTS:,} accounts and {PRODUCTS:,} priced products…")
    with transaction.atomic():
        team = Team.objects.create(name="Bench sales")
        admin = User(
            username="admin",
            email="admin@bench.example",
            role=Role.objects.get(slug="admin"),
            is_staff=True,
            is_superuser=True,
        )
        admin.set_password("bench-admin-password")
        admin.save()
        rep = User(
            username="rep1",
            email="rep1@bench.example",
            role=Role.objects.get(slug="sales_rep"),
            team=team,
        )
        rep.set_password("bench-rep-password")
        rep.save()
        accounts = Account.objects.bulk_create(
            [Account(name=f"Customer {i:04d}", owner=rep, team=team) for i in range(ACCOUNTS)]
        )
        CreditLimit.objects.bulk_create(
            [
                # Large enough for every order of every phase: the check runs, none is refused.
                CreditLimit(account=a, amount=Decimal(10_000_000), currency=currency)
                for a in accounts
                if rng.random() < CREDIT_SHARE
            ]
        )
        rates = [
            TaxRate.objects.create(name="Bench standard", percent=Decimal("20")),
            TaxRate.objects.create(name="Bench reduced", percent=Decimal("5")),
        ]
        products = Product.objects.bulk_create(
            [
                Product(
                    sku=SKU.format(i),
                    name=f"Product {i:05d}",
                    unit="unit",
                    unit_cost=Decimal(rng.randint(100, 20_000)) / 100,
                    tax_rate=rates[0] if rng.random() < 0.8 else rates[1],
                )
                for i in range(PRODUCTS)
            ]
        )
        price_list = PriceList.objects.create(
            name="Bench list price", currency=currency, is_default=True
        )
        items = []
        for p in products:
            price = (p.unit_cost * Decimal("1.4")).quantize(Decimal("0.01"))
            items.append(PriceListItem(price_list=price_list, product=p, unit_price=price))
            if rng.random() < VOLUME_SHARE:
                volume = (price * Decimal("0.9")).quantize(Decimal("0.01"))
                items.append(
                    PriceListItem(
                        price_list=price_list,
                        product=p,
                        unit_price=volume,
                        min_quantity=Decimal(10),
                    )
                )
        PriceListItem.objects.bulk_create(items)
    from django.db import connection

    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            cursor.execute("ANALYZE")
    seconds = time.monotonic() - started
    print(f"Built in {seconds:.1f} s.")
    return {"accounts": ACCOUNTS, "products": PRODUCTS, "seconds": round(seconds, 1)}


def catalogue() -> dict[str, Any]:
    """What the clients and the baseline need: accounts, prices by SKU (volume prices
    included), product ids, tax rates and costs."""
    from patron.commerce import selectors
    from patron.commerce.models import PriceListItem, Product
    from patron.core.models import User
    from patron.customers.models import Account
    from patron.sales.models import default_currency

    currency = default_currency()
    price_list = selectors.default_price_list(currency)
    assert price_list is not None, "no default price list"
    prices: dict[str, list[tuple[Decimal, Decimal]]] = {}
    for sku, min_quantity, unit_price in (
        PriceListItem.objects.filter(price_list=price_list)
        .order_by("min_quantity")
        .values_list("product__sku", "min_quantity", "unit_price")
    ):
        prices.setdefault(sku, []).append((min_quantity, unit_price))
    products = {
        p.sku: p
        for p in Product.objects.select_related("tax_rate").filter(sku__startswith="BENCH-")
    }
    rep = User.objects.select_related("role").get(username="rep1")
    return {
        "currency": currency,
        "price_list": price_list,
        "prices": prices,
        "products": products,
        "accounts": list(Account.objects.filter(owner=rep).values_list("id", flat=True)),
        "rep": rep,
    }


def list_price(cat: dict[str, Any], sku: str, quantity: int) -> Decimal:
    """The price list's price for `quantity`, as the service picks it (highest minimum
    quantity not above it)."""
    return [price for minimum, price in cat["prices"][sku] if minimum <= quantity][-1]


def make_orders(cat: dict[str, Any], n: int, rng: random.Random) -> list[dict[str, Any]]:
    """`n` order bodies: an account, 1-10 distinct SKUs, quantities 1-20 (some past a volume
    price), half the lines with the expected unit price."""
    skus = sorted(cat["products"])
    orders = []
    for i in range(n):
        lines = []
        for sku in rng.sample(skus, rng.randint(1, 10)):
            quantity = rng.choice([1, 1, 2, 3, 5, 10, 12, 20])
            line: dict[str, Any] = {"sku": sku, "quantity": quantity}
            if rng.random() < 0.5:
                line["expected_unit_price"] = str(list_price(cat, sku, quantity))
            lines.append(line)
        orders.append(
            {
                "account_id": rng.choice(cat["accounts"]),
                "external_reference": f"PO-{i:06d}",
                "lines": lines,
            }
        )
    return orders


def reset_orders() -> None:
    """No orders, lines or idempotency keys: every phase starts from the same exposure."""
    from django.db import connection

    from patron.commerce.models import Order, OrderLine
    from patron.core.models import IdempotencyKey

    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            tables = [OrderLine._meta.db_table, Order._meta.db_table]
            cursor.execute("TRUNCATE " + ", ".join(f'"{t}"' for t in tables) + " CASCADE")
    else:
        OrderLine.objects.all().delete()
        Order.objects.all().delete()
    IdempotencyKey.objects.all().delete()


# --- the server -------------------------------------------------------------------------------


def serve(fd: int) -> None:
    """A worker: answer requests on the inherited listening socket, one at a time, until
    killed (run as `order_api.py --serve-fd N`)."""
    from wsgiref.simple_server import WSGIRequestHandler, WSGIServer

    sys.path.insert(0, str(ROOT))
    from patron.wsgi import application

    class QuietHandler(WSGIRequestHandler):
        def log_message(self, format: str, *args: Any) -> None:
            pass

    sock = socket.socket(fileno=fd)
    server = WSGIServer(sock.getsockname(), QuietHandler, bind_and_activate=False)
    server.socket.close()
    server.socket = sock
    server.server_name, server.server_port = "127.0.0.1", sock.getsockname()[1]
    server.setup_environ()
    server.set_app(application)
    server.serve_forever()


class Server:
    """`workers` processes accepting on one socket (gunicorn's sync workers, from the stdlib)."""

    def __init__(self, workers: int) -> None:
        self.sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        self.sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self.sock.bind(("127.0.0.1", 0))
        self.sock.listen(128)
        self.port = self.sock.getsockname()[1]
        fd = self.sock.fileno()
        self.processes = [
            subprocess.Popen(  # noqa: S603 - this script, as a server worker
                [sys.executable, __file__, "--serve-fd", str(fd)],
                pass_fds=[fd],
                env=os.environ.copy(),
            )
            for _ in range(workers)
        ]

    def wait_ready(self, token: str) -> None:
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            for p in self.processes:
                if p.poll() is not None:
                    raise SystemExit(f"A server worker exited with {p.returncode}.")
            try:
                status, _, _ = request(self.port, token, "GET", "/api/products?limit=1", None)
                if status == 200:
                    # One request reached one worker; give the others the same time to load.
                    time.sleep(1.0)
                    return
            except OSError:
                pass
            time.sleep(0.3)
        raise SystemExit("The server did not answer within 60 s.")

    def stop(self) -> None:
        for p in self.processes:
            p.terminate()
        for p in self.processes:
            p.wait(timeout=10)
        self.sock.close()


def request(
    port: int, token: str, method: str, path: str, body: bytes | None, key: str | None = None
) -> tuple[int, dict[str, str], bytes]:
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=60)
    headers = {"Authorization": f"Bearer {token}", "Host": "127.0.0.1"}
    if body is not None:
        headers["Content-Type"] = "application/json"
    if key is not None:
        headers["Idempotency-Key"] = key
    try:
        conn.request(method, path, body=body, headers=headers)
        response = conn.getresponse()
        return response.status, dict(response.getheaders()), response.read()
    finally:
        conn.close()


# --- measuring --------------------------------------------------------------------------------


def percentile(values: list[float], pct: float) -> float:
    ordered = sorted(values)
    if not ordered:
        return float("nan")
    k = (len(ordered) - 1) * pct / 100
    lo, hi = int(k), min(int(k) + 1, len(ordered) - 1)
    return ordered[lo] + (ordered[hi] - ordered[lo]) * (k - lo)


def post_all(
    port: int, token: str, work: list[tuple[str, bytes]], clients: int
) -> tuple[float, list[float], list[tuple[int, dict[str, str], bytes]]]:
    """Post `work` (key, body) from `clients` threads, each its own share in order. Returns
    the wall time, every latency (ms) and every answer, in the order of `work`."""
    latencies: list[float] = [0.0] * len(work)
    answers: list[Any] = [None] * len(work)

    def client(indexes: range) -> None:
        for i in indexes:
            key, body = work[i]
            started = time.perf_counter()
            answers[i] = request(port, token, "POST", "/api/orders", body, key)
            latencies[i] = (time.perf_counter() - started) * 1000

    threads = [
        threading.Thread(target=client, args=(range(c, len(work), clients),))
        for c in range(clients)
    ]
    started = time.perf_counter()
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    return time.perf_counter() - started, latencies, answers


def summary(
    name: str, seconds: float, latencies: list[float], orders: int, lines: int
) -> dict[str, Any]:
    return {
        "phase": name,
        "orders": orders,
        "lines": lines,
        "seconds": round(seconds, 2),
        "orders_per_s": orders / seconds,
        "lines_per_s": lines / seconds,
        "p50_ms": percentile(latencies, 50),
        "p95_ms": percentile(latencies, 95),
        "p99_ms": percentile(latencies, 99),
    }


def api_phase(
    port: int, token: str, orders: list[dict[str, Any]], clients: int, warmup: int, tag: str
) -> tuple[dict[str, Any], list[tuple[str, bytes]], list[Any]]:
    from patron.commerce.models import Order, OrderLine

    bodies = [json.dumps(o).encode() for o in orders]
    warm = [(f"{tag}-warm-{uuid.uuid4()}", bodies[i % len(bodies)]) for i in range(warmup)]
    post_all(port, token, warm, clients)
    work = [(f"{tag}-{uuid.uuid4()}", body) for body in bodies]
    before = Order.objects.count(), OrderLine.objects.count()
    seconds, latencies, answers = post_all(port, token, work, clients)
    refused = [(s, b[:300]) for s, _, b in answers if s != 201]
    if refused:
        raise SystemExit(f"{len(refused)} orders were not created; the first: {refused[0]!r}")
    lines = sum(len(o["lines"]) for o in orders)
    created = Order.objects.count() - before[0], OrderLine.objects.count() - before[1]
    assert created == (len(orders), lines), f"created {created}, posted {len(orders), lines}"
    label = f"API, {clients} client{'s' if clients > 1 else ''}"
    return summary(label, seconds, latencies, len(orders), lines), work, answers


def replay_phase(
    port: int, token: str, work: list[tuple[str, bytes]], answers: list[Any], n: int
) -> dict[str, Any]:
    """The first `n` requests again, same keys and bodies: replays only, nothing created."""
    from patron.commerce.models import Order, OrderLine

    before = Order.objects.count(), OrderLine.objects.count()
    seconds, latencies, again = post_all(port, token, work[:n], 1)
    for (status, headers, body), (_, _, first) in zip(again, answers[:n], strict=True):
        assert status == 201, f"replay answered {status}: {body[:200]!r}"
        assert headers.get("Idempotent-Replayed") == "true", "not marked as a replay"
        assert json.loads(body)["id"] == json.loads(first)["id"], "another order answered"
    after = Order.objects.count(), OrderLine.objects.count()
    assert after == before, f"replays created orders: {before} -> {after}"
    lines = sum(len(json.loads(b)["lines"]) for _, b in work[:n])
    row = summary("API replay (same keys)", seconds, latencies, n, lines)
    row["created"] = 0
    return row


def money(amount: Decimal) -> Decimal:
    return amount.quantize(Decimal("0.01"), rounding=ROUND_HALF_UP)


def baseline_phase(cat: dict[str, Any], orders: list[dict[str, Any]]) -> dict[str, Any]:
    """The same orders and lines, written with bulk_create, one transaction per order."""
    from django.db import transaction
    from django.utils import timezone

    from patron.commerce.models import Order, OrderLine

    rep, price_list, currency = cat["rep"], cat["price_list"], cat["currency"]
    products = cat["products"]
    latencies = []
    started = time.perf_counter()
    for i, data in enumerate(orders):
        t0 = time.perf_counter()
        lines = []
        for position, row in enumerate(data["lines"]):
            product = products[row["sku"]]
            quantity = Decimal(row["quantity"])
            unit_price = list_price(cat, row["sku"], row["quantity"])
            rate = product.tax_rate.percent
            net = money(quantity * unit_price)
            lines.append(
                OrderLine(
                    position=position,
                    product=product,
                    description=product.name,
                    quantity=quantity,
                    unit=product.unit,
                    unit_price=unit_price,
                    tax_rate=rate,
                    unit_cost=product.unit_cost,
                    net_amount=net,
                    tax_amount=money(net * rate / 100),
                )
            )
        net_total = sum((line.net_amount for line in lines), Decimal(0))
        tax_total = sum((line.tax_amount for line in lines), Decimal(0))
        now = timezone.now()
        order = Order(
            number=f"BASE-{i:07d}",
            account_id=data["account_id"],
            price_list=price_list,
            currency=currency,
            external_reference=data["external_reference"],
            net_total=net_total,
            tax_total=tax_total,
            gross_total=net_total + tax_total,
            owner=rep,
            team_id=rep.team_id,
            status=Order.Status.CONFIRMED,
            confirmed_at=now,
        )
        with transaction.atomic():
            Order.objects.bulk_create([order])
            for line in lines:
                line.order = order
            OrderLine.objects.bulk_create(lines)
        latencies.append((time.perf_counter() - t0) * 1000)
    seconds = time.perf_counter() - started
    lines_total = sum(len(o["lines"]) for o in orders)
    return summary("Direct bulk_create", seconds, latencies, len(orders), lines_total)


def count_queries(token: str, orders: list[dict[str, Any]]) -> dict[str, int]:
    """SQL statements of one API order of 1 line and of 10 lines (in-process, django.test
    Client, after one untimed order); the orders are deleted afterwards by `reset_orders`."""
    from django.db import connection
    from django.test import Client
    from django.test.utils import CaptureQueriesContext

    client = Client(HTTP_AUTHORIZATION=f"Bearer {token}")
    counts = {}
    # A first request loads what a worker caches once (content types, settings).
    client.post("/api/orders", json.dumps(orders[0]), content_type="application/json")
    for size in (1, 10):
        body = next(o for o in orders if len(o["lines"]) == size)
        with CaptureQueriesContext(connection) as ctx:
            response = client.post(
                "/api/orders",
                json.dumps(body),
                content_type="application/json",
                headers={"Idempotency-Key": f"count-{uuid.uuid4()}"},
            )
        assert response.status_code == 201, response.content[:300]
        counts[f"{size} line{'s' if size > 1 else ''}"] = len(ctx.captured_queries)
    return counts


def print_table(rows: list[dict[str, Any]], baseline: dict[str, Any]) -> None:
    header = (
        f"{'phase':<24} {'orders':>6} {'lines':>6} {'s':>7} {'orders/s':>9} {'lines/s':>9} "
        f"{'p50 ms':>8} {'p95 ms':>8} {'p99 ms':>8} {'vs direct':>12} {'load':>5}"
    )
    print(header)
    print("-" * len(header))
    for r in rows:
        ratio = baseline["orders_per_s"] / r["orders_per_s"]
        versus = "—" if r is baseline else f"{ratio:.1f}x slower"
        print(
            f"{r['phase']:<24} {r['orders']:>6} {r['lines']:>6} {r['seconds']:>7.1f} "
            f"{r['orders_per_s']:>9.1f} {r['lines_per_s']:>9.0f} {r['p50_ms']:>8.1f} "
            f"{r['p95_ms']:>8.1f} {r['p99_ms']:>8.1f} {versus:>12} {r['load_before']:>5.2f}"
        )


def code_version(since: str | None = None) -> dict[str, Any]:
    """The commit measured and a digest of the changes to patron/ since it (uncommitted, or
    committed later when `since` is that commit): the figures are those of the working tree."""
    import hashlib

    def git(*args: str) -> str:
        done = subprocess.run(  # noqa: S603 - fixed git arguments
            ["git", *args],  # noqa: S607 - git from PATH
            cwd=ROOT,
            capture_output=True,
            text=True,
            check=False,
        )
        return done.stdout

    base = since or git("rev-parse", "HEAD").strip()
    diff = git("diff", base, "--", "patron")
    return {
        "commit": base,
        "uncommitted": ", ".join(git("diff", base, "--name-only", "--", "patron").split()),
        "diff_sha256": hashlib.sha256(diff.encode()).hexdigest()[:12] if diff else None,
    }


def machine() -> dict[str, Any]:
    import django
    from django.db import connection

    info: dict[str, Any] = {
        "cpus": os.cpu_count(),
        "platform": platform.platform(),
        "python": platform.python_version(),
        "django": django.get_version(),
        "database": connection.vendor,
    }
    with connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            cursor.execute("SHOW server_version")
        else:
            cursor.execute("SELECT sqlite_version()")
        info["database_version"] = cursor.fetchone()[0]
    return info


def main() -> None:
    args = parse_args()
    os.environ["DATABASE_URL"] = args.database_url
    os.environ.setdefault("PATRON_ALLOW_INSECURE_KEY", "1")
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "patron.settings")
    sys.path.insert(0, str(ROOT))
    RESULTS.mkdir(parents=True, exist_ok=True)
    if args.database_url.startswith(("postgres://", "postgresql://")):
        ensure_postgres_database(args.database_url, drop=not args.reuse)
    elif not args.reuse:
        for suffix in ("", "-wal", "-shm"):
            Path(urlparse(args.database_url).path + suffix).unlink(missing_ok=True)

    import django

    django.setup()
    from django.db import connection

    from patron.core import services as core_services

    code = code_version()
    generation = build(args)
    cat = catalogue()
    _, token = core_services.api_token_create(actor=cat["rep"], name="order benchmark")
    rng = random.Random(args.seed)
    orders = make_orders(cat, args.orders, rng)
    queries = count_queries(token, orders)
    reset_orders()
    connection.close()  # the workers and this process each hold their own connection

    load_before = os.getloadavg()
    server = Server(args.workers)
    try:
        server.wait_ready(token)
        print(f"Posting {args.orders:,} orders, 1 client…", flush=True)
        loads = [os.getloadavg()[0]]
        one, work, answers = api_phase(server.port, token, orders, 1, args.warmup, "one")
        loads.append(os.getloadavg()[0])
        print(f"Replaying {args.replays} of them…", flush=True)
        replayed = replay_phase(server.port, token, work, answers, args.replays)
        reset_orders()  # each phase starts with no orders (the same credit exposure)
        print(f"Posting {args.orders:,} orders, 2 clients…", flush=True)
        loads.append(os.getloadavg()[0])
        two, _, _ = api_phase(server.port, token, orders, 2, args.warmup, "two")
    finally:
        server.stop()
    reset_orders()
    print(f"Writing the same {args.orders:,} orders with bulk_create…", flush=True)
    loads.append(os.getloadavg()[0])
    baseline = baseline_phase(cat, orders)
    load_after = os.getloadavg()
    rows = [one, two, replayed, baseline]
    if code_version(since=code["commit"]) != code:
        print("WARNING: patron/ changed during the run; the phases may have run other code.")
        code["changed_during_run"] = True
    for row, load in zip(rows, [loads[0], loads[2], loads[1], loads[3]], strict=True):
        row["load_before"] = load  # the 1-minute load average as the phase started

    where = (
        f"{args.workers} wsgiref worker processes (pre-fork, patron.wsgi) on 127.0.0.1, "
        "clients are threads of this process over http.client (a new connection per request)"
    )
    print()
    print(
        f"Order API on {connection.vendor}: {ACCOUNTS:,} accounts, {PRODUCTS:,} products; "
        f"{os.cpu_count()} cores; {where}. Load average {load_before[0]:.2f} before, "
        f"{load_after[0]:.2f} after. SQL statements per API order: "
        + ", ".join(f"{v} ({k})" for k, v in queries.items())
    )
    dirty = f", uncommitted changes to {code['uncommitted']}" if code["uncommitted"] else ""
    print(f"Code: {code['commit'][:10]}{dirty}.")
    print_table(rows, baseline)
    print("load: the 1-minute load average as the phase started (other work on the machine).")
    result = {
        "measured_at": time.strftime("%Y-%m-%dT%H:%M:%S%z"),
        "database_url": args.database_url.split("@")[-1],
        "server": where,
        "machine": machine(),
        "code": code,
        "load_average": {"before": load_before, "after": load_after},
        "generation": generation,
        "accounts": ACCOUNTS,
        "products": PRODUCTS,
        "orders": args.orders,
        "workers": args.workers,
        "queries_per_order": queries,
        "rows": rows,
        "command": " ".join([Path(sys.executable).name, *sys.argv]),
        "date": datetime.datetime.now(datetime.UTC).isoformat(),
    }
    out = RESULTS / f"order-api-{connection.vendor}-{args.orders}.json"
    out.write_text(json.dumps(result, indent=2, default=str))
    print(f"\nWrote {out.relative_to(ROOT)}")


if __name__ == "__main__":
    if len(sys.argv) == 3 and sys.argv[1] == "--serve-fd":
        serve(int(sys.argv[2]))
    else:
        main()
