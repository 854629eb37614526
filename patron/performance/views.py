"""The performance UI: the forecast page (with category changes by htmx), quotas and
attainment, commission statements. Parse, call, render — nothing else."""

from __future__ import annotations

from typing import Any
from urllib.parse import urlencode

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import ValidationError
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import timezone
from django.views.decorators.http import require_http_methods, require_POST

from patron.core.exceptions import ConflictError, PermissionDeniedError
from patron.core.models import Team, User
from patron.core.permissions import can, may
from patron.core.web import apply_validation_error, domain_errors, request_user, wants_partial

from . import periods, selectors, services
from .forms import CategoryForm, QuotaEditForm, QuotaForm

TABS = [
    ("commit", "Commit"),
    ("best_case", "Best case"),
    ("pipeline", "Pipeline"),
    ("omitted", "Omitted"),
    ("closed_won", "Closed won"),
]


def _period(value: str | None, default_kind: str = "quarter") -> periods.Period:
    """The period named in the URL (the current quarter when none); 404 on nonsense."""
    if not value:
        return periods.containing(default_kind, timezone.localdate())
    try:
        return periods.parse(value)
    except ValidationError:
        raise Http404("Unknown period") from None


def _record_id(value: str | None) -> int | None:
    if not value:
        return None
    if not value.isdigit() or len(value) > 18:
        raise Http404("Not found")
    return int(value)


def _require(user: Any, permission: str) -> None:
    if not can(user, permission):
        raise PermissionDeniedError(f"Your role does not allow {permission.replace('.', ' ')}.")


def _forecast_context(request: HttpRequest) -> dict[str, Any]:
    user = request_user(request)
    _require(user, "forecast.view")
    params = request.GET if request.method == "GET" else request.POST
    period = _period(params.get("period"))
    people, teams = selectors.quota_holders(user=user)
    owner_id, team_id = _record_id(params.get("owner")), _record_id(params.get("team"))
    owner = User.objects.filter(pk=owner_id).first() if owner_id else None
    team = Team.objects.filter(pk=team_id).first() if team_id else None
    tab_name = "category_tab" if request.method == "POST" else "category"
    category = params.get(tab_name) or "commit"
    if category not in dict(TABS):
        category = "commit"
    result = selectors.forecast(user=user, period=period, owner=owner, team=team)
    rows = selectors.opportunities_by_category(
        user=user, period=period, category=category, owner=owner, team=team
    )
    scope = {"owner": owner_id or "", "team": team_id or ""}
    return {
        "period": period,
        "previous": period.shifted(-1),
        "next": period.shifted(1),
        "this_month": periods.containing("month", timezone.localdate()),
        "this_quarter": periods.containing("quarter", timezone.localdate()),
        "this_year": periods.containing("year", timezone.localdate()),
        "people": list(people),
        "teams": list(teams),
        "owner": owner,
        "team": team,
        "scope": scope,
        "forecast": result,
        "history": result.history,
        "stage_estimates": [
            (result.stage_names.get(s.stage_id, ""), s) for s in result.history.stages.values()
        ],
        "tabs": [(key, label, result.category_counts.get(key, 0)) for key, label in TABS],
        "category": category,
        "rows": rows,
        "category_choices": CategoryForm.base_fields["category"].choices,  # type: ignore[attr-defined]
        "may_change": can(user, "opportunity.change"),
    }


@login_required
@domain_errors
def forecast(request: HttpRequest) -> HttpResponse:
    context = _forecast_context(request)
    if wants_partial(request):
        return render(request, "performance/partials/forecast_body.html", context)
    return render(request, "performance/forecast.html", context)


@require_POST
@login_required
@domain_errors
def forecast_category(request: HttpRequest, pk: int) -> HttpResponse:
    """A category chosen in the table: saved, and the forecast answered again (its figures
    change with it)."""
    user = request_user(request)
    opportunity = selectors.forecast_opportunity(user=user, pk=pk)
    form = CategoryForm(request.POST)
    error = ""
    status = 200
    if not form.is_valid():
        error, status = "Choose a forecast category.", 400
    else:
        try:
            services.forecast_category_set(
                actor=user, opportunity=opportunity, category=form.cleaned_data["category"] or None
            )
        except PermissionDeniedError as exc:
            error, status = str(exc), 403
        except ValidationError as exc:
            error, status = " ".join(exc.messages), 400
    if not wants_partial(request):
        if error:
            messages.error(request, error)
        query = urlencode(
            {
                "period": request.POST.get("period", ""),
                "owner": request.POST.get("owner", ""),
                "team": request.POST.get("team", ""),
                "category": request.POST.get("category_tab", ""),
            }
        )
        return redirect(reverse("forecast") + "?" + query)
    context = _forecast_context(request)
    context["error"] = error
    return render(request, "performance/partials/forecast_body.html", context, status=status)


