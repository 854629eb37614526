"""The person model on Apache Spark (local mode), through Splink's Spark backend.

Optional: Spark needs Java 17+ and the `spark` extra, and a local session takes minutes, so the
test only runs when asked for:

    pip install -e '.[spark]'
    PATRON_SPARK_TESTS=1 pytest patron/quality/tests/test_resolution_spark.py -p no:xdist -s

It trains and scores the same synthetic records on DuckDB (the default) and on Spark, and checks
that Spark reaches the same accuracy against the ground truth and finds the same matches. No
database is used. See docs/user/scale-out-with-spark.md.
"""

from __future__ import annotations

import importlib.util
import os
import sys
import time
from collections.abc import Iterator
from itertools import combinations
from typing import Any

import pandas as pd
import pytest

from patron.quality.resolution.engine import (
    COMPARISON_NAMES,
    MATCH_THRESHOLD,
    RAW_COLUMNS,
    PersonModel,
    cluster,
)
from patron.quality.resolution.synthetic import generate, people_for_records, true_pairs

pytestmark = pytest.mark.skipif(
    os.environ.get("PATRON_SPARK_TESTS") != "1" or importlib.util.find_spec("pyspark") is None,
    reason="Spark test is optional: pip install -e '.[spark]' (needs Java 17+), "
    "then run with PATRON_SPARK_TESTS=1",
)

RECORDS = 2000
SEED = 21
JARO_WINKLER_COMPARISONS = {"first_name", "last_name", "address"}


@pytest.fixture(scope="module")
def spark(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Any]:
    """A small local Spark session with Splink's similarity functions (jaro_winkler,
    damerau_levenshtein) loaded from the jar Splink ships."""
    from pyspark.sql import SparkSession
    from splink.backends.spark import similarity_jar_location

    # Python workers must run this interpreter, not whatever `python` is first on PATH.
    saved = {key: os.environ.get(key) for key in ("PYSPARK_PYTHON", "PYSPARK_DRIVER_PYTHON")}
    os.environ["PYSPARK_PYTHON"] = os.environ["PYSPARK_DRIVER_PYTHON"] = sys.executable
    session = (
        SparkSession.builder.master("local[2]")
        .appName("patron-resolution-test")
        .config("spark.jars", similarity_jar_location())
        .config("spark.sql.shuffle.partitions", "2")
        .config("spark.default.parallelism", "2")
        # Adaptive execution only adds planning time on inputs this small.
        .config("spark.sql.adaptive.enabled", "false")
        .config("spark.ui.enabled", "false")
        .config("spark.ui.showConsoleProgress", "false")
        .config("spark.driver.host", "127.0.0.1")
        .config("spark.driver.bindAddress", "127.0.0.1")
        .getOrCreate()
    )
    session.sparkContext.setLogLevel("ERROR")
    # Splink breaks long query lineages by writing intermediate tables here (as parquet).
    session.sparkContext.setCheckpointDir(str(tmp_path_factory.mktemp("spark-checkpoints")))
    try:
        yield session
    finally:
        session.stop()
        for key, value in saved.items():
            if value is None:
                os.environ.pop(key, None)
            else:
                os.environ[key] = value


@pytest.fixture(scope="module")
def frame() -> pd.DataFrame:
    return generate(people_for_records(RECORDS), seed=SEED)


def _run(model: PersonModel, raw: pd.DataFrame) -> dict[str, Any]:
    started = time.perf_counter()
    model.train(raw)
    trained = time.perf_counter()
    pairs = model.predict(raw)
    predicted = time.perf_counter()
    clusters = cluster(raw["unique_id"].tolist(), pairs, threshold=MATCH_THRESHOLD)
    return {
        "model": model.to_json(),
        "pairs": pairs,
        "clusters": clusters,
        "train_s": trained - started,
        "predict_s": predicted - trained,
    }


def _clustered_pairs(clusters: dict[int, int]) -> set[tuple[int, int]]:
    members: dict[int, list[int]] = {}
    for record, root in clusters.items():
        members.setdefault(root, []).append(record)
    return {pair for ids in members.values() for pair in combinations(sorted(ids), 2)}


def _match_pairs(pairs: pd.DataFrame) -> set[tuple[int, int]]:
    strong = pairs[pairs["match_probability"] >= MATCH_THRESHOLD]
    return set(zip(strong["unique_id_l"].tolist(), strong["unique_id_r"].tolist(), strict=True))


