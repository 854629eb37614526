"""Bounded summaries of a stream of values, so a readiness report needs the same memory for a
million rows as for a thousand.

- `ValueCounts`: exact counts while a column has few distinct values, then the frequent ones
  only (rare values are dropped as new ones arrive), with a HyperLogLog for the distinct count.
- `HyperLogLog`: a distinct-count estimate in 4 KiB (about 1.6 % standard error).
- `FirstExamples`: the first few problems of a kind, in file order (so line numbers are small
  and easy to find).
- `KeyTable`: how many rows share a key (an email, a phone, a name and birth date), exact up to
  a fixed number of keys and then on a hash sample of the keys, which keeps every occurrence of
  a sampled key and so still counts its repeats exactly (distinct sampling).
"""

from __future__ import annotations

import hashlib
from array import array
from dataclasses import dataclass, field
from typing import Any


def hash64(text: str) -> int:
    """A stable 64-bit hash (the same in every process, unlike `hash()`)."""
    return int.from_bytes(
        hashlib.blake2b(text.encode("utf-8", "surrogatepass"), digest_size=8).digest(), "big"
    )


class HyperLogLog:
    """Distinct values in 2**precision one-byte registers."""

    def __init__(self, precision: int = 12) -> None:
        self.p = precision
        self.m = 1 << precision
        self.registers = bytearray(self.m)
        self._rest_bits = 64 - precision
        self._rest_mask = (1 << self._rest_bits) - 1

    def add(self, value: str) -> None:
        h = hash64(value)
        index = h >> self._rest_bits
        rank = self._rest_bits - (h & self._rest_mask).bit_length() + 1
        if rank > self.registers[index]:
            self.registers[index] = rank

    def count(self) -> int:
        m = self.m
        alpha = 0.7213 / (1 + 1.079 / m)
        estimate = alpha * m * m / sum(2.0**-r for r in self.registers)
        zeros = self.registers.count(0)
        if estimate <= 2.5 * m and zeros:
            import math

            estimate = m * math.log(m / zeros)  # linear counting for small cardinalities
        return round(estimate)


class ValueCounts:
    """Counts of a column's values: exact up to `capacity` distinct values.

    Past that, values seen once are dropped to make room (then twice, …), so the values that
    keep coming back stay and their counts are lower bounds; the distinct count comes from a
    HyperLogLog fed every value since the first one."""

    def __init__(self, capacity: int = 1000) -> None:
        self.capacity = capacity
        self.counts: dict[str, int] = {}
        self.exact = True
        self.hll: HyperLogLog | None = None
        self._floor = 0

    def add(self, value: str) -> None:
        counts = self.counts
        if value in counts:
            counts[value] += 1  # already in the HyperLogLog: adding it again changes nothing
            return
        if self.hll is not None:
            self.hll.add(value)
        if len(counts) >= self.capacity:
            if self.hll is None:
                self.exact = False
                self.hll = HyperLogLog()
                for seen in counts:
                    self.hll.add(seen)
                self.hll.add(value)
            self._prune()
        counts[value] = 1

    def _prune(self) -> None:
        while len(self.counts) >= self.capacity // 2:
            self._floor += 1
            self.counts = {v: n for v, n in self.counts.items() if n > self._floor}

    def distinct(self) -> int:
        if self.hll is None:
            return len(self.counts)
        return max(self.hll.count(), len(self.counts))

    def top(self, n: int = 10) -> list[tuple[str, int]]:
        return sorted(self.counts.items(), key=lambda item: (-item[1], item[0]))[:n]

    def repeated(self) -> int:
        """Values seen more than once (among those still counted)."""
        return sum(1 for count in self.counts.values() if count > 1)


@dataclass
class FirstExamples:
    """The first `limit` examples of one kind of problem, and how many there were in all."""

    limit: int = 5
    items: list[dict[str, Any]] = field(default_factory=list)
    total: int = 0

    def add(self, **example: Any) -> None:
        self.total += 1
        if len(self.items) < self.limit:
            self.items.append(example)

    @property
    def full(self) -> bool:
        return len(self.items) >= self.limit


def _zeros(slots: int) -> array[int]:
    """A zeroed table, allocated once (no intermediate bytes object of the same size)."""
    return array("Q", [0]) * slots


