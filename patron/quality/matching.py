"""Entity resolution runs: which source records describe the same real customer.

A run reads every staged source record of people (a customer entered in Patron with no
source record takes part through its own values), scores candidate pairs with the Splink model
(`resolution.engine`), clusters them — the records of one customer always together, a person's
"same" and "different" decisions honoured — and then:

- merges the customers a cluster spans (through `merge.record_merge`, so every merge can be
  undone exactly from its page),
- queues pairs in the uncertain band for review,
- recomputes the golden values and lineage of every customer it touched (`survivorship`).

A full run re-estimates the model from all the data; an incremental run scores only records
that arrived since the last run against everything, with the last full run's model. A run
never splits a customer: only a person unmerges. Each merge commits on its own, so a failed
run is simply started again and picks up what is left.
"""

from __future__ import annotations

import inspect
import logging
import time
from collections import defaultdict
from collections.abc import Callable, Iterable, Iterator
from typing import Any

from django.core.exceptions import PermissionDenied, ValidationError
from django.db import transaction
from django.db.models import Max, Q
from django.utils import timezone

from patron.core import context
from patron.core.permissions import can
from patron.customers.models import Account, Contact, EmailAddress, PhoneNumber, PostalAddress
from patron.integration.models import SourceRecord

from . import decisions, survivorship
from .bulk_merge import merge_many
from .models import MatchDecision, MatchReview, ResolutionRun

logger = logging.getLogger(__name__)

SUPPORTED = ("contact", "account")
MODELS: dict[str, Any] = {"contact": Contact, "account": Account}
Progress = Callable[[ResolutionRun], None]


def _engine() -> Any:
    from .resolution import engine

    return engine


def thresholds() -> tuple[float, float]:
    """(merge at or above, review at or above): the organisation's settings, else the model's
    defaults (docs/benchmarks.md has the precision and recall behind them)."""
    from django.conf import settings

    engine = _engine()
    match = float(settings.PATRON_MATCH_PROBABILITY or engine.MATCH_THRESHOLD)
    review = float(settings.PATRON_REVIEW_PROBABILITY or engine.REVIEW_THRESHOLD)
    if not 0 < review <= match <= 1:
        raise ValueError("Need 0 < PATRON_REVIEW_PROBABILITY <= PATRON_MATCH_PROBABILITY <= 1.")
    return match, review


# --- starting a run --------------------------------------------------------------------------


def _require(actor: Any, object_type: str) -> None:
    if object_type not in SUPPORTED:
        raise ValidationError({"object_type": [f"Resolution of {object_type}s is not available."]})
    if actor is not None and not can(actor, f"{object_type}.delete"):
        raise PermissionDenied("Your role does not allow merging customers.")


@transaction.atomic
def resolution_start(
    *, actor: Any, object_type: str = "contact", full: bool = False, enqueue: bool = True
) -> ResolutionRun:
    """Queue a resolution run for the worker (or, with `enqueue=False`, for the caller to
    process); a run already queued or running for the same records is returned instead."""
    _require(actor, object_type)
    active = ResolutionRun.objects.filter(
        object_type=object_type,
        status__in=[ResolutionRun.Status.QUEUED, ResolutionRun.Status.RUNNING],
    ).first()
    if active is not None:
        return active
    run = ResolutionRun.objects.create(
        object_type=object_type,
        mode=ResolutionRun.Mode.FULL if full else ResolutionRun.Mode.INCREMENTAL,
        created_by=actor if getattr(actor, "pk", None) else None,
    )
    from .tasks import resolution_task

    if enqueue:
        transaction.on_commit(lambda: resolution_task.enqueue(run.pk))
    return run


def last_full_run(object_type: str) -> ResolutionRun | None:
    return (
        ResolutionRun.objects.filter(
            object_type=object_type,
            mode=ResolutionRun.Mode.FULL,
            status=ResolutionRun.Status.COMPLETED,
        )
        .order_by("-finished_at", "-id")
        .first()
    )


def last_completed_run(object_type: str) -> ResolutionRun | None:
    return (
        ResolutionRun.objects.filter(object_type=object_type, status=ResolutionRun.Status.COMPLETED)
        .order_by("-finished_at", "-id")
        .first()
    )


def pending_new_records(object_type: str = "contact") -> int:
    """How many source records arrived since the last completed run (all, if none ran)."""
    last = last_completed_run(object_type)
    records = SourceRecord.objects.filter(
        **{f"{object_type}__isnull": False}, source__entity=object_type
    )
    if last is not None:
        records = records.filter(pk__gt=last.high_water_id)
    return records.count()


# --- the records resolution sees ---------------------------------------------------------------


