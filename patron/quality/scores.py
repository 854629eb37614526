"""How good a customer record is, and why: completeness, validity, agreement between the
systems that sent it, and freshness (values no source has confirmed for a long time decay).

A score is computed from the record, its contact points and its source records; the reasons
are sentences a user can act on. Scores are stored by `scores_refresh` (a job) for the
dashboard and the worst-records list; a record page computes its own on the fly.
"""

from __future__ import annotations

import datetime
from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

from django.db import transaction
from django.utils import timezone

from patron.customers.models import Account, Contact

WEIGHTS = {"completeness": 35, "validity": 25, "agreement": 20, "freshness": 20}
# What a complete person and a complete organisation have, and how much each part counts.
CONTACT_PARTS = [
    ("name", "a first and a last name", 20),
    ("email", "an email address", 25),
    ("phone", "a phone number", 20),
    ("address", "a postal address with city and country", 15),
    ("account", "an account (employer or household)", 10),
    ("job_title", "a job title", 5),
    ("date_of_birth", "a date of birth", 5),
]
ACCOUNT_PARTS = [
    ("name", "a name", 25),
    ("domain", "a website domain", 20),
    ("email", "an email address", 15),
    ("phone", "a phone number", 15),
    ("address", "a postal address with city and country", 15),
    ("industry", "an industry", 10),
]
FRESH_DAYS = 180  # confirmed within this: full marks
STALE_DAYS = 3 * 365  # not confirmed for this long: no marks
# Values compared between sources, and how to name them in a sentence.
AGREEMENT_FIELDS = {
    "contact.first_name": "first name",
    "contact.last_name": "last name",
    "contact.date_of_birth": "date of birth",
    "account.name": "name",
}


@dataclass
class Score:
    total: int
    parts: dict[str, int]
    reasons: list[str] = field(default_factory=list)


def _present(record: Contact | Account) -> dict[str, bool]:
    """Which parts the record has; reads prefetched relations when the caller prefetched them
    (the scoring job does, a page does not need to)."""
    emails = bool(list(record.emailaddresss.all()))  # type: ignore[union-attr]
    phones = bool(list(record.phonenumbers.all()))  # type: ignore[union-attr]
    address = any(a.city and a.country for a in record.postaladdresss.all())  # type: ignore[union-attr]
    if isinstance(record, Contact):
        return {
            "name": bool(record.first_name and record.last_name),
            "email": emails,
            "phone": phones,
            "address": address,
            "account": bool(list(record.relationships.all())),
            "job_title": bool(record.job_title),
            "date_of_birth": record.date_of_birth is not None,
        }
    return {
        "name": bool(record.name),
        "domain": bool(record.domain),
        "email": emails,
        "phone": phones,
        "address": address,
        "industry": bool(record.industry),
    }


