"""The leads UI: the list (filters, sort by score, CSV import), lead pages and forms, the
conversion page with the possible duplicates, the scoring and assignment rules, the learned
model and the web forms. Parse, call, render — nothing else."""

from __future__ import annotations

from typing import Any

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import ValidationError
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.views.decorators.http import require_http_methods, require_POST

from patron.core.exceptions import ConflictError, PermissionDeniedError
from patron.core.models import User
from patron.core.permissions import can, may_each
from patron.core.web import apply_validation_error, domain_errors, request_user, wants_partial
from patron.customers import selectors as customer_selectors
from patron.customers.models import Account, Contact
from patron.utils.cursor import paginate

from . import capture, files, routing, scoring, selectors, services
from .filters import LEAD_ORDERINGS, LeadFilterSet
from .forms import (
    ActivityForm,
    AssignmentRuleForm,
    ConvertForm,
    ImportForm,
    LeadForm,
    ScoringRuleForm,
)
from .models import Lead

PAGE_SIZE = 50
CONFLICT = "This lead was changed by someone else since you opened it; nothing was saved."


def _require(user: User, permission: str) -> None:
    if not can(user, permission):
        raise PermissionDeniedError(f"Your role does not allow {permission.replace('.', ' ')}.")


# --- list and import ---------------------------------------------------------------------------


@login_required
@domain_errors
def lead_list(request: HttpRequest) -> HttpResponse:
    user = request_user(request)
    _require(user, "lead.view")
    params = request.GET.copy()
    ordering_key = params.pop("ordering", ["-score"])[-1]
    if ordering_key not in LEAD_ORDERINGS:
        ordering_key = "-score"
    cursor = params.pop("cursor", [None])[-1]
    filterset = LeadFilterSet(params, queryset=selectors.lead_visible(user=user), user=user)
    errors: list[str] = []
    try:
        queryset = filterset.filtered()
    except ValidationError as exc:
        errors = exc.messages
        queryset = selectors.lead_visible(user=user).none()
    try:
        page = paginate(
            selectors.leads_for_list(queryset),
            ordering=LEAD_ORDERINGS[ordering_key],
            cursor=cursor,
            limit=PAGE_SIZE,
        )
    except (ValueError, TypeError):
        page = paginate(
            selectors.leads_for_list(queryset),
            ordering=LEAD_ORDERINGS[ordering_key],
            cursor=None,
            limit=PAGE_SIZE,
        )
    context = {
        "rows": page.items,
        "page": page,
        "params": request.GET,
        "statuses": request.GET.getlist("status"),
        "ordering": ordering_key,
        "orderings": [
            ("-score", "Score, highest first"),
            ("score", "Score, lowest first"),
            ("-created", "Newest"),
            ("created", "Oldest"),
            ("name", "Name"),
            ("company", "Company"),
        ],
        "status_choices": Lead.Status.choices,
        "source_choices": Lead.Source.choices,
        "owners": User.objects.filter(is_active=True).order_by("first_name", "username"),
        "filter_errors": errors,
        "filtered": bool(set(request.GET) - {"ordering", "cursor"}),
        "may_add": can(user, "lead.add"),
        "may_rules": can(user, "leadrule.view"),
        "import_form": ImportForm(),
    }
    if wants_partial(request):
        return render(request, "leads/partials/lead_results.html", context)
    return render(request, "leads/lead_list.html", context)


@require_POST
@login_required
@domain_errors
def lead_import(request: HttpRequest) -> HttpResponse:
    """A CSV upload: every row goes through `leads_import`; the page lists what was created
    and every refused line with its reason."""
    user = request_user(request)
    _require(user, "lead.add")
    form = ImportForm(request.POST, request.FILES)
    result = None
    problem = ""
    if form.is_valid():
        rows, problem = files.read_csv(form.cleaned_data["file"])
        if not problem:
            result = services.leads_import_numbered(actor=user, rows=rows)
    else:
        problem = " ".join(str(m) for ms in form.errors.values() for m in ms)
    status = 400 if problem else 200
    return render(
        request,
        "leads/import_result.html",
        {"result": result, "problem": problem, "import_form": ImportForm()},
        status=status,
    )


# --- one lead ----------------------------------------------------------------------------------


