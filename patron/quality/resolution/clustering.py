"""Greedy, constraint-aware clustering of scored pairs into customers."""

from __future__ import annotations

from collections.abc import Iterable

import pandas as pd


def cluster(
    ids: Iterable[int],
    pairs: pd.DataFrame,
    *,
    threshold: float,
    must_link: Iterable[tuple[int, int]] = (),
    cannot_link: Iterable[tuple[int, int]] = (),
) -> dict[int, int]:
    """unique_id -> cluster id (the smallest unique_id in the cluster).

    must_link edges are joined first, then pairs at or above `threshold` in descending
    probability. A union that would put both ends of a cannot_link pair into one cluster is
    refused, so a pair a reviewer rejected is never merged again, directly or transitively.
    """
    parent: dict[int, int] = {int(i): int(i) for i in ids}
    # For each root, the set of roots it must never be joined with.
    forbidden: dict[int, set[int]] = {}

    def find(x: int) -> int:
        root = x
        while parent[root] != root:
            root = parent[root]
        while parent[x] != root:
            parent[x], x = root, parent[x]
        return root

    def ensure(x: int) -> int:
        if x not in parent:
            parent[x] = x
        return x

    for a, b in cannot_link:
        ra, rb = find(ensure(int(a))), find(ensure(int(b)))
        if ra == rb:
            continue
        forbidden.setdefault(ra, set()).add(rb)
        forbidden.setdefault(rb, set()).add(ra)

    def union(a: int, b: int) -> bool:
        ra, rb = find(a), find(b)
        if ra == rb:
            return True
        if rb in forbidden.get(ra, ()):
            return False
        keep, gone = (ra, rb) if ra < rb else (rb, ra)
        parent[gone] = keep
        gone_forbidden = forbidden.pop(gone, set())
        if gone_forbidden:
            keep_forbidden = forbidden.setdefault(keep, set())
            for other in gone_forbidden:
                keep_forbidden.add(other)
                others = forbidden[other]
                others.discard(gone)
                others.add(keep)
        return True

    for a, b in must_link:
        union(ensure(int(a)), ensure(int(b)))

    if len(pairs):
        strong = pairs.loc[
            pairs["match_probability"] >= threshold,
            ["unique_id_l", "unique_id_r", "match_probability"],
        ]
        strong = strong.sort_values("match_probability", ascending=False, kind="stable")
        left = strong["unique_id_l"].astype("int64").to_numpy()
        right = strong["unique_id_r"].astype("int64").to_numpy()
        for a, b in zip(left.tolist(), right.tolist(), strict=True):
            union(ensure(a), ensure(b))

    # Roots are always the smallest id of their cluster, because union keeps the smaller root.
    return {node: find(node) for node in parent}
