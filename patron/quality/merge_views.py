"""The merge screens: possible duplicates on a record page, the side-by-side comparison with
field picking, and undo. Writes go through `merge.record_merge` / `merge.merge_undo`."""

from __future__ import annotations

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied, ValidationError
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.views.decorators.http import require_http_methods, require_POST

from patron.core.permissions import can, may
from patron.core.web import domain_errors, request_user
from patron.customers.models import Account, Contact

from . import merge
from .duplicates import candidates, likely_duplicates
from .models import Merge

MODELS: dict[str, type[Contact] | type[Account]] = {"contact": Contact, "account": Account}


def _model(object_type: str) -> type[Contact] | type[Account]:
    if object_type not in MODELS:
        raise Http404("Unknown record type")
    return MODELS[object_type]


def _detail_url(object_type: str, pk: int) -> str:
    return reverse(f"{object_type}_detail", args=[pk])


@login_required
@domain_errors
def duplicates_panel(request: HttpRequest, object_type: str, pk: int) -> HttpResponse:
    user = request_user(request)
    record = _model(object_type).objects.restrict(user, "view").get(pk=pk)
    candidates = likely_duplicates(user=user, record=record)
    merges = Merge.objects.filter(
        object_type=object_type, survivor_id=record.pk, undone_at=None
    ).order_by("-created_at")[:5]
    # Pairs entity resolution was unsure about, for people who may decide them.
    reviews = []
    if can(user, f"{object_type}.delete"):
        from django.db.models import Q

        from .models import MatchReview

        reviews = list(
            MatchReview.objects.filter(object_type=object_type, status=MatchReview.Status.PENDING)
            .filter(Q(customer_a=record.pk) | Q(customer_b=record.pk))
            .order_by("-probability")[:5]
        )
    return render(
        request,
        "quality/partials/duplicates_panel.html",
        {
            "record": record,
            "object_type": object_type,
            "candidates": candidates,
            "merges": merges,
            "reviews": reviews,
            "may_merge": may(user, record, "change"),
        },
    )


def values_from_query(params, object_type: str) -> dict:
    """The typed values a duplicate check looks at, phones normalised to E.164."""
    from patron.core.permissions import organisation_settings
    from patron.utils.phones import to_e164

    region = organisation_settings().default_phone_region
    phones = [to_e164(p, region) for p in params.getlist("phone") if p.strip()]
    if object_type == "contact":
        names = {k: params.get(k, "") for k in ("first_name", "last_name")}
    else:
        names = {k: params.get(k, "") for k in ("name", "domain")}
    return {
        "emails": [e for e in params.getlist("email") if "@" in e],
        "phones": [p for p in phones if p],
        "names": names,
    }


@login_required
@domain_errors
def duplicate_check(request: HttpRequest, object_type: str) -> HttpResponse:
    """Beside the new-record form: customers that already look like the one being typed."""
    model = _model(object_type)
    found = candidates(
        user=request_user(request), model=model, **values_from_query(request.GET, object_type)
    )
    return render(
        request,
        "quality/partials/duplicate_check.html",
        {"candidates": found, "object_type": object_type},
    )


@login_required
@domain_errors
@require_http_methods(["GET", "POST"])
def merge_compare(request: HttpRequest, object_type: str, pk: int) -> HttpResponse:
    """Compare a record with others side by side; pick the surviving value of each field."""
    user = request_user(request)
    model = _model(object_type)
    record = model.objects.restrict(user, "view").get(pk=pk)
    other_ids = [
        int(i) for i in request.GET.getlist("with") + request.POST.getlist("with") if i.isdigit()
    ]
    others = list(model.objects.restrict(user, "view").filter(pk__in=other_ids).exclude(pk=pk))
    if request.method == "POST":
        survivor_id = int(request.POST.get("survivor") or pk)
        ids = [record.pk, *[o.pk for o in others]]
        choices = {
            key[7:]: int(value)
            for key in request.POST
            if key.startswith("choice-") and (value := request.POST.get(key, "")).isdigit()
        }
        try:
            done = merge.record_merge(
                actor=user,
                object_type=object_type,
                survivor_id=survivor_id,
                other_ids=[i for i in ids if i != survivor_id],
                choices=choices,
            )
        except (ValidationError, PermissionDenied) as exc:
            text = " ".join(exc.messages) if isinstance(exc, ValidationError) else str(exc)
            messages.error(request, text)
        else:
            messages.success(
                request,
                f"Merged {', '.join(done.merged_names)} into this {object_type}. "
                "Everything attached moved here; the merge can be undone below.",
            )
            return redirect(_detail_url(object_type, survivor_id))
    records = [record, *others]
    rows = merge.merge_preview(records) if others else []
    for row in rows:
        row["cells"] = list(zip(records, row["values"], strict=True))
    attached = _attached_summary(records) if others else []
    candidates = [
        c for c in likely_duplicates(user=user, record=record) if c["record"] not in others
    ]
    return render(
        request,
        "quality/merge.html",
        {
            "object_type": object_type,
            "record": record,
            "records": records,
            "rows": rows,
            "attached": attached,
            "candidates": candidates,
            "section": f"{object_type}_merge",
        },
    )


def _attached_summary(records: list) -> list[dict]:
    """What moves with each record: its contact points and the systems it came from."""
    summary = []
    for label, getter in (
        ("Emails", lambda r: [e.email for e in r.emailaddresss.all()]),
        ("Phones", lambda r: [p.e164 or p.number for p in r.phonenumbers.all()]),
        ("Addresses", lambda r: [str(a) for a in r.postaladdresss.all()]),
        ("Sources", lambda r: [f"{s.source.name} {s.source_key}" for s in r.source_records.all()]),
    ):
        summary.append({"label": label, "cells": [(r, getter(r)) for r in records]})
    return summary


@login_required
@domain_errors
@require_POST
def merge_undo(request: HttpRequest, pk: int) -> HttpResponse:
    done = Merge.objects.get(pk=pk)
    user = request_user(request)
    model = _model(done.object_type)
    model.objects.restrict(user, "view").get(pk=done.survivor_id)  # 404 if not visible
    try:
        restored = merge.merge_undo(actor=user, merge=done)
    except ValidationError as exc:
        messages.error(request, " ".join(exc.messages))
    else:
        messages.success(request, f"Merge undone: {', '.join(str(r) for r in restored)} restored.")
    return redirect(_detail_url(done.object_type, done.survivor_id))