def _detail_context(user: User, lead: Lead, **extra: Any) -> dict[str, Any]:
    allowed = may_each(user, lead, ("change", "delete"))
    return {
        "lead": lead,
        "activities": selectors.lead_activities(lead=lead),
        "fit_reasons": [r for r in lead.score_breakdown if r.get("kind") == "fit"],
        "engagement_reasons": [r for r in lead.score_breakdown if r.get("kind") == "engagement"],
        "probability_percent": (
            round(lead.predicted_probability * 100)
            if lead.predicted_probability is not None
            else None
        ),
        "model_problem": "" if lead.predicted_probability is not None else _model_problem(),
        "may_change": allowed["change"] and not lead.is_converted,
        "may_delete": allowed["delete"],
        "activity_form": extra.pop("activity_form", None) or ActivityForm(),
        **extra,
    }


def _model_problem() -> str:
    if scoring.current_model() is not None:
        return ""
    return scoring.history_problem() or "No model has been trained yet."


@login_required
@domain_errors
def lead_detail(request: HttpRequest, pk: int) -> HttpResponse:
    user = request_user(request)
    lead = selectors.lead_get(user=user, pk=pk)
    return render(request, "leads/lead_detail.html", _detail_context(user, lead))


@require_POST
@login_required
@domain_errors
def lead_activity_add(request: HttpRequest, pk: int) -> HttpResponse:
    user = request_user(request)
    lead = selectors.lead_get(user=user, pk=pk)
    form = ActivityForm(request.POST)
    status = 200
    if form.is_valid():
        data = dict(form.cleaned_data)
        if data.get("occurred_at") is None:
            data.pop("occurred_at")
        try:
            services.lead_activity_add(actor=user, lead=lead, data=data)
        except ValidationError as exc:
            apply_validation_error(form, exc)
            status = 400
        else:
            messages.success(request, "Activity recorded.")
            return redirect("lead_detail", pk=pk)
    else:
        status = 400
    lead = selectors.lead_get(user=user, pk=pk)
    context = _detail_context(user, lead, activity_form=form)
    return render(request, "leads/lead_detail.html", context, status=status)


@require_http_methods(["GET", "POST"])
@login_required
@domain_errors
def lead_create(request: HttpRequest) -> HttpResponse:
    user = request_user(request)
    _require(user, "lead.add")
    form = LeadForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        data = form.service_data(creating=True)
        try:
            lead = services.lead_create(
                actor=user, data=data, source=form.cleaned_data.get("source") or None
            )
        except ValidationError as exc:
            apply_validation_error(form, exc)
        else:
            messages.success(request, f"Lead “{lead}” created.")
            return redirect("lead_detail", pk=lead.pk)
    status = 400 if request.method == "POST" else 200
    return render(request, "leads/lead_form.html", {"form": form}, status=status)


@require_http_methods(["GET", "POST"])
@login_required
@domain_errors
def lead_edit(request: HttpRequest, pk: int) -> HttpResponse:
    user = request_user(request)
    lead = selectors.lead_get(user=user, pk=pk, action="change")
    if lead.is_converted:
        messages.error(request, "A converted lead is read-only.")
        return redirect("lead_detail", pk=pk)
    initial = {name: getattr(lead, name) for name in services.UPDATE_FIELDS if name != "owner"}
    initial.update({"owner": lead.owner_id, "version": lead.version})
    form = LeadForm(request.POST or None, initial=initial, lead=lead)
    conflict = False
    if request.method == "POST" and form.is_valid():
        data = form.service_data(creating=False)
        data.pop("team", None)
        try:
            services.lead_update(
                actor=user,
                lead=lead,
                expected_version=form.cleaned_data["version"],
                data=data,
            )
        except ConflictError:
            conflict = True
        except ValidationError as exc:
            apply_validation_error(form, exc)
        else:
            messages.success(request, "Lead saved.")
            return redirect("lead_detail", pk=pk)
    status = 409 if conflict else (400 if request.method == "POST" else 200)
    context = {"form": form, "lead": lead, "conflict": conflict}
    return render(request, "leads/lead_form.html", context, status=status)