def _source_rows(object_type: str) -> Iterator[tuple[int, str, dict, int]]:
    rows = (
        SourceRecord.objects.filter(**{f"{object_type}__isnull": False}, source__entity=object_type)
        .order_by("pk")
        .values_list("pk", "source__name", "normalised", f"{object_type}_id")
    )
    yield from rows.iterator(chunk_size=5000)


def _patron_rows(object_type: str) -> Iterator[tuple[int, str, dict, int]]:
    """Customers entered in Patron with no source record, as records keyed by minus their id,
    their values shaped as a source record's normalised values."""
    model = MODELS[object_type]
    fields = (
        ("first_name", "middle_name", "last_name", "date_of_birth")
        if model is Contact
        else ("name", "domain")
    )
    records = model.objects.filter(source_records__isnull=True).values_list("pk", *fields)
    batch: list[tuple] = []
    for row in records.iterator(chunk_size=5000):
        batch.append(row)
        if len(batch) == 5000:
            yield from _patron_batch(object_type, fields, batch)
            batch = []
    if batch:
        yield from _patron_batch(object_type, fields, batch)


def _patron_batch(
    object_type: str, fields: tuple[str, ...], batch: list[tuple]
) -> Iterator[tuple[int, str, dict, int]]:
    parent = f"{object_type}_id"
    ids = [r[0] for r in batch]
    emails: dict[int, list[dict]] = defaultdict(list)
    for cid, email in (
        EmailAddress.objects.filter(**{f"{parent}__in": ids})
        .order_by("-is_primary", "pk")
        .values_list(parent, "email")
    ):
        emails[cid].append({"email": email.lower()})
    phones: dict[int, list[dict]] = defaultdict(list)
    for cid, number, e164 in (
        PhoneNumber.objects.filter(**{f"{parent}__in": ids})
        .order_by("-is_primary", "pk")
        .values_list(parent, "number", "e164")
    ):
        phones[cid].append({"number": number, "e164": e164})
    addresses: dict[int, dict] = {}
    for cid, street, postal_code, city, country in (
        PostalAddress.objects.filter(**{f"{parent}__in": ids})
        .order_by("is_primary", "-pk")
        .values_list(parent, "street", "postal_code", "city", "country")
    ):
        addresses[cid] = {
            "address.street": street,
            "address.postal_code": postal_code,
            "address.city": city,
            "address.country": country,
        }
    for pk, *values in batch:
        own = {
            f"{object_type}.{name}": value.isoformat() if hasattr(value, "isoformat") else value
            for name, value in zip(fields, values, strict=True)
        }
        yield (
            -pk,
            "Patron",
            {
                **own,
                "emails": emails.get(pk, []),
                "phones": phones.get(pk, []),
                **addresses.get(pk, {}),
            },
            pk,
        )


def organisation_frame(rows: Iterable[tuple[int, str, dict]]) -> Any:
    """(source record id, source name, normalised values of an organisation) -> the engine's
    organisation frame (ORGANISATION_RAW_COLUMNS)."""
    import pandas as pd

    engine = _engine()
    out = []
    for uid, source, values in rows:
        emails = [e.get("email") or "" for e in values.get("emails") or []]
        phones = [p.get("e164") or "" for p in values.get("phones") or [] if p.get("e164")]
        out.append(
            {
                "unique_id": int(uid),
                "source": source,
                "name": values.get("account.name") or "",
                "domain": values.get("account.domain") or "",
                "email": emails[0] if emails else "",
                "phone": phones[0] if phones else "",
                "street": values.get("address.street") or "",
                "postal_code": values.get("address.postal_code") or "",
                "city": values.get("address.city") or "",
                "country": values.get("address.country") or "",
                "identifier": str(
                    values.get("identifier") or values.get("custom.identifier") or ""
                ),
            }
        )
    return pd.DataFrame(out, columns=engine.ORGANISATION_RAW_COLUMNS)


# --- the run -----------------------------------------------------------------------------------


def _set(run: ResolutionRun, progress: Progress | None, phase: str, percent: int) -> None:
    run.phase = phase
    run.progress = percent
    ResolutionRun.objects.filter(pk=run.pk).update(phase=phase, progress=percent)
    if progress is not None:
        progress(run)


def resolution_process(run_id: int, *, progress: Progress | None = None) -> ResolutionRun:
    """Work one queued run to the end (the task and `patron resolve` call this)."""
    claimed = ResolutionRun.objects.filter(
        pk=run_id, status__in=[ResolutionRun.Status.QUEUED, ResolutionRun.Status.FAILED]
    ).update(status=ResolutionRun.Status.RUNNING, started_at=timezone.now(), error="")
    run = ResolutionRun.objects.get(pk=run_id)
    if not claimed:
        return run  # someone else works it, or it is done
    try:
        with context.bind(origin="job", request_id=run.audit_request_id):
            _resolve(run, progress)
    except Exception as exc:  # the run records why; the worker goes on with other jobs
        logger.exception("Resolution run %s failed", run.pk)
        run.status = ResolutionRun.Status.FAILED
        run.error = f"{type(exc).__name__}: {exc}"
        run.finished_at = timezone.now()
        run.save(update_fields=["status", "error", "finished_at"])
        return run
    run.status = ResolutionRun.Status.COMPLETED
    run.progress = 100
    run.phase = "Done"
    run.finished_at = timezone.now()
    run.save()
    if progress is not None:
        progress(run)
    return run


