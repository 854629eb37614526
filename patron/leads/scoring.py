"""Lead scores: the configured rules (fit + engagement, each point with its reason) and a
conversion model learned from past leads (logistic regression over the lead's fields and its
activity counts), which explains a prediction by each feature's coefficient × value.

No permission checks here: services call these on leads they have already checked."""

from __future__ import annotations

import io
import math
import re
from collections import Counter
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation
from typing import Any

from .models import Lead, LeadActivity, LeadScoringModel, ScoringRule

# Fields a fit rule may read, with how they are shown in a reason.
FIT_FIELDS: dict[str, str] = {
    "job_title": "job title",
    "company": "company",
    "email": "email",
    "email_domain": "email domain",
    "phone": "phone",
    "country": "country",
    "region": "region",
    "employees": "employees",
    "annual_revenue": "annual revenue",
    "source": "source",
    "campaign": "campaign",
    "utm_source": "UTM source",
    "utm_medium": "UTM medium",
    "utm_campaign": "UTM campaign",
}
# Engagement rules read how many activities of a kind the lead has.
ENGAGEMENT_FIELDS: dict[str, str] = {
    "activities": "activities",
    **{kind.value: f"{kind.label.lower()} count" for kind in LeadActivity.Kind},
}
NUMERIC_FIELDS = {"employees", "annual_revenue", "activities", *LeadActivity.Kind.values}

# The learned model needs outcomes of both kinds before its predictions mean anything.
MIN_SAMPLES = 20
MIN_PER_CLASS = 5


def field_choices(kind: str | None = None) -> list[tuple[str, str]]:
    fields = {
        ScoringRule.Kind.FIT: FIT_FIELDS,
        ScoringRule.Kind.ENGAGEMENT: ENGAGEMENT_FIELDS,
    }
    if kind is not None:
        return list(fields[ScoringRule.Kind(kind)].items())
    return [*FIT_FIELDS.items(), *ENGAGEMENT_FIELDS.items()]


def activity_counts(lead: Lead) -> dict[str, int]:
    """Activities of the lead by kind, and their total under "activities"."""
    counts = Counter(lead.activities.order_by().values_list("kind", flat=True) if lead.pk else [])
    result = {kind: counts.get(kind, 0) for kind in LeadActivity.Kind.values}
    result["activities"] = sum(counts.values())
    return result


def _value(lead: Lead, field: str, counts: Mapping[str, int]) -> Any:
    if field in ENGAGEMENT_FIELDS:
        return counts.get(field, 0)
    if field == "email_domain":
        return lead.email.rsplit("@", 1)[1] if "@" in lead.email else ""
    return getattr(lead, field, None)


def _number(value: Any) -> Decimal | None:
    try:
        return Decimal(str(value).strip())
    except (InvalidOperation, ValueError):
        return None


def rule_matches(rule: ScoringRule, lead: Lead, counts: Mapping[str, int]) -> bool:
    """Text compares without regard to case or surrounding spaces; numbers as numbers."""
    value = _value(lead, rule.field, counts)
    expected = rule.value.strip()
    if rule.operator == ScoringRule.Operator.EXISTS:
        return value not in (None, "", 0) if rule.field in NUMERIC_FIELDS else bool(value)
    if value is None:
        return False
    if rule.operator == ScoringRule.Operator.GREATER_THAN:
        left, right = _number(value), _number(expected)
        return left is not None and right is not None and left > right
    text = str(value).strip().casefold()
    if rule.operator == ScoringRule.Operator.EQUALS:
        if rule.field in NUMERIC_FIELDS:
            left, right = _number(value), _number(expected)
            return left is not None and left == right
        return text == expected.casefold()
    if rule.operator == ScoringRule.Operator.IN:
        options = {o.strip().casefold() for o in expected.split(",") if o.strip()}
        return text in options
    if rule.operator == ScoringRule.Operator.CONTAINS:
        return bool(expected) and expected.casefold() in text
    return False


