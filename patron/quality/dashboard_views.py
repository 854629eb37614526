"""Quality you can see: the score panel on a record page and the data-quality dashboard (per
source and per field, with the trend, and the worst records to fix)."""

from __future__ import annotations

from collections import defaultdict

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.db import transaction
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.views.decorators.http import require_POST

from patron.core.permissions import can
from patron.core.web import domain_errors, request_user
from patron.customers.models import Account, Contact
from patron.integration.fields import target
from patron.integration.models import Source

from .models import QualityScore, QualitySnapshot
from .scores import WEIGHTS, score_record

MODELS: dict[str, type[Contact] | type[Account]] = {"contact": Contact, "account": Account}


@login_required
@domain_errors
def score_panel(request: HttpRequest, object_type: str, pk: int) -> HttpResponse:
    model = MODELS.get(object_type)
    if model is None:
        raise Http404("Unknown record type")
    record = model.objects.restrict(request_user(request), "view").get(pk=pk)
    score = score_record(record)
    parts = [(name, score.parts[name], weight) for name, weight in WEIGHTS.items()]
    return render(request, "quality/partials/score_panel.html", {"score": score, "parts": parts})


def _label(key: str) -> str:
    found = target(key)
    if found is not None:
        return found.label
    return {"emails": "Emails", "phones": "Phones"}.get(key, key)


@login_required
@domain_errors
def dashboard(request: HttpRequest) -> HttpResponse:
    user = request_user(request)
    if not can(user, "source.view"):
        raise PermissionDenied("You may not see the data-quality dashboard.")
    snapshots = list(
        QualitySnapshot.objects.order_by("day").values(
            "day", "source_id", "field", "records", "filled", "flagged"
        )
    )
    latest_day = snapshots[-1]["day"] if snapshots else None
    sources = {s.pk: s for s in Source.objects.restrict(user, "view")}
    per_source: dict[int, dict] = {}
    trend: dict[int, dict] = defaultdict(lambda: defaultdict(lambda: [0, 0, 0]))
    for row in snapshots:
        if row["source_id"] not in sources:
            continue
        day_counts = trend[row["source_id"]][row["day"]]
        day_counts[0] += row["filled"]
        day_counts[1] += row["flagged"]
        day_counts[2] = max(day_counts[2], row["records"])
        if row["day"] != latest_day:
            continue
        entry = per_source.setdefault(
            row["source_id"],
            {"source": sources[row["source_id"]], "records": row["records"], "fields": []},
        )
        records = max(row["records"], 1)
        entry["fields"].append(
            {
                "label": _label(row["field"]),
                "filled": round(100 * row["filled"] / records),
                "flagged": row["flagged"],
                "flagged_pct": round(100 * row["flagged"] / records, 1),
            }
        )
    for source_id, entry in per_source.items():
        entry["fields"].sort(key=lambda f: (-f["flagged"], f["filled"]))
        points = []
        days = sorted(trend[source_id].items())[-30:]
        for day, (_filled, flagged, records) in days:
            points.append(
                {"day": day, "flagged_per_1000": round(1000 * flagged / max(records, 1), 1)}
            )
        peak = max([p["flagged_per_1000"] for p in points] + [1])
        for i, point in enumerate(points):
            point["x"] = i * 10
            point["height"] = max(1, round(40 * point["flagged_per_1000"] / peak))
            point["y"] = 40 - point["height"]
        entry["trend"] = points
        entry["trend_width"] = len(points) * 10
    worst = list(
        QualityScore.objects.filter(
            object_type="contact",
            object_id__in=Contact.objects.restrict(user, "view").values("pk"),
        ).order_by("total", "object_id")[:20]
    )
    names = {c.pk: c for c in Contact.objects.filter(pk__in=[w.object_id for w in worst])}
    return render(
        request,
        "quality/dashboard.html",
        {
            "section": "quality",
            "per_source": list(per_source.values()),
            "latest_day": latest_day,
            "worst": [(w, names.get(w.object_id)) for w in worst],
            "may_refresh": can(user, "source.change"),
        },
    )


@login_required
@domain_errors
@require_POST
def dashboard_refresh(request: HttpRequest) -> HttpResponse:
    if not can(request_user(request), "source.change"):
        raise PermissionDenied("You may not refresh the quality figures.")
    from .tasks import quality_refresh_task

    transaction.on_commit(lambda: quality_refresh_task.enqueue())
    messages.success(request, "The quality figures are being recomputed in the background.")
    return redirect("quality_dashboard")