@require_POST
@login_required
@domain_errors
def lead_delete(request: HttpRequest, pk: int) -> HttpResponse:
    user = request_user(request)
    lead = selectors.lead_get(user=user, pk=pk)
    services.lead_delete(actor=user, lead=lead)
    messages.success(request, f"Lead “{lead}” deleted.")
    return redirect("lead_list")


@require_http_methods(["GET", "POST"])
@login_required
@domain_errors
def lead_convert(request: HttpRequest, pk: int) -> HttpResponse:
    """The conversion page: the customers this lead may already be (as the duplicate check
    finds them), a choice between each and a new record, and an optional opportunity."""
    user = request_user(request)
    lead = selectors.lead_get(user=user, pk=pk, action="change")
    if lead.is_converted:
        messages.error(request, "This lead is already converted.")
        return redirect("lead_detail", pk=pk)
    candidates = selectors.conversion_candidates(user=user, lead=lead)
    initial = {
        "version": lead.version,
        "contact": str(candidates.contacts[0]["record"].pk) if candidates.contacts else "new",
        "account": (
            str(candidates.accounts[0]["record"].pk)
            if candidates.accounts
            else ("new" if lead.company else "none")
        ),
        "opportunity_name": f"{lead.company or lead.full_name}: new business"[:200],
    }
    form = ConvertForm(request.POST or None, initial=initial)
    conflict = False
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        try:
            contact = account = None
            if isinstance(data["contact"], int):
                contact = Contact.objects.restrict(user, "view").get(pk=data["contact"])
            if isinstance(data["account"], int):
                account = customer_selectors.account_visible(user=user).get(pk=data["account"])
            opportunity = None
            if data["create_opportunity"]:
                opportunity = {"name": data["opportunity_name"] or ""}
                if data["amount"] is not None:
                    opportunity["amount"] = data["amount"]
                if data["expected_close_date"] is not None:
                    opportunity["expected_close_date"] = data["expected_close_date"]
            done = services.lead_convert(
                actor=user,
                lead=lead,
                contact=contact,
                account=account,
                create_account=data["account"] != "none",
                opportunity=opportunity,
                expected_version=data["version"],
            )
        except (Contact.DoesNotExist, Account.DoesNotExist):
            form.add_error(None, "Choose one of the proposed records or a new one.")
        except ConflictError:
            conflict = True
        except PermissionDeniedError as exc:
            form.add_error(None, f"{exc} Ask a manager to convert this lead.")
        except ValidationError as exc:
            apply_validation_error(form, exc)
        else:
            messages.success(request, f"Lead converted into {done.contact.full_name}.")
            return redirect("contact_detail", pk=done.contact.pk)
    context = {
        "lead": lead,
        "form": form,
        "candidates": candidates,
        "conflict": conflict,
        "may_add_opportunity": can(user, "opportunity.add"),
    }
    status = 409 if conflict else (400 if request.method == "POST" else 200)
    return render(request, "leads/lead_convert.html", context, status=status)


# --- rules, the model and the web forms ----------------------------------------------------


def _rule_page(request: HttpRequest, **context: Any) -> HttpResponse:
    user = request_user(request)
    model_row = selectors.scoring_model_current(user=user)
    context = {
        "scoring_rules": [
            (rule, scoring.rule_reason(rule)) for rule in selectors.scoring_rules_visible(user=user)
        ],
        "assignment_rules": [
            (rule, routing.describe(rule)) for rule in selectors.assignment_rules_visible(user=user)
        ],
        "model": model_row,
        "history_problem": scoring.history_problem(),
        "web_forms": [
            (form, capture.embed_snippet(form, request.build_absolute_uri("/")))
            for form in selectors.web_forms_visible(user=user)
        ],
        "may_add": can(user, "leadrule.add"),
        "may_change": can(user, "leadrule.change"),
        "may_delete": can(user, "leadrule.delete"),
        "scoring_form": context.pop("scoring_form", None) or ScoringRuleForm(),
        "assignment_form": context.pop("assignment_form", None) or AssignmentRuleForm(),
        **context,
    }
    status = context.pop("status", 200)
    return render(request, "leads/rules.html", context, status=status)


@login_required
@domain_errors
def rules(request: HttpRequest) -> HttpResponse:
    _require(request_user(request), "leadrule.view")
    return _rule_page(request)