class KeyTable:
    """Occurrences of keys of a few kinds (email, phone, …) in one open-addressing table.

    A slot holds `kind (4 bits) | fingerprint (52 bits) | count (8 bits, saturating)`, so a key
    costs 8 bytes plus the table's slack. When the table fills up, only keys whose fingerprint
    starts with one more zero bit are kept (`level` counts the halvings) and counts found are
    scaled by 2**level: every occurrence of a kept key is still counted, so repeats among the
    kept keys are exact and the totals are unbiased estimates."""

    KIND_BITS = 4
    FP_BITS = 52
    COUNT_BITS = 8

    def __init__(self, slots_log2: int = 18) -> None:
        self.slots = 1 << slots_log2
        self.mask = self.slots - 1
        self.limit = int(self.slots * 0.6)
        self.table = _zeros(self.slots)
        self.used = 0
        self.level = 0
        self.kinds: list[str] = []

    @property
    def exact(self) -> bool:
        return self.level == 0

    @property
    def scale(self) -> int:
        return 1 << self.level

    def _kind_id(self, kind: str) -> int:
        if kind not in self.kinds:
            if len(self.kinds) >= 1 << self.KIND_BITS:
                raise ValueError("Too many key kinds")
            self.kinds.append(kind)
        return self.kinds.index(kind)

    def _sampled(self, fingerprint: int) -> bool:
        return self.level == 0 or fingerprint >> (self.FP_BITS - self.level) == 0

    def add(self, kind: str, key: str) -> int | None:
        """Count one occurrence; the key's count so far (1 = first), or None when the key is
        outside the sample."""
        fingerprint = hash64(f"{kind}\x00{key}") >> (64 - self.FP_BITS) or 1
        if not self._sampled(fingerprint):
            return None
        head = (self._kind_id(kind) << self.FP_BITS | fingerprint) << self.COUNT_BITS
        table, mask = self.table, self.mask
        slot = self._home(head)
        while True:
            entry = table[slot]
            if entry == 0:
                table[slot] = head | 1
                self.used += 1
                if self.used > self.limit:
                    self._halve()
                return 1
            if entry >> self.COUNT_BITS == head >> self.COUNT_BITS:
                count = entry & 0xFF
                if count < 0xFF:
                    table[slot] = entry + 1
                return count + 1
            slot = (slot + 1) & mask

    def _home(self, entry: int) -> int:
        fingerprint = (entry >> self.COUNT_BITS) & ((1 << self.FP_BITS) - 1)
        return (fingerprint * 0x9E3779B97F4A7C15 >> 20) & self.mask

    def _halve(self) -> None:
        """Keep the half of the keys whose fingerprint has one more leading zero, in place
        (no second table: memory stays that of one table)."""
        fp_mask = (1 << self.FP_BITS) - 1
        while self.used > self.limit // 2:
            self.level += 1
            table = self.table
            for i in range(self.slots):
                entry = table[i]
                while entry and not self._sampled((entry >> self.COUNT_BITS) & fp_mask):
                    self._delete(i)
                    self.used -= 1
                    entry = table[i]  # a later key of the same run may have moved here

    def _delete(self, i: int) -> None:
        """Empty slot `i` and move later keys of its run back so every key stays reachable
        from its home slot (Knuth's algorithm R for linear probing)."""
        table, mask = self.table, self.mask
        j = i
        while True:
            table[i] = 0
            while True:
                j = (j + 1) & mask
                entry = table[j]
                if not entry:
                    return
                home = self._home(entry)
                # The key at j stays where it is when its home lies cyclically in (i, j].
                if (i < home <= j) if i <= j else (home > i or home <= j):
                    continue
                break
            table[i] = entry
            i = j

    def summary(self) -> dict[str, dict[str, int]]:
        """Per kind: keys, rows with a key, rows sharing a key with another row, groups of
        such rows (clusters) and pairs of rows sharing a key; scaled when sampled."""
        result = {
            kind: {"keys": 0, "rows": 0, "rows_sharing": 0, "clusters": 0, "pairs": 0}
            for kind in self.kinds
        }
        shift = self.FP_BITS + self.COUNT_BITS
        for entry in self.table:
            if not entry:
                continue
            stats = result[self.kinds[entry >> shift]]
            count = entry & 0xFF
            stats["keys"] += 1
            stats["rows"] += count
            if count > 1:
                stats["rows_sharing"] += count
                stats["clusters"] += 1
                stats["pairs"] += count * (count - 1) // 2
        for stats in result.values():
            for name in stats:
                stats[name] *= self.scale
        return result