def _resolve(run: ResolutionRun, progress: Progress | None) -> None:
    engine = _engine()
    match_at, review_at = thresholds()
    object_type = run.object_type
    timings: dict[str, float] = {}
    started = time.perf_counter()

    _set(run, progress, "Reading source records", 2)
    rows = list(_source_rows(object_type))
    rows.extend(_patron_rows(object_type))
    customer_of = {uid: cid for uid, _, _, cid in rows}
    build = engine.frame_from_normalised if object_type == "contact" else organisation_frame
    raw = build((uid, source, values) for uid, source, values, _ in rows)
    del rows
    run.records = len(raw)
    run.high_water_id = max((uid for uid in customer_of if uid > 0), default=0)
    run.high_water_customer_id = MODELS[object_type].objects.aggregate(m=Max("pk"))["m"] or 0
    model_class = engine.PersonModel if object_type == "contact" else engine.OrganisationModel
    timings["read"] = round(time.perf_counter() - started, 2)

    previous = last_full_run(object_type)
    last = last_completed_run(object_type)
    if run.mode == ResolutionRun.Mode.INCREMENTAL and (previous is None or not previous.model):
        run.mode = ResolutionRun.Mode.FULL  # nothing to reuse yet: estimate the model first
    if len(raw) < 2:
        run.save()
        return

    mark = time.perf_counter()
    if run.mode == ResolutionRun.Mode.FULL:
        _set(run, progress, "Estimating the model from the data", 10)
        model = model_class()
        labels = _labels(object_type, set(customer_of))
        if labels and "labels" in inspect.signature(model.train).parameters:
            # People's decisions teach the model what a same / different pair looks like.
            model.train(raw, labels=labels)
        else:
            model.train(raw)
        run.model = model.to_json()
        timings["train"] = round(time.perf_counter() - mark, 2)
        mark = time.perf_counter()
        _set(run, progress, "Scoring candidate pairs", 40)
        pairs = model.predict(raw, threshold=review_at)
        run.new_records = len(raw)
    else:
        assert previous is not None and last is not None
        model = model_class(previous.model)
        is_new = (raw["unique_id"] > last.high_water_id) | (
            (raw["unique_id"] < 0) & (-raw["unique_id"] > last.high_water_customer_id)
        )
        new = raw[is_new]
        run.new_records = len(new)
        if new.empty:
            run.save()
            return
        _set(run, progress, f"Scoring {len(new)} new records", 40)
        pairs = model.predict_new(new, raw[~is_new], threshold=review_at)
    timings["predict"] = round(time.perf_counter() - mark, 2)
    run.pairs_scored = len(pairs)
    run.save()

    mark = time.perf_counter()
    _set(run, progress, "Clustering", 70)
    must, cannot = decisions.constraints(object_type)
    members: dict[int, list[int]] = defaultdict(list)
    for uid, cid in customer_of.items():
        members[cid].append(uid)
    same_customer = [(ids[0], other) for ids in members.values() for other in ids[1:]]
    clusters = engine.cluster(
        customer_of.keys(),
        pairs,
        threshold=match_at,
        must_link=[*same_customer, *must],
        cannot_link=cannot,
    )
    timings["cluster"] = round(time.perf_counter() - mark, 2)

    mark = time.perf_counter()
    _set(run, progress, "Merging customers", 80)
    merged_into = _apply_clusters(run, clusters, customer_of, members)
    timings["merge"] = round(time.perf_counter() - mark, 2)

    mark = time.perf_counter()
    _set(run, progress, "Queueing pairs for review", 90)
    run.review_pairs = _queue_reviews(
        run, pairs, customer_of, merged_into, cannot, engine, (review_at, match_at)
    )
    timings["review"] = round(time.perf_counter() - mark, 2)

    mark = time.perf_counter()
    _set(run, progress, "Choosing golden values", 95)
    touched = set(merged_into.values())
    if run.mode == ResolutionRun.Mode.INCREMENTAL:
        touched |= {
            merged_into.get(customer_of[uid], customer_of[uid])
            for uid in raw.loc[is_new, "unique_id"].tolist()
        }
    ids = sorted(touched)
    for start in range(0, len(ids), 500):
        survivorship.golden_refresh(object_type=object_type, ids=ids[start : start + 500])
    timings["golden"] = round(time.perf_counter() - mark, 2)
    timings["total"] = round(time.perf_counter() - started, 2)
    run.timings = timings
    run.save()


