"""File import throughput, end to end, side by side with a plain bulk load of the same rows.

For each size, writes a messy customer CSV (`integration.samples.write_messy_csv`: mixed
case, several phone and date styles, broken rows every 50 lines), creates a fresh database,
migrates it and runs `patron import run` in a child process, timed from the start of the
import to the completed run: reading, mapping and normalising, staging (source records,
quarantine, checkpoints) and the customer records with their contact points and audit
events. The child reports its own peak memory (and its worker processes').

Then, in the same database, the baseline: the same file read with Python's csv module and
loaded into a plain table of text columns, with COPY on PostgreSQL and one executemany per
2,000 rows on SQLite. Rows per second are counted over the rows of the file for both.

    .venv/bin/python benchmarks/import_throughput.py                         # PostgreSQL
    .venv/bin/python benchmarks/import_throughput.py --database-url sqlite   # SQLite
    .venv/bin/python benchmarks/import_throughput.py --sizes 100000          # one size

Results go to benchmarks/results/ as JSON (gitignored); docs/benchmarks.md records them.
The benchmark databases are dropped (PostgreSQL) or deleted (SQLite) at the end unless
--keep is given.
"""

from __future__ import annotations

import argparse
import contextlib
import csv
import json
import os
import platform
import resource
import subprocess
import sys
import threading
import time
from pathlib import Path
from typing import Any
from urllib.parse import urlparse

ROOT = Path(__file__).resolve().parent.parent
RESULTS = ROOT / "benchmarks" / "results"
DEFAULT_PG = "postgres://postgres@127.0.0.1:5432/patron_importbench"
TARGET_ROWS_PER_SECOND = 50_000
BASELINE_BATCH = 2000


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument(
        "--database-url",
        default=DEFAULT_PG,
        help="PostgreSQL database to create for each size, or 'sqlite' for files under "
        "benchmarks/results/ (default: %(default)s).",
    )
    parser.add_argument(
        "--sizes",
        default="100000,1000000",
        help="Rows per file, comma separated (default: %(default)s).",
    )
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument(
        "--workers",
        type=int,
        default=None,
        help="Normalisation worker processes (PATRON_IMPORT_WORKERS; default: one per core).",
    )
    parser.add_argument("--keep", action="store_true", help="Keep the databases afterwards.")
    parser.add_argument(
        "--profile",
        metavar="PATH",
        help="Write a cProfile of the importing process to PATH (prefix; one file per size).",
    )
    parser.add_argument("--child", action="store_true", help=argparse.SUPPRESS)
    parser.add_argument("--file", help=argparse.SUPPRESS)
    return parser.parse_args()


# --- databases --------------------------------------------------------------------------------


def database_for(url: str, rows: int) -> str:
    if url == "sqlite":
        return f"sqlite:///{RESULTS / f'import-bench-{rows}.sqlite3'}"
    return url


