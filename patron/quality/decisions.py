"""People's word on whether two records are one customer, kept for every later resolution run.

A decision names two *resolution keys*: a source record's id, or minus a customer's id for a
customer entered in Patron with no source record. Keys outlive merges and unmerges of the
customers around them, so "these two are different" holds however the records move.
"""

from __future__ import annotations

from typing import Any

from patron.integration.models import SourceRecord

from .models import MatchDecision


def resolution_key(object_type: str, customer_id: int) -> int:
    """The key that stands for a customer in decisions: its first source record, else itself."""
    first = (
        SourceRecord.objects.filter(**{f"{object_type}_id": customer_id})
        .order_by("pk")
        .values_list("pk", flat=True)
        .first()
    )
    return first if first is not None else -int(customer_id)


def decide_keys(
    *, actor: Any, object_type: str, key_a: int, key_b: int, same: bool, reason: str = ""
) -> MatchDecision | None:
    """Record (or change) the decision on two keys; the later word wins."""
    if key_a == key_b:
        return None
    key_a, key_b = sorted((int(key_a), int(key_b)))
    decision, _ = MatchDecision.objects.update_or_create(
        object_type=object_type,
        key_a=key_a,
        key_b=key_b,
        defaults={
            "verdict": MatchDecision.Verdict.SAME if same else MatchDecision.Verdict.DIFFERENT,
            "reason": reason[:100],
            "decided_by": actor if getattr(actor, "pk", None) else None,
        },
    )
    return decision


def decide(
    *, actor: Any, object_type: str, first: int, second: int, same: bool, reason: str = ""
) -> MatchDecision | None:
    """Record that two customers (by id, as they are now) are or are not the same."""
    return decide_keys(
        actor=actor,
        object_type=object_type,
        key_a=resolution_key(object_type, first),
        key_b=resolution_key(object_type, second),
        same=same,
        reason=reason,
    )


def constraints(object_type: str) -> tuple[list[tuple[int, int]], list[tuple[int, int]]]:
    """(must link, cannot link) pairs of keys for clustering."""
    must: list[tuple[int, int]] = []
    cannot: list[tuple[int, int]] = []
    for a, b, verdict in MatchDecision.objects.filter(object_type=object_type).values_list(
        "key_a", "key_b", "verdict"
    ):
        (must if verdict == MatchDecision.Verdict.SAME else cannot).append((a, b))
    return must, cannot