def _labels(object_type: str, present: set[int]) -> list[tuple[int, int, bool]]:
    """People's decisions on pairs of records that are still there, for training."""
    return [
        (a, b, verdict == MatchDecision.Verdict.SAME)
        for a, b, verdict in MatchDecision.objects.filter(object_type=object_type).values_list(
            "key_a", "key_b", "verdict"
        )
        if a in present and b in present
    ]


def _apply_clusters(
    run: ResolutionRun,
    clusters: dict[int, int],
    customer_of: dict[int, int],
    members: dict[int, list[int]],
) -> dict[int, int]:
    """Merge the customers each cluster spans; returns merged-away id -> survivor id."""
    spans: dict[int, set[int]] = defaultdict(set)
    for uid, cluster_id in clusters.items():
        spans[cluster_id].add(customer_of[uid])
    groups: list[tuple[int, list[int]]] = []
    for customers in spans.values():
        if len(customers) < 2:
            continue
        # The customer with the most source records survives; the oldest on a tie.
        survivor = min(customers, key=lambda c: (-len(members[c]), c))
        groups.append((survivor, sorted(customers - {survivor})))
    merged_into: dict[int, int] = {}
    for done in merge_many(object_type=run.object_type, groups=groups):
        for other in done.merged_ids:
            merged_into[other] = done.survivor_id
        merged_into[done.survivor_id] = done.survivor_id
        run.merges += len(done.merged_ids)
    ResolutionRun.objects.filter(pk=run.pk).update(merges=run.merges)
    return merged_into


def _queue_reviews(
    run: ResolutionRun,
    pairs: Any,
    customer_of: dict[int, int],
    merged_into: dict[int, int],
    cannot: list[tuple[int, int]],
    engine: Any,
    band_limits: tuple[float, float],
) -> int:
    """Pairs in the uncertain band whose customers are still apart become review items,
    one per pair of customers (the best-scoring records), unless already decided or queued."""
    object_type = run.object_type

    def now_of(uid: int) -> int:
        cid = customer_of[uid]
        return merged_into.get(cid, cid)

    decided = {(now_of(a), now_of(b)) for a, b in cannot if a in customer_of and b in customer_of}
    decided |= {(b, a) for a, b in decided}
    band = pairs[
        (pairs["match_probability"] >= band_limits[0])
        & (pairs["match_probability"] < band_limits[1])
    ].sort_values("match_probability", ascending=False)
    queued = set(
        MatchReview.objects.filter(object_type=object_type).values_list("customer_a", "customer_b")
    )
    best: dict[tuple[int, int], dict] = {}
    for pair in band.to_dict("records"):
        a, b = int(pair["unique_id_l"]), int(pair["unique_id_r"])
        ca, cb = now_of(a), now_of(b)
        if ca == cb:
            continue
        key = (min(ca, cb), max(ca, cb))
        if key in decided or key in queued or key in best:
            continue
        best[key] = {**pair, "_a": a if ca == key[0] else b, "_b": b if ca == key[0] else a}
    items = [
        MatchReview(
            object_type=object_type,
            record_a_id=pair["_a"] if pair["_a"] > 0 else None,
            record_b_id=pair["_b"] if pair["_b"] > 0 else None,
            customer_a=key[0],
            customer_b=key[1],
            probability=float(pair["match_probability"]),
            match_weight=float(pair.get("match_weight") or 0.0),
            explanation=engine.explain(pair),
            run=run,
        )
        for key, pair in best.items()
    ]
    MatchReview.objects.bulk_create(items, batch_size=1000)
    reviews_follow_merges(object_type, merged_into)
    return len(items)


def reviews_follow_merges(object_type: str, merged_into: dict[int, int]) -> None:
    """Pending review items name customers as they are now: a merged-away customer becomes
    its survivor, and an item whose two customers became one is settled."""
    gone = {c: s for c, s in merged_into.items() if c != s}
    if not gone:
        return
    pending = MatchReview.objects.filter(
        object_type=object_type, status=MatchReview.Status.PENDING
    ).filter(Q(customer_a__in=gone) | Q(customer_b__in=gone))
    for item in pending:
        a, b = (
            gone.get(item.customer_a, item.customer_a),
            gone.get(item.customer_b, item.customer_b),
        )
        if a == b:
            item.status = MatchReview.Status.SUPERSEDED
        item.customer_a, item.customer_b = min(a, b), max(a, b)
        item.save(update_fields=["status", "customer_a", "customer_b"])