def fresh_database(url: str) -> None:
    if url.startswith("sqlite"):
        path = urlparse(url).path
        for suffix in ("", "-wal", "-shm"):
            Path(path + suffix).unlink(missing_ok=True)
        return
    import psycopg

    parsed = urlparse(url)
    name = parsed.path.lstrip("/")
    admin = parsed._replace(path="/postgres").geturl()
    with psycopg.connect(admin, autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        conn.execute(f'CREATE DATABASE "{name}"')


def drop_database(url: str) -> None:
    if url.startswith("sqlite"):
        path = urlparse(url).path
        for suffix in ("", "-wal", "-shm"):
            Path(path + suffix).unlink(missing_ok=True)
        return
    import psycopg

    parsed = urlparse(url)
    admin = parsed._replace(path="/postgres").geturl()
    with psycopg.connect(admin, autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{parsed.path.lstrip("/")}" WITH (FORCE)')


# --- the import, in a child process -----------------------------------------------------------


def child(args: argparse.Namespace) -> None:
    """Migrate, create the importing user, then time `patron import run` in this process."""
    os.environ["DATABASE_URL"] = args.database_url
    os.environ.setdefault("PATRON_ALLOW_INSECURE_KEY", "1")
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "patron.settings")
    sys.path.insert(0, str(ROOT))
    import django

    django.setup()
    from django.core.management import call_command

    from patron.integration.models import ImportRun

    call_command("migrate", verbosity=0, interactive=False)
    call_command("createuser", "bench", "--password", "Bench-pass-123", "--role", "admin")
    rss_before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    cpu_before = _cpu(resource.RUSAGE_SELF)
    timings = _time_statements() if os.environ.get("PATRON_BENCH_SQL_TIMES") else None
    command = ["import", "run", args.file, "--source", "Shop", "--region", "DE"]
    command += ["--no-progress", "--user", "bench"]
    profiler = None
    if args.profile:
        import cProfile

        profiler = cProfile.Profile()
        profiler.enable()
    started = time.perf_counter()
    call_command(*command)
    seconds = time.perf_counter() - started
    if profiler is not None:
        profiler.disable()
        profiler.dump_stats(args.profile)
    if timings is not None:
        for what, (n, spent) in sorted(timings.items(), key=lambda kv: -kv[1][1])[:25]:
            print(f"TIME {spent:7.2f} s {n:6d}× {what}")
    run = ImportRun.objects.get()
    result = {
        "seconds": seconds,
        "status": run.status,
        "rows_done": run.rows_done,
        "created": run.created_count,
        "updated": run.updated_count,
        "quarantined": run.quarantined_count,
        "flagged": run.flagged_count,
        "max_rss_kib_before_import": rss_before,
        "max_rss_kib": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss,
        "importer_cpu_s": _cpu(resource.RUSAGE_SELF) - cpu_before,
    }
    print("RESULT " + json.dumps(result), flush=True)


def _time_statements() -> dict[str, list[float]]:
    """Seconds spent per kind of statement (the first words of its SQL, COPYs per table), for
    finding where the database time of an import goes (PATRON_BENCH_SQL_TIMES=1)."""
    import re

    from django.db import connection
    from django.db.backends.signals import connection_created

    from patron.core import bulk

    timings: dict[str, list[float]] = {}

    def note(what: str, started: float) -> None:
        entry = timings.setdefault(what, [0, 0.0])
        entry[0] += 1
        entry[1] += time.perf_counter() - started

    def wrapper(execute, sql, params, many, context):
        started = time.perf_counter()
        try:
            return execute(sql, params, many, context)
        finally:
            note(re.sub(r"\s+", " ", str(sql))[:90], started)

    def install(connection, **kwargs):
        if wrapper not in connection.execute_wrappers:  # once, also after a reconnect
            connection.execute_wrappers.append(wrapper)

    connection_created.connect(install, weak=False)
    install(connection)
    original = bulk.insert_rows

    def insert_rows(model, columns, rows):
        started = time.perf_counter()
        try:
            return original(model, columns, rows)
        finally:
            note(f"COPY {bulk._table(model)}", started)

    bulk.insert_rows = insert_rows
    return timings


def _sample_peaks(process: subprocess.Popen[str], peaks: dict[int, int]) -> None:
    """Every 0.2 s until `process` ends: the peak resident memory (VmHWM) of it and of every
    process below it, by pid."""
    while process.poll() is None:
        children: dict[int, list[int]] = {}
        for stat in Path("/proc").glob("[0-9]*/stat"):
            with contextlib.suppress(OSError, ValueError, IndexError):
                fields = stat.read_text().rsplit(")", 1)[1].split()
                children.setdefault(int(fields[1]), []).append(int(stat.parent.name))
        todo = [process.pid]
        while todo:
            pid = todo.pop()
            todo += children.get(pid, [])
            with contextlib.suppress(OSError, ValueError, StopIteration):
                status = Path(f"/proc/{pid}/status").read_text().splitlines()
                line = next(ln for ln in status if ln.startswith("VmHWM:"))
                peaks[pid] = max(peaks.get(pid, 0), int(line.split()[1]))
        time.sleep(0.2)


def _cpu(who: int) -> float:
    usage = resource.getrusage(who)
    return usage.ru_utime + usage.ru_stime


def run_import(
    url: str, path: Path, workers: int | None, profile: str | None = None
) -> dict[str, Any]:
    env = {**os.environ, "PATRON_ALLOW_INSECURE_KEY": "1"}
    env["PATRON_VAR_DIR"] = str(RESULTS / "var")
    if workers is not None:
        env["PATRON_IMPORT_WORKERS"] = str(workers)
    command = [sys.executable, __file__, "--child", "--database-url", url, "--file", str(path)]
    if profile:
        command += ["--profile", f"{profile}-{path.stem}.prof"]
    child_process = subprocess.Popen(  # noqa: S603
        command, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True
    )
    peaks: dict[int, int] = {}
    sampler = threading.Thread(target=_sample_peaks, args=(child_process, peaks), daemon=True)
    sampler.start()
    stdout, stderr = child_process.communicate()
    sampler.join()
    done = subprocess.CompletedProcess(command, child_process.returncode, stdout, stderr)
    if done.returncode != 0:
        raise SystemExit(f"The import failed:\n{done.stdout}\n{done.stderr}")
    for timed in (ln for ln in done.stdout.splitlines() if ln.startswith("TIME ")):
        print(" ", timed[5:])
    line = next(ln for ln in done.stdout.splitlines() if ln.startswith("RESULT "))
    result = json.loads(line[len("RESULT ") :])
    # Worker processes are children of multiprocessing's fork server, never waited for by
    # the importer, so their peak is read from /proc while they run (VmHWM, in KiB).
    worker_peaks = [kib for pid, kib in peaks.items() if pid != child_process.pid]
    result["workers_max_rss_kib"] = max(worker_peaks, default=0)
    # The same peak seen from here: the largest of the child and its workers.
    result["children_max_rss_kib"] = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss
    return result


# --- the baseline -----------------------------------------------------------------------------


def _rows(path: Path, width: int):
    """The file's records as the importer's reader sees them, padded or cut to the header."""
    with open(path, encoding="utf-8", errors="replace", newline="") as fh:
        reader = csv.reader(fh)
        next(reader)
        for cells in reader:
            if not cells:
                continue
            yield (cells + [""] * width)[:width]


def baseline(url: str, path: Path) -> dict[str, Any]:
    """Load the same rows into a plain table: COPY (PostgreSQL) or executemany (SQLite)."""
    with open(path, encoding="utf-8", newline="") as fh:
        header = next(csv.reader(fh))
    width = len(header)
    columns = ", ".join(f"c{i} text" for i in range(width))
    rows = 0
    if url.startswith("sqlite"):
        import sqlite3

        conn = sqlite3.connect(urlparse(url).path)
        conn.execute("PRAGMA journal_mode=WAL")
        conn.execute("PRAGMA synchronous=NORMAL")
        conn.execute(f"CREATE TABLE plain_rows ({columns})")
        marks = ", ".join(["?"] * width)
        started = time.perf_counter()
        batch = []
        for row in _rows(path, width):
            batch.append(row)
            if len(batch) >= BASELINE_BATCH:
                with conn:
                    conn.executemany(f"INSERT INTO plain_rows VALUES ({marks})", batch)  # noqa: S608
                rows += len(batch)
                batch = []
        with conn:
            conn.executemany(f"INSERT INTO plain_rows VALUES ({marks})", batch)  # noqa: S608
        rows += len(batch)
        seconds = time.perf_counter() - started
        conn.close()
        method = f"csv.reader + executemany per {BASELINE_BATCH} rows"
    else:
        import psycopg

        with psycopg.connect(url) as conn:
            conn.execute(f"CREATE TABLE plain_rows ({columns})")
            conn.commit()
            started = time.perf_counter()
            with conn.cursor() as cursor, cursor.copy("COPY plain_rows FROM STDIN") as copy:
                for row in _rows(path, width):
                    copy.write_row(row)
                    rows += 1
            conn.commit()
            seconds = time.perf_counter() - started
        method = "csv.reader + COPY"
    return {"seconds": seconds, "rows": rows, "method": method}


# --- reporting --------------------------------------------------------------------------------


def machine(url: str) -> dict[str, Any]:
    info: dict[str, Any] = {
        "cpus": os.cpu_count(),
        "platform": platform.platform(),
        "python": platform.python_version(),
    }
    with contextlib.suppress(OSError, ValueError, IndexError):
        info["memory_kib"] = int(Path("/proc/meminfo").read_text().split()[1])
    if url.startswith("sqlite"):
        import sqlite3

        info["database"] = f"SQLite {sqlite3.sqlite_version}"
    else:
        import psycopg

        with psycopg.connect(url) as conn:
            version = conn.execute("SHOW server_version").fetchone()
        info["database"] = f"PostgreSQL {version[0] if version else '?'}"
    return info


def print_table(rows: list[dict[str, Any]]) -> None:
    header = (
        f"{'rows':>10} {'import s':>9} {'import rows/s':>14} {'baseline s':>11} "
        f"{'baseline rows/s':>16} {'ratio':>7} {'peak RSS MiB':>13} {'workers MiB':>12}"
    )
    print(header)
    print("-" * len(header))
    for r in rows:
        print(
            f"{r['rows']:>10,} {r['import']['seconds']:>9.1f} {r['import_rows_per_s']:>14,.0f} "
            f"{r['baseline']['seconds']:>11.1f} {r['baseline_rows_per_s']:>16,.0f} "
            f"{r['ratio']:>7.3f} {r['import']['max_rss_kib'] / 1024:>13.0f} "
            f"{r['import']['workers_max_rss_kib'] / 1024:>12.0f}"
        )


def main() -> None:
    args = parse_args()
    if args.child:
        child(args)
        return
    sys.path.insert(0, str(ROOT))
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "patron.settings")
    os.environ.setdefault("PATRON_ALLOW_INSECURE_KEY", "1")
    RESULTS.mkdir(parents=True, exist_ok=True)
    import django

    django.setup()
    from patron.integration.samples import write_messy_csv

    rows_out = []
    for size in [int(s) for s in args.sizes.split(",") if s.strip()]:
        path = RESULTS / f"messy-{size}-seed{args.seed}.csv"
        if not path.exists():
            print(f"Writing {size:,} messy rows to {path.relative_to(ROOT)}…", flush=True)
            write_messy_csv(path, size, seed=args.seed)
        url = database_for(args.database_url, size)
        fresh_database(url)
        print(f"Importing {size:,} rows ({url.split('@')[-1]})…", flush=True)
        imported = run_import(url, path, args.workers, args.profile)
        print(f"  {imported['seconds']:.1f} s; baseline load of the same rows…", flush=True)
        loaded = baseline(url, path)
        info = machine(url)
        if not args.keep:
            drop_database(url)
        import_rate = size / imported["seconds"]
        baseline_rate = size / loaded["seconds"]
        rows_out.append(
            {
                "rows": size,
                "file_bytes": path.stat().st_size,
                "import": imported,
                "baseline": loaded,
                "import_rows_per_s": import_rate,
                "baseline_rows_per_s": baseline_rate,
                "ratio": import_rate / baseline_rate,
                "machine": info,
            }
        )
    print()
    database = rows_out[0]["machine"]["database"] if rows_out else ""
    print(f"{database}, {os.cpu_count()} cores; baseline: {rows_out[0]['baseline']['method']}")
    print_table(rows_out)
    for r in rows_out:
        met = r["import_rows_per_s"] >= TARGET_ROWS_PER_SECOND
        print(
            f"{r['rows']:,} rows: {r['import_rows_per_s']:,.0f} rows/s — target "
            f"{TARGET_ROWS_PER_SECOND:,} rows/s {'met' if met else 'NOT met'}"
        )
    result = {
        "measured_at": time.strftime("%Y-%m-%dT%H:%M:%S%z"),
        "command": " ".join([Path(sys.executable).name, *sys.argv]),
        "workers": args.workers,
        "results": rows_out,
    }
    kind = "sqlite" if args.database_url == "sqlite" else "postgresql"
    out = RESULTS / f"import-throughput-{kind}.json"
    out.write_text(json.dumps(result, indent=2))
    print(f"\nWrote {out.relative_to(ROOT)}")


if __name__ == "__main__":
    main()