def score_record(
    record: Contact | Account, *, source_records: Iterable[Any] | None = None, now=None
) -> Score:
    """The record's score (0–100) with its four parts and the reasons it is not 100."""
    now = now or timezone.now()
    reasons: list[str] = []
    sources = list(
        source_records
        if source_records is not None
        else record.source_records.select_related("source")  # type: ignore[union-attr]
    )

    present = _present(record)
    parts_spec = CONTACT_PARTS if isinstance(record, Contact) else ACCOUNT_PARTS
    completeness = sum(weight for key, _, weight in parts_spec if present.get(key))
    missing = [label for key, label, _ in parts_spec if not present.get(key)]
    if missing:
        reasons.append("Missing " + ", ".join(missing) + ".")

    problems = [p for s in sources for p in (s.problems or [])]
    validity = max(0, 100 - 25 * len(problems))
    for s in sources:
        for p in s.problems or []:
            reasons.append(
                f"{s.source.name} sent an unusable {p.get('field', 'value')}: "
                f"{p.get('message', p.get('code', ''))}"
            )

    agreement = 100
    if len(sources) > 1:
        checked = disagreed = 0
        for key, label in AGREEMENT_FIELDS.items():
            values: dict[str, set[str]] = defaultdict(set)
            shown: dict[str, str] = {}
            for s in sources:
                value = (s.normalised or {}).get(key)
                if value not in (None, ""):
                    values[str(value).casefold()].add(s.source.name)
                    shown.setdefault(str(value).casefold(), str(value))
            if len(values) == 0:
                continue
            checked += 1
            if len(values) > 1:
                disagreed += 1
                said = " / ".join(
                    f"{', '.join(sorted(names))}: {shown[value]}"
                    for value, names in sorted(values.items(), key=lambda kv: sorted(kv[1]))
                )
                reasons.append(f"The systems disagree on the {label} ({said}).")
        agreement = 100 if checked == 0 else round(100 * (checked - disagreed) / checked)

    confirmed = max([s.last_seen_at for s in sources], default=record.updated_at)
    age_days = max(0, (now - confirmed).days)
    if age_days <= FRESH_DAYS:
        freshness = 100
    elif age_days >= STALE_DAYS:
        freshness = 0
    else:
        freshness = round(100 * (STALE_DAYS - age_days) / (STALE_DAYS - FRESH_DAYS))
    if freshness < 100:
        by = "no source has confirmed it" if sources else "nobody has updated it"
        reasons.append(f"Stale: {by} since {confirmed.date().isoformat()} ({age_days} days).")

    parts = {
        "completeness": completeness,
        "validity": validity,
        "agreement": agreement,
        "freshness": freshness,
    }
    total = round(sum(parts[k] * w for k, w in WEIGHTS.items()) / sum(WEIGHTS.values()))
    return Score(total=total, parts=parts, reasons=reasons)


def scores_refresh(object_type: str = "contact", batch: int = 500) -> int:
    """Store every record's score (for the dashboard and the worst-records list); a job."""
    from .models import QualityScore

    model = Contact if object_type == "contact" else Account
    now = timezone.now()
    done = 0
    ids = list(model.objects.order_by("pk").values_list("pk", flat=True))
    for start in range(0, len(ids), batch):
        chunk = ids[start : start + batch]
        prefetch = ["source_records__source", "emailaddresss", "phonenumbers", "postaladdresss"]
        if model is Contact:
            prefetch.append("relationships")
        records = model.objects.filter(pk__in=chunk).prefetch_related(*prefetch)
        rows = []
        for record in records:
            score = score_record(record, source_records=record.source_records.all(), now=now)
            rows.append(
                QualityScore(
                    object_type=object_type,
                    object_id=record.pk,
                    total=score.total,
                    parts=score.parts,
                    reasons=score.reasons[:10],
                    computed_at=now,
                )
            )
        with transaction.atomic():
            QualityScore.objects.filter(object_type=object_type, object_id__in=chunk).delete()
            QualityScore.objects.bulk_create(rows)
        done += len(rows)
    return done


def rollup(today: datetime.date | None = None) -> int:
    """Today's per-source, per-field counts (records, filled, flagged) for the trend charts;
    re-running a day replaces it. Returns the number of rows written."""
    from patron.integration.models import SourceRecord

    from .models import QualitySnapshot

    today = today or timezone.localdate()
    counts: dict[tuple[int, str], list[int]] = defaultdict(lambda: [0, 0, 0])
    totals: dict[int, int] = defaultdict(int)
    rows = SourceRecord.objects.values_list("source_id", "normalised", "problems").iterator(
        chunk_size=2000
    )
    for source_id, normalised, problems in rows:
        totals[source_id] += 1
        flagged = {p.get("field") for p in problems or []}
        for key, value in (normalised or {}).items():
            if key in ("source_key",):
                continue
            if value not in (None, "", []):
                counts[(source_id, key)][0] += 1
        for key in flagged:
            counts[(source_id, key)][1] += 1
    with transaction.atomic():
        QualitySnapshot.objects.filter(day=today).delete()
        QualitySnapshot.objects.bulk_create(
            [
                QualitySnapshot(
                    day=today,
                    source_id=source_id,
                    field=key,
                    records=totals[source_id],
                    filled=filled,
                    flagged=flagged,
                )
                for (source_id, key), (filled, flagged, _) in counts.items()
            ]
        )
    return len(counts)