def rule_reason(rule: ScoringRule) -> str:
    """How a matched rule reads on the lead page: "job title contains 'Director'"."""
    label = FIT_FIELDS.get(rule.field) or ENGAGEMENT_FIELDS.get(rule.field) or rule.field
    if rule.operator == ScoringRule.Operator.EXISTS:
        return f"{label} is filled in"
    if rule.operator == ScoringRule.Operator.IN:
        return f"{label} is one of {rule.value.strip()}"
    return f"{label} {rule.get_operator_display()} '{rule.value.strip()}'"


@dataclass
class RuleScore:
    fit: int
    engagement: int
    breakdown: list[dict[str, Any]]

    @property
    def total(self) -> int:
        return self.fit + self.engagement


def score_by_rules(
    lead: Lead, rules: Iterable[ScoringRule], counts: Mapping[str, int] | None = None
) -> RuleScore:
    """Points of every active rule the lead matches, with the reason of each."""
    counts = activity_counts(lead) if counts is None else counts
    fit = engagement = 0
    breakdown = []
    for rule in rules:
        if not rule.is_active or not rule_matches(rule, lead, counts):
            continue
        if rule.kind == ScoringRule.Kind.ENGAGEMENT:
            engagement += rule.points
        else:
            fit += rule.points
        breakdown.append(
            {"rule": rule.pk, "kind": rule.kind, "points": rule.points, "reason": rule_reason(rule)}
        )
    return RuleScore(fit=fit, engagement=engagement, breakdown=breakdown)


def active_rules() -> list[ScoringRule]:
    return list(ScoringRule.objects.filter(is_active=True).order_by("-kind", "order", "id"))


# --- the learned model ------------------------------------------------------------------------

_WORD = re.compile(r"[a-z]{3,}")
SIZE_BANDS = [(0, "1-10"), (11, "11-50"), (51, "51-200"), (201, "201-1000"), (1001, "1000+")]


def _size_band(employees: int | None) -> str:
    if employees is None:
        return "unknown"
    band = SIZE_BANDS[0][1]
    for low, name in SIZE_BANDS:
        if employees >= low:
            band = name
    return band


def features(lead: Lead, counts: Mapping[str, int] | None = None) -> dict[str, float]:
    """What the model sees of a lead: words of its job title, its country, source, company
    size band, which details it gave, and its activity counts (log-scaled)."""
    counts = activity_counts(lead) if counts is None else counts
    result: dict[str, float] = {}
    for word in set(_WORD.findall(lead.job_title.casefold())):
        result[f"job title has '{word}'"] = 1.0
    if lead.country:
        result[f"country {lead.country}"] = 1.0
    result[f"source {lead.source}"] = 1.0
    result[f"company size {_size_band(lead.employees)}"] = 1.0
    if lead.phone:
        result["gave a phone number"] = 1.0
    if lead.company:
        result["gave a company"] = 1.0
    for kind in LeadActivity.Kind:
        n = counts.get(kind.value, 0)
        if n:
            result[f"{kind.label.lower()} (count)"] = math.log1p(n)
    return result


class NotEnoughHistory(Exception):
    """Too few leads with an outcome to learn from."""


@dataclass
class Prediction:
    probability: float
    reasons: list[dict[str, Any]]


def _history_counts() -> tuple[int, int]:
    outcome = Lead.objects.filter(status__in=[Lead.Status.CONVERTED, Lead.Status.DISQUALIFIED])
    converted = outcome.filter(status=Lead.Status.CONVERTED).count()
    return converted, outcome.count() - converted


def history_problem() -> str:
    """Why no model can be trained yet, or "" when there is enough history."""
    converted, disqualified = _history_counts()
    if converted + disqualified < MIN_SAMPLES:
        return (
            f"Not enough history yet: {converted + disqualified} leads have an outcome; "
            f"the model needs at least {MIN_SAMPLES}."
        )
    if converted < MIN_PER_CLASS or disqualified < MIN_PER_CLASS:
        return (
            f"Not enough history yet: the model needs at least {MIN_PER_CLASS} converted and "
            f"{MIN_PER_CLASS} disqualified leads ({converted} and {disqualified} so far)."
        )
    return ""


