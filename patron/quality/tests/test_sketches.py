"""The bounded summaries behind the readiness report: exact while small, close estimates in
fixed memory once large."""

from __future__ import annotations

import random

from patron.quality.sketches import FirstExamples, HyperLogLog, KeyTable, ValueCounts


def test_hyperloglog_estimates_within_a_few_percent():
    hll = HyperLogLog()
    for n in range(50_000):
        hll.add(f"value-{n}")
        hll.add(f"value-{n // 2}")  # repeats do not count
    assert abs(hll.count() - 50_000) / 50_000 < 0.05
    small = HyperLogLog()
    for n in range(100):
        small.add(str(n))
    assert abs(small.count() - 100) <= 2  # linear counting: close at this size


def test_value_counts_exact_then_frequent_values_kept():
    counts = ValueCounts(capacity=100)
    for n in range(50):
        counts.add("common")
        counts.add(f"v{n % 40}")
    assert counts.exact
    assert counts.distinct() == 41
    assert counts.top(2) == [("common", 50), ("v0", 2)]

    for n in range(5000):
        counts.add(f"rare-{n}")
        if n % 10 == 0:
            counts.add("common")
    assert not counts.exact
    assert len(counts.counts) < 100
    assert counts.top(1)[0][0] == "common"
    assert abs(counts.distinct() - 5041) / 5041 < 0.05


def test_first_examples_keeps_the_first_and_counts_all():
    examples = FirstExamples(limit=2)
    for line in range(10):
        examples.add(line=line)
    assert examples.items == [{"line": 0}, {"line": 1}]
    assert examples.total == 10
    assert examples.full


def test_key_table_is_exact_while_it_fits():
    table = KeyTable(slots_log2=10)
    assert table.add("email", "a@x.com") == 1
    assert table.add("email", "a@x.com") == 2
    assert table.add("email", "a@x.com") == 3
    assert table.add("phone", "a@x.com") == 1  # another kind, another key
    assert table.add("email", "b@x.com") == 1
    assert table.add("email", "b@x.com") == 2
    assert table.exact
    assert table.summary() == {
        "email": {"keys": 2, "rows": 5, "rows_sharing": 5, "clusters": 2, "pairs": 4},
        "phone": {"keys": 1, "rows": 1, "rows_sharing": 0, "clusters": 0, "pairs": 0},
    }


def test_key_table_samples_keys_when_full_and_estimates_repeats():
    rng = random.Random(3)
    table = KeyTable(slots_log2=12)  # 2,457 keys before it samples
    keys = [f"person-{n}" for n in range(40_000)]
    repeated = rng.sample(keys, 4_000)
    for key in keys + repeated:
        table.add("email", key)
    assert not table.exact
    assert table.used <= table.limit
    stats = table.summary()["email"]
    assert abs(stats["clusters"] - 4_000) / 4_000 < 0.25
    assert abs(stats["rows"] - 44_000) / 44_000 < 0.25
    assert stats["pairs"] == stats["clusters"]  # every repeated key was seen exactly twice