@require_http_methods(["GET", "POST"])
@login_required
@domain_errors
def scoring_rule_edit(request: HttpRequest, pk: int | None = None) -> HttpResponse:
    """New (pk None) or edit scoring rule."""
    user = request_user(request)
    rule = selectors.scoring_rules_visible(user=user).get(pk=pk) if pk else None
    _require(user, "leadrule.change" if rule else "leadrule.add")
    initial = {}
    if rule is not None:
        initial = {n: getattr(rule, n) for n in services.RULE_FIELDS} | {"version": rule.version}
    form = ScoringRuleForm(request.POST or None, initial=initial)
    if request.method == "POST" and form.is_valid():
        data = {k: v for k, v in form.cleaned_data.items() if k != "version"}
        try:
            if rule is None:
                services.scoring_rule_create(actor=user, data=data)
            else:
                services.scoring_rule_update(
                    actor=user, rule=rule, expected_version=form.cleaned_data["version"], data=data
                )
        except ConflictError:
            form.add_error(None, "This rule was changed by someone else; reload it.")
        except ValidationError as exc:
            apply_validation_error(form, exc)
        else:
            messages.success(request, "Scoring rule saved; open leads are being rescored.")
            return redirect(reverse("lead_rules") + "#scoring")
    if rule is None and request.method == "POST":
        return _rule_page(request, scoring_form=form, status=400)
    status = 400 if request.method == "POST" else 200
    context = {"form": form, "rule": rule, "what": "scoring rule"}
    return render(request, "leads/rule_form.html", context, status=status)


@require_http_methods(["GET", "POST"])
@login_required
@domain_errors
def assignment_rule_edit(request: HttpRequest, pk: int | None = None) -> HttpResponse:
    user = request_user(request)
    rule = selectors.assignment_rules_visible(user=user).get(pk=pk) if pk else None
    _require(user, "leadrule.change" if rule else "leadrule.add")
    initial: dict[str, Any] = {}
    if rule is not None:
        initial = {n: getattr(rule, n) for n in services.ASSIGNMENT_FIELDS}
        initial.update({"owner": rule.owner_id, "team": rule.team_id, "version": rule.version})
    form = AssignmentRuleForm(request.POST or None, initial=initial)
    if request.method == "POST" and form.is_valid():
        data = {k: v for k, v in form.cleaned_data.items() if k != "version"}
        try:
            if rule is None:
                services.assignment_rule_create(actor=user, data=data)
            else:
                services.assignment_rule_update(
                    actor=user, rule=rule, expected_version=form.cleaned_data["version"], data=data
                )
        except ConflictError:
            form.add_error(None, "This rule was changed by someone else; reload it.")
        except ValidationError as exc:
            apply_validation_error(form, exc)
        else:
            messages.success(request, "Assignment rule saved.")
            return redirect(reverse("lead_rules") + "#assignment")
    if rule is None and request.method == "POST":
        return _rule_page(request, assignment_form=form, status=400)
    status = 400 if request.method == "POST" else 200
    context = {"form": form, "rule": rule, "what": "assignment rule"}
    return render(request, "leads/rule_form.html", context, status=status)


@require_POST
@login_required
@domain_errors
def rule_delete(request: HttpRequest, kind: str, pk: int) -> HttpResponse:
    user = request_user(request)
    if kind == "scoring":
        services.scoring_rule_delete(
            actor=user, rule=selectors.scoring_rules_visible(user=user).get(pk=pk)
        )
    else:
        services.assignment_rule_delete(
            actor=user, rule=selectors.assignment_rules_visible(user=user).get(pk=pk)
        )
    messages.success(request, "Rule deleted.")
    return redirect(reverse("lead_rules") + f"#{'scoring' if kind == 'scoring' else 'assignment'}")


@require_POST
@login_required
@domain_errors
def model_train(request: HttpRequest) -> HttpResponse:
    user = request_user(request)
    try:
        row = services.model_train(actor=user)
    except ValidationError as exc:
        messages.error(request, " ".join(exc.messages))
    else:
        messages.success(
            request, f"Model trained on {row.samples} leads; open leads are being rescored."
        )
    return redirect(reverse("lead_rules") + "#model")
