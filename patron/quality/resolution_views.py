"""Entity resolution screens: the review queue with its side-by-side comparison, resolution
runs with their progress, and the "where does this value come from?" panel on record pages.
Writes go through `review`, `matching` and `survivorship`."""

from __future__ import annotations

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied, ValidationError
from django.core.paginator import Paginator
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.views.decorators.http import require_POST

from patron.core.permissions import can, may
from patron.core.web import domain_errors, request_user
from patron.integration.models import SourceRecord

from . import matching, review, survivorship
from .merge_views import _model
from .models import MatchReview, ResolutionRun

EXPLAINED_FIELDS = {
    "first_name": "First name",
    "last_name": "Last name",
    "email": "Email",
    "phone": "Phone",
    "date_of_birth": "Date of birth",
    "address": "Address",
    "identifier": "Customer number / id",
}
RULE_LABELS = {
    "trust": "most trusted source",
    "recent": "most recently received",
    "frequent": "most frequent value",
    "complete": "most complete value",
    "only": "every source agrees",
    "hand": "typed in Patron",
}


@login_required
@domain_errors
def lineage_panel(request: HttpRequest, object_type: str, pk: int) -> HttpResponse:
    """Per field of the golden record: the value, the rule that chose it and its sources."""
    user = request_user(request)
    record = _model(object_type).objects.restrict(user, "view").get(pk=pk)
    rows = survivorship.lineage_of(object_type, record.pk)
    wanted = {i for row in rows for c in row.candidates for i in c["source_record_ids"]}
    wanted |= {i for row in rows for i in row.source_record_ids}
    sources = {
        sr.pk: sr
        for sr in SourceRecord.objects.restrict(user, "view")
        .filter(pk__in=wanted)
        .select_related("source")
    }
    order = {f: n for n, f in enumerate(survivorship.fields_of(object_type))}
    fields = []
    for row in sorted(rows, key=lambda r: order.get(r.field, 99)):
        fields.append(
            {
                "row": row,
                "label": survivorship.FIELD_LABELS.get(row.field, row.field),
                "rule": RULE_LABELS.get(row.rule, row.rule),
                "sources": [sources[i] for i in row.source_record_ids if i in sources],
                "others": [
                    {
                        "value": c["value"],
                        "sources": [sources[i] for i in c["source_record_ids"] if i in sources],
                    }
                    for c in row.candidates
                    if str(c["value"]).casefold() != str(row.value or "").casefold()
                ],
            }
        )
    return render(
        request,
        "quality/partials/lineage_panel.html",
        {
            "record": record,
            "object_type": object_type,
            "fields": fields,
            "may_change": may(user, record, "change"),
        },
    )


@login_required
@domain_errors
@require_POST
def lineage_release(request: HttpRequest, object_type: str, pk: int, field: str) -> HttpResponse:
    user = request_user(request)
    survivorship.lineage_release(actor=user, object_type=object_type, object_id=pk, field=field)
    messages.success(request, "The sources decide this field again.")
    return redirect(reverse(f"{object_type}_detail", args=[pk]))


@login_required
@domain_errors
def review_list(request: HttpRequest) -> HttpResponse:
    """The pairs waiting for a decision, and the resolution runs that found them."""
    user = request_user(request)
    object_type = "account" if request.GET.get("type") == "account" else "contact"
    if not can(user, f"{object_type}.delete"):
        raise PermissionDenied("Your role does not allow deciding on duplicates.")
    raw_page = request.GET.get("page", "1")
    page_number = max(1, int(raw_page)) if raw_page.isdigit() else 1
    per_page = 25
    items, total = review.review_queue(
        actor=user, object_type=object_type, limit=per_page, offset=(page_number - 1) * per_page
    )
    paginator = Paginator(range(total), per_page)
    runs = ResolutionRun.objects.filter(object_type=object_type)[:5]
    active = next((r for r in runs if r.status in ("queued", "running")), None)
    return render(
        request,
        "quality/review_list.html",
        {
            "items": [(item, *review.current_customers(item)) for item in items],
            "total": total,
            "page": paginator.get_page(page_number),
            "runs": runs,
            "active": active,
            "pending_new": matching.pending_new_records(object_type),
            "object_type": object_type,
            "section": "quality_review",
        },
    )


