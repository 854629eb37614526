"""The sales UI: the kanban board (moves by drag and drop), opportunity pages and forms, and
the "Opportunities" card on account and contact pages. Parse, call, render — nothing else."""

from __future__ import annotations

from typing import Any

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import ValidationError
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import timezone
from django.views.decorators.http import require_http_methods, require_POST

from patron.core.exceptions import ConflictError, PermissionDeniedError
from patron.core.permissions import can, may_each
from patron.core.web import apply_validation_error, domain_errors, request_user
from patron.customers import panels
from patron.customers import selectors as customer_selectors
from patron.customers.models import Account, Contact

from . import selectors, services
from .forms import MoveForm, OpportunityForm, contacts_for_account
from .models import Opportunity

CONFLICT_MESSAGE = (
    "This opportunity was changed by someone else since you opened the page, so it was "
    "not moved. The board now shows the latest version; try again if you still want to."
)


def _board_context(request: HttpRequest, pipeline_id: int | None) -> dict[str, Any]:
    user = request_user(request)
    pipeline = selectors.pipeline_for_board(user=user, pk=pipeline_id)
    mine = request.GET.get("owner") == "me" or request.POST.get("owner") == "me"
    columns = selectors.board(user=user, pipeline=pipeline, owner=user if mine else None)
    return {
        "pipeline": pipeline,
        "pipelines": list(selectors.pipelines_visible(user=user)),
        "columns": columns,
        "mine": mine,
        "today": timezone.localdate(),
        "may_add": can(user, "opportunity.add"),
        "may_move": can(user, "opportunity.change"),
    }


def _pipeline_param(value: str | None) -> int | None:
    if not value:
        return None
    if not value.isdigit() or len(value) > 18:
        raise Http404("Not found")
    return int(value)


@login_required
@domain_errors
def board(request: HttpRequest) -> HttpResponse:
    context = _board_context(request, _pipeline_param(request.GET.get("pipeline")))
    return render(request, "sales/board.html", context)


@require_POST
@login_required
@domain_errors
def board_move(request: HttpRequest, pk: int) -> HttpResponse:
    """A card dropped on a column: move it, answer the refreshed columns (with a message when
    the move was refused: a stale card, a lost deal without its reason, no permission)."""
    user = request_user(request)
    opportunity = selectors.opportunity_get(user=user, pk=pk)
    form = MoveForm(request.POST)
    error = ""
    status = 200
    if not form.is_valid():
        error = "The move could not be read; reload the board."
        status = 400
    else:
        stage = selectors.stage_visible(user=user).get(pk=form.cleaned_data["stage"])
        try:
            services.opportunity_move(
                actor=user,
                opportunity=opportunity,
                expected_version=form.cleaned_data["version"],
                stage=stage,
                reason=form.cleaned_data["reason"] or None,
            )
        except ConflictError:
            error = CONFLICT_MESSAGE
        except ValidationError as exc:
            error = " ".join(exc.messages)
        except PermissionDeniedError as exc:
            error = str(exc)
    context = _board_context(request, opportunity.pipeline_id)
    context["error"] = error
    if request.htmx:  # type: ignore[attr-defined]
        return render(request, "sales/partials/board_columns.html", context, status=status)
    if error:
        messages.error(request, error)
    return redirect(reverse("sales_board") + f"?pipeline={opportunity.pipeline_id}")


@login_required
@domain_errors
def opportunity_detail(request: HttpRequest, pk: int) -> HttpResponse:
    user = request_user(request)
    opportunity = selectors.opportunity_get(user=user, pk=pk)
    allowed = may_each(user, opportunity, ("change", "delete"))
    move_error = ""
    if request.method == "POST":
        if not allowed["change"]:
            raise PermissionDeniedError("You may not change this opportunity.")
        form = MoveForm(request.POST)
        if form.is_valid():
            stage = selectors.stage_visible(user=user).get(pk=form.cleaned_data["stage"])
            try:
                services.opportunity_move(
                    actor=user,
                    opportunity=opportunity,
                    expected_version=form.cleaned_data["version"],
                    stage=stage,
                    reason=form.cleaned_data["reason"] or None,
                )
                messages.success(request, f"Moved to {stage.name}.")
                return redirect("opportunity_detail", pk=pk)
            except ConflictError:
                move_error = CONFLICT_MESSAGE
                opportunity = selectors.opportunity_get(user=user, pk=pk)
            except ValidationError as exc:
                move_error = " ".join(exc.messages)
                opportunity = selectors.opportunity_get(user=user, pk=pk)
        else:
            move_error = "Choose a stage."
    context = {
        "opportunity": opportunity,
        "history": selectors.stage_history(opportunity=opportunity),
        "stages": list(opportunity.pipeline.stages.order_by("order", "id")),
        "may_change": allowed["change"],
        "may_delete": allowed["delete"],
        "move_error": move_error,
        "today": timezone.localdate(),
        "panels": panels.panels_for(user, "opportunity", opportunity.pk),
    }
    return render(
        request, "sales/opportunity_detail.html", context, status=400 if move_error else 200
    )


