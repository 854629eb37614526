"""The review queue: pairs of customers that entity resolution was unsure about, decided by a
person. Accepting merges them (undoable like any merge); rejecting keeps them apart for good.
Either way the decision is audited and every later resolution run honours it."""

from __future__ import annotations

from typing import Any

from django.core.exceptions import PermissionDenied, ValidationError
from django.db import transaction
from django.db.models import QuerySet
from django.utils import timezone

from patron.core import audit
from patron.core.models import AuditEvent
from patron.core.permissions import can
from patron.customers.models import Account, Contact

from . import survivorship
from .decisions import decide_keys
from .merge import record_merge
from .models import MatchReview, Merge

MODELS: dict[str, type[Contact] | type[Account]] = {"contact": Contact, "account": Account}


def current_customers(review: MatchReview) -> tuple[int | None, int | None]:
    """The customers the two reviewed records belong to now (they may have moved since)."""
    parent = f"{review.object_type}_id"
    a = getattr(review.record_a, parent) if review.record_a_id else review.customer_a
    b = getattr(review.record_b, parent) if review.record_b_id else review.customer_b
    return a, b


def review_keys(review: MatchReview) -> tuple[int, int]:
    a = review.record_a_id if review.record_a_id else -review.customer_a
    b = review.record_b_id if review.record_b_id else -review.customer_b
    return a, b


def _open(actor: Any, review: MatchReview) -> tuple[Contact | Account, Contact | Account]:
    if not can(actor, f"{review.object_type}.delete"):
        raise PermissionDenied("Your role does not allow deciding on duplicates.")
    if review.status != MatchReview.Status.PENDING:
        raise ValidationError("This pair has already been decided.")
    a, b = current_customers(review)
    model = MODELS[review.object_type]
    visible = {r.pk: r for r in model.objects.restrict(actor, "view").filter(pk__in=[a, b])}
    if a is None or b is None or a not in visible or b not in visible:
        raise model.DoesNotExist("One of the two records does not exist or is not visible.")
    if a == b:
        review.status = MatchReview.Status.SUPERSEDED
        review.save(update_fields=["status"])
        raise ValidationError("These records have been merged already.")
    return visible[a], visible[b]


@transaction.atomic
def review_accept(*, actor: Any, review: MatchReview) -> Merge:
    """Same customer: merge the pair (the record with more sources stays) and remember it."""
    review = MatchReview.objects.select_for_update().get(pk=review.pk)
    first, second = _open(actor, review)
    counts = {
        r.pk: r.source_records.count()  # type: ignore[union-attr]
        for r in (first, second)
    }
    survivor, other = sorted((first, second), key=lambda r: (-counts[r.pk], r.pk))
    merge = record_merge(
        actor=actor, object_type=review.object_type, survivor_id=survivor.pk, other_ids=[other.pk]
    )
    key_a, key_b = review_keys(review)
    decide_keys(
        actor=actor,
        object_type=review.object_type,
        key_a=key_a,
        key_b=key_b,
        same=True,
        reason="accepted in review",
    )
    review.status = MatchReview.Status.ACCEPTED
    review.decided_by = actor
    review.decided_at = timezone.now()
    review.merge = merge
    review.save(update_fields=["status", "decided_by", "decided_at", "merge"])
    survivorship.golden_refresh(object_type=review.object_type, ids=[survivor.pk])
    return merge


@transaction.atomic
def review_reject(*, actor: Any, review: MatchReview) -> MatchReview:
    """Different customers: they stay apart, and no later run merges them."""
    review = MatchReview.objects.select_for_update().get(pk=review.pk)
    first, second = _open(actor, review)
    key_a, key_b = review_keys(review)
    decide_keys(
        actor=actor,
        object_type=review.object_type,
        key_a=key_a,
        key_b=key_b,
        same=False,
        reason="rejected in review",
    )
    review.status = MatchReview.Status.REJECTED
    review.decided_by = actor
    review.decided_at = timezone.now()
    review.save(update_fields=["status", "decided_by", "decided_at"])
    for record, other in ((first, second), (second, first)):
        audit.record(
            actor=actor,
            action=AuditEvent.Action.REVIEW,
            obj=record,
            changes={"not_the_same_as": [None, {"id": other.pk, "name": str(other)}]},
        )
    return review


def review_queue(
    *, actor: Any, object_type: str = "contact", limit: int = 50, offset: int = 0
) -> tuple[list[MatchReview], int]:
    """Pending pairs this user may decide on, most likely matches first, and how many wait."""
    if not can(actor, f"{object_type}.delete"):
        return [], 0
    pending: QuerySet[MatchReview] = MatchReview.objects.filter(
        object_type=object_type, status=MatchReview.Status.PENDING
    ).select_related("record_a__source", "record_b__source")
    total = pending.count()
    model = MODELS[object_type]
    out: list[MatchReview] = []
    skipped = 0
    for start in range(0, total, 200):
        chunk = list(pending.order_by("-probability", "id")[start : start + 200])
        ids = {c for r in chunk for c in current_customers(r) if c is not None}
        visible = set(
            model.objects.restrict(actor, "view").filter(pk__in=ids).values_list("pk", flat=True)
        )
        for item in chunk:
            a, b = current_customers(item)
            if a in visible and b in visible and a != b:
                if skipped < offset:
                    skipped += 1
                    continue
                out.append(item)
                if len(out) >= limit:
                    return out, total
    return out, total