@login_required
@domain_errors
def review_detail(request: HttpRequest, pk: int) -> HttpResponse:
    """Two customers side by side, the records that scored, and why the score is what it is."""
    user = request_user(request)
    item = MatchReview.objects.select_related("record_a__source", "record_b__source").get(pk=pk)
    if not can(user, f"{item.object_type}.delete"):
        raise PermissionDenied("Your role does not allow deciding on duplicates.")
    a_id, b_id = review.current_customers(item)
    model = _model(item.object_type)
    visible = {r.pk: r for r in model.objects.restrict(user, "view").filter(pk__in=[a_id, b_id])}
    if a_id not in visible or b_id not in visible:
        raise model.DoesNotExist
    first, second = visible[a_id], visible[b_id]
    rows = _comparison_rows(item, first, second)
    top = max((abs(e["weight"]) for e in item.explanation), default=1.0) or 1.0
    explanation = [
        {
            **e,
            "name": EXPLAINED_FIELDS.get(e["field"], e["field"].replace("_", " ").capitalize()),
            "width": int(100 * abs(e["weight"]) / top),
            "up": e["weight"] >= 0,
        }
        for e in item.explanation
    ]
    return render(
        request,
        "quality/review_detail.html",
        {
            "item": item,
            "first": first,
            "second": second,
            "rows": rows,
            "explanation": explanation,
            "percent": round(item.probability * 100, 1),
            "section": "quality_review",
        },
    )


def _comparison_rows(item: MatchReview, first, second) -> list[dict]:
    """Field by field: each customer's golden value and what each scored record sent."""

    def record_values(sr: SourceRecord | None) -> dict[str, str]:
        if sr is None:
            return {}
        offers = survivorship.offers_of(item.object_type, sr, 0)
        return {
            field: ", ".join(dict.fromkeys(o.value for o in offs)) for field, offs in offers.items()
        }

    def golden(record) -> dict[str, str]:
        values = {}
        for field in survivorship.SCALAR_FIELDS[item.object_type]:
            value = getattr(record, field)
            values[field] = value.isoformat() if hasattr(value, "isoformat") else str(value or "")
        values["email"] = ", ".join(e.email for e in record.emailaddresss.all())
        values["phone"] = ", ".join(p.e164 or p.number for p in record.phonenumbers.all())
        values["address"] = " / ".join(
            survivorship.address_of(a) for a in record.postaladdresss.all()
        )
        return values

    ga, gb = golden(first), golden(second)
    ra, rb = record_values(item.record_a), record_values(item.record_b)
    rows = []
    for field in survivorship.fields_of(item.object_type):
        if not any((ga.get(field), gb.get(field), ra.get(field), rb.get(field))):
            continue
        rows.append(
            {
                "label": survivorship.FIELD_LABELS.get(field, field)
                .replace("Primary ", "")
                .capitalize(),
                "a": ga.get(field, ""),
                "b": gb.get(field, ""),
                "ra": ra.get(field, ""),
                "rb": rb.get(field, ""),
                "same": (ga.get(field) or "").casefold() == (gb.get(field) or "").casefold(),
            }
        )
    return rows


@login_required
@domain_errors
@require_POST
def review_decide(request: HttpRequest, pk: int) -> HttpResponse:
    user = request_user(request)
    item = MatchReview.objects.get(pk=pk)
    decision = request.POST.get("decision")
    try:
        if decision == "accept":
            merge = review.review_accept(actor=user, review=item)
            messages.success(
                request,
                f"Merged {', '.join(merge.merged_names)} into #{merge.survivor_id}; "
                "the merge can be undone from the record page.",
            )
        elif decision == "reject":
            review.review_reject(actor=user, review=item)
            messages.success(request, "Kept apart: no later run will merge these two.")
        else:
            messages.error(request, "Choose “Same customer” or “Different customers”.")
            return redirect("review_detail", pk=pk)
    except ValidationError as exc:
        messages.error(request, " ".join(exc.messages))
    following = review.review_queue(actor=user, object_type=item.object_type, limit=1)[0]
    if following:
        return redirect("review_detail", pk=following[0].pk)
    return redirect(
        reverse("review_list") + ("?type=account" if item.object_type == "account" else "")
    )


@login_required
@domain_errors
@require_POST
def resolution_run_start(request: HttpRequest) -> HttpResponse:
    user = request_user(request)
    object_type = "account" if request.POST.get("type") == "account" else "contact"
    run = matching.resolution_start(
        actor=user, object_type=object_type, full=request.POST.get("mode") == "full"
    )
    messages.success(request, f"Resolution run #{run.pk} queued; the page shows its progress.")
    return redirect(reverse("review_list") + ("?type=account" if object_type == "account" else ""))


@login_required
@domain_errors
def resolution_run_progress(request: HttpRequest, pk: int) -> HttpResponse:
    user = request_user(request)
    run = ResolutionRun.objects.get(pk=pk)
    if not can(user, f"{run.object_type}.delete"):
        raise ResolutionRun.DoesNotExist
    return render(request, "quality/partials/resolution_run.html", {"run": run})
