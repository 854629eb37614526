"""Entity resolution end to end through Patron: generated records of three systems imported as
source records, then `patron resolve --full` (read, train, score, cluster, merge customers,
queue reviews, choose golden values), against the engine alone on the same records in the same
run (the baseline: what matching costs before Patron applies it to the database).

    .venv/bin/python benchmarks/resolution_end_to_end.py --people 5000
    .venv/bin/python benchmarks/resolution_end_to_end.py --people 5000 --database-url postgres://postgres@127.0.0.1:5432/patron_er_bench

Prints the phases of both, merges made, pairs queued and pairwise precision/recall against the
generated truth. The database is created afresh (a temporary SQLite file by default).
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--people", type=int, default=5000)
    parser.add_argument("--seed", type=int, default=9)
    parser.add_argument("--database-url", default="")
    args = parser.parse_args()

    workdir = Path(tempfile.mkdtemp(prefix="patron-er-"))
    os.environ["PATRON_VAR_DIR"] = str(workdir)
    os.environ["DATABASE_URL"] = args.database_url or f"sqlite:///{workdir / 'er.sqlite3'}"
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "patron.settings")
    os.environ.setdefault("PATRON_ALLOW_INSECURE_KEY", "1")
    if args.database_url.startswith("postgres"):
        import psycopg

        base, name = args.database_url.rsplit("/", 1)
        with psycopg.connect(base + "/postgres", autocommit=True) as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{name}"')
            conn.execute(f'CREATE DATABASE "{name}"')

    import django

    django.setup()
    from django.core.management import call_command

    call_command("migrate", verbosity=0)
    from patron.core import services
    from patron.core.tests.factories import role
    from patron.quality import matching
    from patron.quality.resolution import engine
    from patron.quality.resolution.synthetic import generate
    from patron.quality.tests.test_resolution_runs import load, pair_scores

    admin = services.user_create(
        actor=None, username="bench", password="a-long-pass-phrase-1", role=role("admin")
    )
    frame = generate(args.people, seed=args.seed)

    # Baseline: the engine alone, on the same records.
    raw = frame[engine.RAW_COLUMNS]
    started = time.perf_counter()
    model = engine.PersonModel()
    model.train(raw)
    trained = time.perf_counter()
    pairs = model.predict(raw, threshold=engine.REVIEW_THRESHOLD)
    predicted = time.perf_counter()
    engine.cluster(raw["unique_id"].tolist(), pairs, threshold=engine.MATCH_THRESHOLD)
    clustered = time.perf_counter()
    baseline = {
        "train": trained - started,
        "predict": predicted - trained,
        "cluster": clustered - predicted,
        "total": clustered - started,
    }

    started = time.perf_counter()
    truth = load(admin, frame)
    imported = time.perf_counter() - started
    run = matching.resolution_start(actor=admin, full=True, enqueue=False)
    started = time.perf_counter()
    run = matching.resolution_process(run.pk)
    total = time.perf_counter() - started
    precision, recall = pair_scores(truth)

    vendor = django.db.connection.vendor
    print(f"\n{len(frame):,} source records ({args.people:,} people, 3 systems) on {vendor}")
    print(f"import as source records (not timed below): {imported:.1f} s")
    print(f"{'phase':<10} {'engine alone':>13} {'through Patron':>15}")
    for phase in ("read", "train", "predict", "cluster", "merge", "review", "golden", "total"):
        alone = baseline.get(phase)
        patron = total if phase == "total" else run.timings.get(phase)
        print(
            f"{phase:<10} {'' if alone is None else f'{alone:.1f} s':>13} "
            f"{'' if patron is None else f'{patron:.1f} s':>15}"
        )
    print(
        f"\nstatus {run.status}; merged {run.merges:,} customers, {run.review_pairs:,} pairs for "
        f"review; pairwise precision {precision:.4f}, recall {recall:.4f}"
    )


if __name__ == "__main__":
    main()
