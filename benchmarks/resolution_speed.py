"""Entity resolution speed: Patron's person model against a plain Splink run, same data.

Generates `--records` synthetic customer records in three source systems with known truth
(`patron.quality.resolution.synthetic`), writes them to a temporary parquet file, then runs
each contender in a child process of its own, so that peak memory is its own:

- **baseline**, plain Splink with a generic setup, as its tutorial would have it: DuckDB,
  dedupe_only, comparisons from the comparison library applied as they come (NameComparison
  on first and last name, EmailComparison, ExactMatch on phone and postcode,
  DateOfBirthComparison), predictions blocked on email, on phone and on last name with date
  of birth; the match prior from deterministic rules, u by random sampling, m by expectation
  maximisation on two blocking rules (first + last name, date of birth); predict at 0.9,
  cluster_pairwise_predictions_at_threshold at 0.9. Its only preparation: "" → NULL.
- **patron**, `patron.quality.resolution.engine`: `PersonModel().train(raw)`,
  `.predict(raw, threshold=REVIEW_THRESHOLD)` and `cluster(ids, pairs,
  threshold=MATCH_THRESHOLD)`.

Both get a DuckDB connection with `--threads` threads. For each it reports wall time per
phase, CPU time (less sensitive than wall time to other work on a shared machine), pairs
returned by predict, candidate pairs the blocking rules generate (counted by Splink's
blocking analysis afterwards, untimed; estimated from a 30 % sample above 200,000 records),
peak RSS of its process (input frame included), and pairwise precision, recall and F1 of the
clusters against the truth, computed from group sizes (pairs within a cluster, a person, or
both), never by listing pairs. It also counts household pairs (different people at one
address) that ended up in one cluster.

    .venv/bin/python benchmarks/resolution_speed.py                     # 1,000,000 records
    .venv/bin/python benchmarks/resolution_speed.py --records 100000 --threads 2 --seed 7
    .venv/bin/python benchmarks/resolution_speed.py --only baseline

Results go to benchmarks/results/resolution-speed-<records>.json (gitignored);
docs/benchmarks.md ("Entity resolution speed") records them.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from patron.quality.resolution.synthetic import (  # noqa: E402
    RAW_COLUMNS,
    generate,
    people_for_records,
)

RESULTS = ROOT / "benchmarks" / "results"
TARGET_SECONDS = 180
BASELINE_THRESHOLD = 0.9
EXACT_CANDIDATES_UP_TO = 200_000


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--records", type=int, default=1_000_000)
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--threads", type=int, default=2, help="DuckDB threads")
    parser.add_argument(
        "--only", choices=("baseline", "patron"), help="run one contender, not both"
    )
    parser.add_argument(
        "--no-candidates", action="store_true", help="skip counting candidate pairs"
    )
    parser.add_argument("--child", choices=("baseline", "patron"), help=argparse.SUPPRESS)
    parser.add_argument("--data", help=argparse.SUPPRESS)
    parser.add_argument("--out", help=argparse.SUPPRESS)
    return parser.parse_args(argv)


# --------------------------------------------------------------------------- measuring


def peak_rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def cpu_seconds() -> float:
    """CPU time of this process, all its threads (DuckDB's included), user and system."""
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


def _pairs(frame: pd.DataFrame, columns: list[str]) -> int:
    sizes = frame.groupby(columns, sort=False).size().to_numpy(np.int64)
    return int((sizes * (sizes - 1) // 2).sum())


def cluster_metrics(truth: pd.DataFrame, cluster_of: np.ndarray) -> dict[str, Any]:
    """Pairwise precision/recall/F1 of a clustering, from group sizes only.

    `truth` has person_id and household_id per record, `cluster_of` the cluster per record
    (same order). Pairs within a cluster are predicted matches, pairs within a person true
    ones; their intersection is the pairs within (cluster, person).
    """
    frame = pd.DataFrame(
        {
            "c": cluster_of,
            "p": truth["person_id"].to_numpy(),
            "h": truth["household_id"].to_numpy(),
        }
    )
    predicted = _pairs(frame, ["c"])
    true = _pairs(frame, ["p"])
    hits = _pairs(frame, ["c", "p"])
    household_pairs = _pairs(frame, ["h"]) - true  # a person lives in one household
    household_merged = _pairs(frame, ["c", "h"]) - hits
    precision = hits / predicted if predicted else 1.0
    recall = hits / true if true else 1.0
    f1 = 2 * precision * recall / (precision + recall) if precision + recall else 0.0
    sizes = frame.groupby("c", sort=False).size()
    return {
        "clusters": int(len(sizes)),
        "largest_cluster": int(sizes.max()),
        "predicted_pairs": predicted,
        "true_pairs": true,
        "true_positive_pairs": hits,
        "precision": precision,
        "recall": recall,
        "f1": f1,
        "household_pairs": household_pairs,
        "household_pairs_merged": household_merged,
    }


def edge_metrics(truth: pd.DataFrame, left: np.ndarray, right: np.ndarray) -> dict[str, Any]:
    """Precision and recall of the scored pairs at the merge threshold, before clustering."""
    person = pd.Series(truth["person_id"].to_numpy(), index=truth["unique_id"].to_numpy())
    same = person.reindex(left).to_numpy() == person.reindex(right).to_numpy()
    hits = int(same.sum())
    true = _pairs(truth[["person_id"]], ["person_id"])
    return {
        "edges": int(len(left)),
        "edge_precision": hits / len(left) if len(left) else 1.0,
        "edge_recall": hits / true if true else 1.0,
    }


def duckdb_api(threads: int) -> Any:
    import duckdb
    from splink import DuckDBAPI

    con = duckdb.connect()
    con.execute(f"SET threads = {int(threads)}")
    con.execute("SET enable_progress_bar = false")
    return DuckDBAPI(connection=con)


def count_candidates(api: Any, frame: pd.DataFrame, rules: list[Any], records: int) -> dict:
    from splink.blocking_analysis import count_comparisons_from_blocking_rules

    proportion = 1.0 if records <= EXACT_CANDIDATES_UP_TO else 0.3
    counts = count_comparisons_from_blocking_rules(
        api.register(frame),
        blocking_rules=rules,
        link_type="dedupe_only",
        record_sample_proportion=proportion,
    )
    return {
        "candidate_pairs": int(counts[-1]["cumulative_comparison_count"]),
        "candidate_pairs_estimated": proportion < 1.0,
    }


# --------------------------------------------------------------------------- contenders


BASELINE_RULES = [("email",), ("phone",), ("last_name", "date_of_birth")]


def run_baseline(raw: pd.DataFrame, threads: int) -> dict[str, Any]:
    import logging

    import splink.comparison_library as cl
    from splink import Linker, SettingsCreator, block_on

    phases: dict[str, float] = {}
    start = time.perf_counter()
    api = duckdb_api(threads)
    data = raw[RAW_COLUMNS].replace("", None)  # Splink wants NULLs, not empty strings
    settings = SettingsCreator(
        link_type="dedupe_only",
        comparisons=[
            cl.NameComparison("first_name"),
            cl.NameComparison("last_name"),
            cl.EmailComparison("email"),
            cl.ExactMatch("phone"),
            cl.DateOfBirthComparison(
                "date_of_birth", input_is_string=True, datetime_format="%Y-%m-%d"
            ),
            cl.ExactMatch("postal_code"),
        ],
        blocking_rules_to_generate_predictions=[block_on(*rule) for rule in BASELINE_RULES],
    )
    linker = Linker(api.register(data), settings, log_level=logging.WARNING)
    phases["prepare"] = time.perf_counter() - start

    t = time.perf_counter()
    linker.training.estimate_probability_two_random_records_match(
        [block_on("first_name", "last_name", "date_of_birth"), block_on("email")], recall=0.7
    )
    linker.training.estimate_u_using_random_sampling(max_pairs=5e6, seed=1)
    linker.training.estimate_parameters_using_expectation_maximisation(
        block_on("first_name", "last_name")
    )
    linker.training.estimate_parameters_using_expectation_maximisation(block_on("date_of_birth"))
    phases["train"] = time.perf_counter() - t

    t = time.perf_counter()
    predictions = linker.inference.predict(threshold_match_probability=BASELINE_THRESHOLD)
    phases["predict"] = time.perf_counter() - t

    t = time.perf_counter()
    clusters = linker.clustering.cluster_pairwise_predictions_at_threshold(
        predictions, threshold_match_probability=BASELINE_THRESHOLD
    )
    assigned = api.duckdb_con.execute(
        f"SELECT unique_id, cluster_id FROM {clusters.physical_name}"
    ).df()
    phases["cluster"] = time.perf_counter() - t
    total = time.perf_counter() - start
    rss = peak_rss_mb()

    edges = api.duckdb_con.execute(
        f"SELECT unique_id_l, unique_id_r FROM {predictions.physical_name}"
    ).df()
    return {
        "phases": phases,
        "total": total,
        "peak_rss_mb": rss,
        "pairs_returned": int(len(edges)),
        "predict_threshold": BASELINE_THRESHOLD,
        "merge_threshold": BASELINE_THRESHOLD,
        "assigned": assigned,
        "edges": edges,
        "api": api,
        "candidate_input": (data, [block_on(*rule) for rule in BASELINE_RULES]),
    }


def _time_feature_preparation() -> list[float]:
    """Time the engine's feature preparation (pandas, in Python) apart from Splink's SQL."""
    from patron.quality.resolution import engine

    spent = [0.0]

    def timer(step: Any) -> Any:
        def timed(*args: Any, **kwargs: Any) -> Any:
            t = time.perf_counter()
            try:
                return step(*args, **kwargs)
            finally:
                spent[0] += time.perf_counter() - t

        return timed

    for name in ("prepare_people", "add_blocking_keys"):
        if hasattr(engine, name):
            setattr(engine, name, timer(getattr(engine, name)))
    return spent


def run_patron(raw: pd.DataFrame, threads: int) -> dict[str, Any]:
    from patron.quality.resolution.engine import (
        MATCH_THRESHOLD,
        REVIEW_THRESHOLD,
        PersonModel,
        cluster,
    )

    phases: dict[str, float] = {}
    feature_seconds = _time_feature_preparation()
    start = time.perf_counter()
    api = duckdb_api(threads)
    frame = raw[RAW_COLUMNS]
    model = PersonModel(db_api=api)

    t = time.perf_counter()
    model.train(frame)
    phases["train"] = time.perf_counter() - t
    phases["train_features"], feature_seconds[0] = feature_seconds[0], 0.0

    t = time.perf_counter()
    pairs = model.predict(frame, threshold=REVIEW_THRESHOLD)
    phases["predict"] = time.perf_counter() - t
    phases["predict_features"] = feature_seconds[0]

    t = time.perf_counter()
    cluster_of = cluster(frame["unique_id"].tolist(), pairs, threshold=MATCH_THRESHOLD)
    assigned = pd.DataFrame(
        {
            "unique_id": np.fromiter(cluster_of.keys(), np.int64, len(cluster_of)),
            "cluster_id": np.fromiter(cluster_of.values(), np.int64, len(cluster_of)),
        }
    )
    phases["cluster"] = time.perf_counter() - t
    total = time.perf_counter() - start
    rss = peak_rss_mb()

    strong = pairs[pairs["match_probability"] >= MATCH_THRESHOLD]
    candidate_input = None
    try:  # the engine's own rules and features, to count what its blocking generates
        from patron.quality.resolution import engine, features

        prepared = features.prepare_people(frame)
        if hasattr(features, "add_blocking_keys"):
            prepared = features.add_blocking_keys(prepared)
        candidate_input = (prepared, list(engine._PREDICTION_RULES))
    except (ImportError, AttributeError):
        pass
    return {
        "phases": phases,
        "total": total,
        "peak_rss_mb": rss,
        "pairs_returned": int(len(pairs)),
        "predict_threshold": REVIEW_THRESHOLD,
        "merge_threshold": MATCH_THRESHOLD,
        "assigned": assigned,
        "edges": strong[["unique_id_l", "unique_id_r"]],
        "api": api,
        "candidate_input": candidate_input,
    }


def child(args: argparse.Namespace) -> None:
    raw = pd.read_parquet(args.data)
    loaded_rss = peak_rss_mb()
    try:
        run = run_baseline if args.child == "baseline" else run_patron
        cpu = cpu_seconds()
        result = run(raw, args.threads)
        result["cpu_seconds"] = cpu_seconds() - cpu
    except ImportError as error:  # the engine is not there (yet)
        Path(args.out).write_text(json.dumps({"error": f"not importable: {error}"}))
        return
    truth = raw[["unique_id", "person_id", "household_id"]]
    assigned = result.pop("assigned").set_index("unique_id")["cluster_id"]
    cluster_of = assigned.reindex(truth["unique_id"].to_numpy()).to_numpy()
    missing = np.isnan(cluster_of) if cluster_of.dtype.kind == "f" else np.zeros(0, bool)
    if missing.any():  # records without a cluster are clusters of their own
        cluster_of[missing] = -np.arange(1, int(missing.sum()) + 1)
    result.update(cluster_metrics(truth, cluster_of))
    edges = result.pop("edges")
    result.update(
        edge_metrics(
            truth,
            edges["unique_id_l"].to_numpy(np.int64),
            edges["unique_id_r"].to_numpy(np.int64),
        )
    )
    api = result.pop("api")
    candidate_input = result.pop("candidate_input")
    if candidate_input is not None and not args.no_candidates:
        t = time.perf_counter()
        features, rules = candidate_input
        try:
            result.update(count_candidates(api, features, rules, len(raw)))
        except Exception as error:  # noqa: BLE001 - counting is a by-product, not the benchmark
            print(f"could not count candidate pairs: {error!s:.200}", file=sys.stderr)
        result["candidate_count_seconds"] = time.perf_counter() - t
    result["input_rss_mb"] = loaded_rss
    Path(args.out).write_text(json.dumps(result, default=float))


# --------------------------------------------------------------------------- report


def run_child(name: str, data: Path, args: argparse.Namespace) -> dict[str, Any]:
    out = data.with_suffix(f".{name}.json")
    command = [
        sys.executable,
        str(Path(__file__).resolve()),
        "--child",
        name,
        "--data",
        str(data),
        "--out",
        str(out),
        "--threads",
        str(args.threads),
    ]
    if args.no_candidates:
        command.append("--no-candidates")
    print(f"running {name} …", flush=True)
    started = time.perf_counter()
    completed = subprocess.run(command, check=False)  # noqa: S603
    wall = time.perf_counter() - started
    if completed.returncode != 0 or not out.exists():
        return {"error": f"child exited with {completed.returncode}", "process_seconds": wall}
    result = json.loads(out.read_text())
    result["process_seconds"] = wall
    return result


def _seconds(value: float | None) -> str:
    if value is None:
        return "–"
    return f"{value:,.1f} s" if value < 120 else f"{value:,.1f} s ({value / 60:.1f} min)"


def table(results: dict[str, dict[str, Any]], records: int) -> str:
    names = list(results)
    rows: list[tuple[str, list[str]]] = []

    def row(label: str, fn) -> None:  # type: ignore[no-untyped-def]
        cells = []
        for name in names:
            result = results[name]
            if "error" in result:
                cells.append("–")
                continue
            try:
                cells.append(fn(result))
            except (KeyError, TypeError):
                cells.append("–")
        rows.append((label, cells))

    row("records", lambda r: f"{records:,}")
    row(
        "candidate pairs (blocking)",
        lambda r: f"{'≈' if r['candidate_pairs_estimated'] else ''}{r['candidate_pairs']:,}",
    )
    row(
        "pairs returned by predict",
        lambda r: f"{r['pairs_returned']:,} (≥ {r['predict_threshold']})",
    )
    row("prepare", lambda r: _seconds(r["phases"].get("prepare")))
    row("train", lambda r: _seconds(r["phases"]["train"]))
    row("… of which feature preparation", lambda r: _seconds(r["phases"]["train_features"]))
    row("predict", lambda r: _seconds(r["phases"]["predict"]))
    row("… of which feature preparation", lambda r: _seconds(r["phases"]["predict_features"]))
    row("cluster", lambda r: _seconds(r["phases"]["cluster"]))
    row("total", lambda r: _seconds(r["total"]))
    row("CPU time (all threads)", lambda r: _seconds(r["cpu_seconds"]))
    row("peak RSS", lambda r: f"{r['peak_rss_mb']:,.0f} MB (input {r['input_rss_mb']:,.0f})")
    row("merge threshold", lambda r: f"{r['merge_threshold']}")
    row(
        "pairs ≥ merge threshold: precision / recall",
        lambda r: f"{r['edge_precision']:.3f} / {r['edge_recall']:.3f}",
    )
    row("clusters (largest)", lambda r: f"{r['clusters']:,} ({r['largest_cluster']})")
    row(
        "clusters: precision / recall / F1",
        lambda r: f"{r['precision']:.3f} / {r['recall']:.3f} / {r['f1']:.3f}",
    )
    row(
        "household pairs wrongly merged",
        lambda r: (
            f"{r['household_pairs_merged']:,} of {r['household_pairs']:,}"
            f" ({r['household_pairs_merged'] / max(1, r['household_pairs']):.1%})"
        ),
    )
    header = "| | " + " | ".join(names) + " |"
    lines = [header, "|---|" + "---:|" * len(names)]
    for label, cells in rows:
        lines.append(f"| {label} | " + " | ".join(cells) + " |")
    return "\n".join(lines)


def main() -> None:
    args = parse_args()
    if args.child:
        child(args)
        return
    people = people_for_records(args.records)
    print(
        f"generating ~{args.records:,} records ({people:,} people, seed {args.seed}) …",
        flush=True,
    )
    t = time.perf_counter()
    frame = generate(people, seed=args.seed)
    generate_seconds = time.perf_counter() - t
    truth: dict[str, Any] = {
        "records": len(frame),
        "people": people,
        "true_pairs": _pairs(frame, ["person_id"]),
        "household_pairs": _pairs(frame, ["household_id"]) - _pairs(frame, ["person_id"]),
        "generate_seconds": generate_seconds,
    }
    print(
        f"{len(frame):,} records, {truth['true_pairs']:,} true pairs, "
        f"{truth['household_pairs']:,} household pairs; generated in {generate_seconds:.1f} s",
        flush=True,
    )
    names = [args.only] if args.only else ["baseline", "patron"]
    results: dict[str, dict[str, Any]] = {}
    with tempfile.TemporaryDirectory(prefix="patron-resolution-") as tmp:
        data = Path(tmp) / "records.parquet"
        frame.to_parquet(data, index=False)
        del frame
        for name in names:
            results[name] = run_child(name, data, args)
            if "error" in results[name]:
                print(f"{name}: {results[name]['error']}", flush=True)
    print()
    print(table(results, truth["records"]))
    for name, result in results.items():
        if "total" in result:
            verdict = "met" if result["total"] <= TARGET_SECONDS else "missed"
            print(f"{name}: {_seconds(result['total'])} — target ≤ {TARGET_SECONDS} s {verdict}")
    report = {
        "when": time.strftime("%Y-%m-%d %H:%M:%S %Z"),
        "command": " ".join([Path(sys.executable).name, *sys.argv]),
        "machine": {
            "cpus": os.cpu_count(),
            "python": platform.python_version(),
            "loadavg": os.getloadavg(),
        },
        "args": {"records": args.records, "seed": args.seed, "threads": args.threads},
        "truth": truth,
        "results": results,
    }
    RESULTS.mkdir(parents=True, exist_ok=True)
    path = RESULTS / f"resolution-speed-{args.records}.json"
    path.write_text(json.dumps(report, indent=2, default=float))
    print(f"\nresults: {path.relative_to(ROOT)}")


if __name__ == "__main__":
    main()