def test_the_person_model_on_spark_matches_like_on_duckdb(spark, frame):
    from splink.backends.spark import SparkAPI

    raw = frame[RAW_COLUMNS]
    duckdb = _run(PersonModel(), raw)
    started = time.perf_counter()
    spark_run = _run(PersonModel(db_api=SparkAPI(spark_session=spark)), raw)
    total_s = time.perf_counter() - started

    truth = true_pairs(frame)
    found = _clustered_pairs(spark_run["clusters"])
    hits = len(found & truth)
    precision = hits / len(found)
    recall = hits / len(truth)
    duck_found = _clustered_pairs(duckdb["clusters"])
    duck_hits = len(duck_found & truth)

    duck_matches = _match_pairs(duckdb["pairs"])
    spark_matches = _match_pairs(spark_run["pairs"])
    agreement = len(duck_matches & spark_matches) / len(duck_matches)
    print(
        f"\n{len(raw)} records, {len(truth)} true pairs\n"
        f"DuckDB: train {duckdb['train_s']:.1f}s, predict {duckdb['predict_s']:.1f}s, "
        f"precision {duck_hits / len(duck_found):.3f}, recall {duck_hits / len(truth):.3f}\n"
        f"Spark:  train {spark_run['train_s']:.1f}s, predict {spark_run['predict_s']:.1f}s "
        f"(with Splink setup {total_s:.1f}s), precision {precision:.3f}, recall {recall:.3f}\n"
        f"DuckDB matches also found on Spark: {agreement:.3f} "
        f"({len(duck_matches)} on DuckDB, {len(spark_matches)} on Spark)"
    )

    assert precision >= 0.97
    assert recall >= 0.85
    assert agreement >= 0.95
    assert len(spark_matches - duck_matches) <= 0.05 * len(duck_matches)

    # Each pair lands on the same level of every comparison. Damerau-Levenshtein, the nickname
    # array intersection and the custom SQL levels agree exactly; Jaro-Winkler on Spark comes
    # from Splink's jar, which scores some strings of unequal length slightly differently from
    # DuckDB (e.g. "paulheinz"/"pauline": 0.913 on Spark, 0.927 on DuckDB), so a rare pair
    # crosses a threshold.
    common = duckdb["pairs"].merge(
        spark_run["pairs"], on=["unique_id_l", "unique_id_r"], suffixes=("_duckdb", "_spark")
    )
    assert len(common) >= 0.95 * len(duckdb["pairs"])
    for name in COMPARISON_NAMES:
        differs = int((common[f"gamma_{name}_duckdb"] != common[f"gamma_{name}_spark"]).sum())
        allowed = 0.01 * len(common) if name in JARO_WINKLER_COMPARISONS else 0
        assert differs <= allowed, f"{name}: {differs} of {len(common)} pairs on another level"

    # m comes from expectation maximisation over the same blocked pairs, so it agrees; u is
    # estimated from a random sample, which each backend draws differently.
    for name, levels in duckdb["model"]["comparisons"].items():
        spark_levels = spark_run["model"]["comparisons"][name]
        for on_duckdb, on_spark in zip(levels, spark_levels, strict=True):
            if on_duckdb["m"] is not None:
                assert on_spark["m"] == pytest.approx(on_duckdb["m"], abs=0.02), name


def test_a_saved_model_scores_new_records_on_spark_like_on_duckdb(spark, frame):
    """A model trained elsewhere (here on DuckDB) and loaded from its JSON scores an
    incremental run (new records against existing ones) on Spark with the same results."""
    from splink.backends.spark import SparkAPI

    raw = frame[RAW_COLUMNS]
    new, existing = raw.iloc[:200], raw.iloc[200:]
    on_duckdb = PersonModel()
    on_duckdb.train(raw)
    on_spark = PersonModel(on_duckdb.to_json(), db_api=SparkAPI(spark_session=spark))

    started = time.perf_counter()
    spark_pairs = on_spark.predict_new(new, existing)
    elapsed = time.perf_counter() - started
    print(f"\nSpark: {len(new)} new records against {len(existing)} in {elapsed:.1f}s")
    duckdb_pairs = on_duckdb.predict_new(new, existing)

    keys = ["unique_id_l", "unique_id_r"]
    both = duckdb_pairs.merge(spark_pairs, on=keys, how="outer", suffixes=("_duckdb", "_spark"))
    assert len(duckdb_pairs) > 100
    assert both["match_probability_duckdb"].notna().mean() >= 0.99
    assert both["match_probability_spark"].notna().mean() >= 0.99
    scored_twice = both.dropna(subset=["match_probability_duckdb", "match_probability_spark"])
    close = (
        scored_twice["match_probability_duckdb"] - scored_twice["match_probability_spark"]
    ).abs() < 0.05
    assert close.mean() >= 0.99