# --- quotas -------------------------------------------------------------------------------


@require_http_methods(["GET", "POST"])
@login_required
@domain_errors
def quota_list(request: HttpRequest) -> HttpResponse:
    """The attainment dashboard of a period, and the form to set a quota (managers)."""
    user = request_user(request)
    _require(user, "quota.view")
    period = _period(request.GET.get("period"))
    people, teams = selectors.quota_holders(user=user)
    may_add = can(user, "quota.add")
    form = None
    status = 200
    if may_add:
        initial = {"period": period.label}
        form = QuotaForm(
            request.POST if request.method == "POST" else None,
            users=people,
            teams=teams,
            initial=initial,
        )
        if request.method == "POST":
            if form.is_valid():
                try:
                    quota = services.quota_create(actor=user, data=form.service_data())
                    messages.success(request, f"Quota set: {quota}.")
                    return redirect(reverse("quota_list") + f"?period={quota.period_label}")
                except ValidationError as exc:
                    apply_validation_error(
                        form, exc, {"owner": "holder", "team": "holder", "period_start": "period"}
                    )
            status = 400
    elif request.method == "POST":
        raise PermissionDeniedError("Your role does not allow setting quotas.")
    rows = selectors.attainment(user=user, period=period)
    context = {
        "period": period,
        "previous": period.shifted(-1),
        "next": period.shifted(1),
        "rows": rows,
        "form": form,
        "currency": selectors.default_currency(),
        "may_change": can(user, "quota.change"),
        "may_delete": can(user, "quota.delete"),
    }
    return render(request, "performance/quotas.html", context, status=status)


@require_http_methods(["GET", "POST"])
@login_required
@domain_errors
def quota_edit(request: HttpRequest, pk: int) -> HttpResponse:
    user = request_user(request)
    quota = selectors.quota_get(user=user, pk=pk)
    if not may(user, quota, "change"):
        raise PermissionDeniedError("You may not change this quota.")
    initial = {"amount": quota.amount, "currency": quota.currency, "version": quota.version}
    form = QuotaEditForm(request.POST if request.method == "POST" else None, initial=initial)
    status = 200
    if request.method == "POST":
        if form.is_valid():
            data = {k: form.cleaned_data[k] for k in ("amount", "currency")}
            try:
                services.quota_update(
                    actor=user,
                    quota=quota,
                    expected_version=form.cleaned_data["version"],
                    data=data,
                )
                messages.success(request, "Quota saved.")
                return redirect(reverse("quota_list") + f"?period={quota.period_label}")
            except ConflictError:
                form.add_error(None, "Someone else changed this quota; reload and try again.")
            except ValidationError as exc:
                apply_validation_error(form, exc)
        status = 400
    return render(
        request, "performance/quota_form.html", {"form": form, "quota": quota}, status=status
    )


@require_POST
@login_required
@domain_errors
def quota_delete(request: HttpRequest, pk: int) -> HttpResponse:
    user = request_user(request)
    quota = selectors.quota_get(user=user, pk=pk)
    label = quota.period_label
    services.quota_delete(actor=user, quota=quota)
    messages.success(request, "Quota deleted.")
    return redirect(reverse("quota_list") + f"?period={label}")


# --- commissions --------------------------------------------------------------------------


@login_required
@domain_errors
def commission_list(request: HttpRequest) -> HttpResponse:
    user = request_user(request)
    _require(user, "commission.view")
    assignments = list(selectors.assignment_visible(user=user)[:500])
    rows = [(a, periods.Period(a.period_kind, a.period_start)) for a in assignments]
    return render(request, "performance/commissions.html", {"rows": rows})


@login_required
@domain_errors
def commission_statement(request: HttpRequest, pk: int) -> HttpResponse:
    user = request_user(request)
    statement = selectors.commission_statement(user=user, assignment_id=pk)
    return render(request, "performance/statement.html", {"statement": statement})
