"""Commerce on other records' pages: the "Quotes and orders" card of accounts and contacts,
an opportunity's products (page and fragment) and a quote made from them."""

from __future__ import annotations

from typing import Any

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import ValidationError
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.views.decorators.http import require_http_methods, require_POST

from patron.core.exceptions import PermissionDeniedError
from patron.core.permissions import can, may_each
from patron.core.web import apply_validation_error, domain_errors, request_user
from patron.customers import selectors as customer_selectors
from patron.customers.models import Contact
from patron.sales.models import Opportunity

from .. import documents, selectors, services
from ..forms import (
    OpportunityProductForm,
)
from ..models import OpportunityProduct


@login_required
@domain_errors
def record_panel(request: HttpRequest, object_type: str, pk: int) -> HttpResponse:
    """The "Quotes and orders" card of an account or contact page."""
    user = request_user(request)
    if object_type == "account":
        record: Any = customer_selectors.account_visible(user=user).get(pk=pk)
    elif object_type == "contact":
        record = Contact.objects.restrict(user, "view").get(pk=pk)
    else:
        raise Http404("Unknown record type")
    quotes, orders = selectors.documents_for_record(user=user, object_type=object_type, pk=pk)
    context: dict[str, Any] = {
        "quotes": quotes,
        "orders": orders if can(user, "order.view") else [],
        "new_url": reverse("quote_create") + f"?account={pk}"
        if object_type == "account" and can(user, "quote.add")
        else "",
        "object_type": object_type,
    }
    if object_type == "account":
        limit = selectors.credit_limit_for(record)
        context["credit_limit"] = limit
        context["exposure"] = selectors.credit_exposure(record) if limit else None
        context["credit_url"] = (
            reverse("credit_limit_edit", args=[pk]) if can(user, "pricelist.change") else ""
        )
    return render(request, "commerce/partials/record_panel.html", context)


@require_http_methods(["GET", "POST"])
@login_required
@domain_errors
def opportunity_products(request: HttpRequest, pk: int) -> HttpResponse:
    """An opportunity's product lines: add and remove them (its amount follows), and start a
    quote that copies them."""
    user = request_user(request)
    opportunity = (
        Opportunity.objects.restrict(user, "view").select_related("account", "stage").get(pk=pk)
    )
    may_change = may_each(user, opportunity, ("change",))["change"]
    form = OpportunityProductForm(
        request.POST or None,
        products=selectors.products_visible(user=user).filter(is_active=True),
    )
    if request.method == "POST":
        if not may_change:
            raise PermissionDeniedError("You may not change this opportunity.")
        if form.is_valid():
            try:
                services.opportunity_product_add(
                    actor=user, opportunity=opportunity, data=form.service_data()
                )
            except ValidationError as exc:
                apply_validation_error(form, exc)
            else:
                messages.success(request, "Product added.")
                return redirect("opportunity_products", pk=pk)
    opportunity.refresh_from_db()
    context = {
        "opportunity": opportunity,
        "lines": list(selectors.opportunity_products(opportunity=opportunity)),
        "form": form if may_change else None,
        "may_quote": can(user, "quote.add"),
        "quotes": list(selectors.quotes_visible(user=user).filter(opportunity=opportunity)),
    }
    status = 400 if request.method == "POST" else 200
    return render(request, "commerce/opportunity_products.html", context, status=status)


@login_required
@domain_errors
def opportunity_products_panel(request: HttpRequest, object_type: str, pk: int) -> HttpResponse:
    """A fragment for the opportunity page (loaded with htmx): its product lines and links to
    manage them and to quote them."""
    user = request_user(request)
    if object_type != "opportunity":
        raise Http404("Products are shown on opportunities.")
    opportunity = Opportunity.objects.restrict(user, "view").get(pk=pk)
    context = {
        "opportunity": opportunity,
        "lines": list(selectors.opportunity_products(opportunity=opportunity)),
        "quotes": list(selectors.quotes_visible(user=user).filter(opportunity=opportunity)),
    }
    return render(request, "commerce/partials/opportunity_products_panel.html", context)


@require_POST
@login_required
@domain_errors
def opportunity_product_remove(request: HttpRequest, pk: int, line_pk: int) -> HttpResponse:
    user = request_user(request)
    opportunity = Opportunity.objects.restrict(user, "view").get(pk=pk)
    line = OpportunityProduct.objects.get(opportunity=opportunity, pk=line_pk)
    services.opportunity_product_remove(actor=user, line=line)
    messages.success(request, "Product removed.")
    return redirect("opportunity_products", pk=pk)


@require_POST
@login_required
@domain_errors
def quote_from_opportunity(request: HttpRequest, pk: int) -> HttpResponse:
    """A draft quote copying the opportunity's products, opened in the builder."""
    user = request_user(request)
    opportunity = Opportunity.objects.restrict(user, "view").get(pk=pk)
    try:
        quote = documents.quote_create(
            actor=user, data={"account": opportunity.account, "opportunity": opportunity}
        )
    except ValidationError as exc:
        messages.error(request, " ".join(exc.messages))
        return redirect("opportunity_products", pk=pk)
    messages.success(request, f"Quote {quote.number} created from the opportunity.")
    return redirect("quote_edit", pk=quote.pk)