def _form(request: HttpRequest, opportunity: Opportunity | None, data: Any = None, **kw: Any):
    user = request_user(request)
    accounts = customer_selectors.account_visible(user=user)
    account: Account | None = opportunity.account if opportunity else None
    chosen = (data or {}).get("account") or request.GET.get("account")
    if chosen and str(chosen).isdigit():
        account = accounts.filter(pk=int(chosen)).first() or account
    contacts = contacts_for_account(Contact.objects.restrict(user, "view"), account)
    stages = selectors.stage_visible(user=user).order_by("pipeline__ordering", "pipeline", "order")
    return OpportunityForm(
        data,
        user=user,
        accounts=accounts,
        contacts=contacts,
        stages=stages,
        opportunity=opportunity,
        validate_url=reverse("opportunity_validate"),
        **kw,
    )


@require_POST
@login_required
@domain_errors
def opportunity_validate(request: HttpRequest) -> HttpResponse:
    """Inline validation: the errors of the input that changed (`HX-Trigger-Name`), swapped
    out of band beside it. Nothing is saved."""
    form = _form(request, None, request.POST)
    form.is_valid()
    name = getattr(request.htmx, "trigger_name", None) or ""  # type: ignore[attr-defined]
    if name not in form.fields:
        return HttpResponse("")
    return render(request, "sales/partials/field_errors.html", {"field": form[name], "oob": True})


@require_http_methods(["GET", "POST"])
@login_required
@domain_errors
def opportunity_create(request: HttpRequest) -> HttpResponse:
    user = request_user(request)
    if not can(user, "opportunity.add"):
        raise PermissionDeniedError("Your role does not allow adding opportunities.")
    initial: dict[str, Any] = {}
    if request.GET.get("account", "").isdigit():
        initial["account"] = request.GET["account"]
    if request.GET.get("stage", "").isdigit():
        initial["stage"] = request.GET["stage"]
    form = _form(request, None, request.POST or None, initial=initial)
    if request.method == "POST" and form.is_valid():
        try:
            opportunity = services.opportunity_create(
                actor=user, data=form.service_data(creating=True)
            )
        except ValidationError as exc:
            apply_validation_error(form, exc, {"reason": "__all__"})
        else:
            messages.success(request, f"Opportunity “{opportunity.name}” created.")
            return redirect("opportunity_detail", pk=opportunity.pk)
    status = 400 if request.method == "POST" else 200
    return render(request, "sales/opportunity_form.html", {"form": form}, status=status)


@require_http_methods(["GET", "POST"])
@login_required
@domain_errors
def opportunity_edit(request: HttpRequest, pk: int) -> HttpResponse:
    user = request_user(request)
    opportunity = selectors.opportunity_get(user=user, pk=pk, action="change")
    initial = {
        "name": opportunity.name,
        "account": opportunity.account_id,
        "primary_contact": opportunity.primary_contact_id,
        "amount": opportunity.amount,
        "currency": opportunity.currency,
        "expected_close_date": opportunity.expected_close_date,
        "owner": opportunity.owner_id,
        "next_step": opportunity.next_step,
        "next_step_date": opportunity.next_step_date,
        "version": opportunity.version,
    }
    form = _form(request, opportunity, request.POST or None, initial=initial)
    conflict = False
    if request.method == "POST" and form.is_valid():
        try:
            services.opportunity_update(
                actor=user,
                opportunity=opportunity,
                expected_version=form.cleaned_data["version"],
                data=form.service_data(creating=False),
            )
        except ConflictError:
            conflict = True
        except ValidationError as exc:
            apply_validation_error(form, exc)
        else:
            messages.success(request, "Opportunity saved.")
            return redirect("opportunity_detail", pk=pk)
    context = {"form": form, "opportunity": opportunity, "conflict": conflict}
    status = 409 if conflict else (400 if request.method == "POST" else 200)
    return render(request, "sales/opportunity_form.html", context, status=status)


@require_POST
@login_required
@domain_errors
def opportunity_delete(request: HttpRequest, pk: int) -> HttpResponse:
    user = request_user(request)
    opportunity = selectors.opportunity_get(user=user, pk=pk)
    services.opportunity_delete(actor=user, opportunity=opportunity)
    messages.success(request, f"Opportunity “{opportunity.name}” deleted.")
    return redirect("sales_board")


@login_required
@domain_errors
def opportunity_panel(request: HttpRequest, object_type: str, pk: int) -> HttpResponse:
    """The "Opportunities" card of an account or contact page."""
    user = request_user(request)
    if object_type == "account":
        account = customer_selectors.account_visible(user=user).get(pk=pk)
        rows = selectors.opportunities_for_account(user=user, account=account)
        new_url = reverse("opportunity_create") + f"?account={account.pk}"
    elif object_type == "contact":
        contact = Contact.objects.restrict(user, "view").get(pk=pk)
        rows = selectors.opportunities_for_contact(user=user, contact=contact)
        new_url = ""
    else:
        raise Http404("Unknown record type")
    context = {
        "opportunities": list(rows),
        "new_url": new_url if can(user, "opportunity.add") else "",
        "today": timezone.localdate(),
    }
    return render(request, "sales/partials/opportunity_panel.html", context)