def fit_model() -> tuple[Any, dict[str, Any]]:
    """Learn P(converted) from every lead with an outcome; NotEnoughHistory when too few.
    Returns the fitted pipeline and what the stored row records about it."""
    from sklearn.feature_extraction import DictVectorizer
    from sklearn.linear_model import LogisticRegression
    from sklearn.pipeline import Pipeline

    problem = history_problem()
    if problem:
        raise NotEnoughHistory(problem)
    leads = list(
        Lead.objects.filter(status__in=[Lead.Status.CONVERTED, Lead.Status.DISQUALIFIED]).order_by(
            "id"
        )
    )
    counts = _counts_for([lead.pk for lead in leads])
    rows = [features(lead, counts.get(lead.pk, {})) for lead in leads]
    labels = [1 if lead.status == Lead.Status.CONVERTED else 0 for lead in leads]
    pipeline = Pipeline(
        [
            ("vectorizer", DictVectorizer(sparse=False)),
            ("model", LogisticRegression(C=1.0, max_iter=1000, class_weight="balanced")),
        ]
    )
    pipeline.fit(rows, labels)
    accuracy = float(pipeline.score(rows, labels))
    names = pipeline.named_steps["vectorizer"].get_feature_names_out()
    coefficients = pipeline.named_steps["model"].coef_[0]
    ranked = sorted(zip(names, coefficients, strict=True), key=lambda p: -abs(p[1]))[:10]
    info = {
        "samples": len(labels),
        "converted": sum(labels),
        "disqualified": len(labels) - sum(labels),
        "metrics": {"training_accuracy": round(accuracy, 4)},
        "top_features": [{"feature": str(n), "weight": round(float(c), 4)} for n, c in ranked],
    }
    return pipeline, info


def _counts_for(lead_ids: list[int]) -> dict[int, dict[str, int]]:
    """Activity counts of many leads in one query."""
    result: dict[int, dict[str, int]] = {}
    rows = (
        LeadActivity.objects.filter(lead_id__in=lead_ids).order_by().values_list("lead_id", "kind")
    )
    for lead_id, kind in rows:
        counts = result.setdefault(lead_id, {"activities": 0})
        counts[kind] = counts.get(kind, 0) + 1
        counts["activities"] += 1
    return result


def dump(pipeline: Any) -> bytes:
    import joblib

    buffer = io.BytesIO()
    joblib.dump(pipeline, buffer)
    return buffer.getvalue()


_loaded: dict[int, Any] = {}


def load(row: LeadScoringModel) -> Any:
    """The fitted pipeline of a stored model (kept in memory by row id: rows never change).
    The blob is written only by `train`, from Patron's own data."""
    import joblib

    if row.pk not in _loaded:
        _loaded.clear()
        _loaded[row.pk] = joblib.load(io.BytesIO(bytes(row.blob)))
    return _loaded[row.pk]


def current_model() -> LeadScoringModel | None:
    return LeadScoringModel.objects.order_by("-trained_at", "-id").first()


def predict(
    model_row: LeadScoringModel, lead: Lead, counts: Mapping[str, int] | None = None
) -> Prediction:
    """The probability that the lead converts, and the five features that moved it most
    (coefficient × value, positive pushes towards converting)."""
    pipeline = load(model_row)
    row = features(lead, counts)
    probability = float(pipeline.predict_proba([row])[0][1])
    vectorizer = pipeline.named_steps["vectorizer"]
    coefficients = pipeline.named_steps["model"].coef_[0]
    contributions: list[dict[str, Any]] = []
    for name, value in row.items():
        index = vectorizer.vocabulary_.get(name)
        if index is None:
            continue
        weight = float(coefficients[index]) * value
        if abs(weight) >= 0.01:
            contributions.append({"feature": name, "weight": round(weight, 3)})
    contributions.sort(key=lambda c: -abs(c["weight"]))
    return Prediction(probability=round(probability, 4), reasons=contributions[:5])
