"""Catalogue pages: products (list, page with its prices, form), price lists and their
prices, and an account's credit limit. Parse, call the services, render — nothing else."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import ValidationError
from django.db.models import Q
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.views.decorators.http import require_http_methods, require_POST

from patron.core.exceptions import ConflictError, PermissionDeniedError
from patron.core.permissions import can
from patron.core.web import apply_validation_error, domain_errors, request_user, wants_partial
from patron.customers import selectors as customer_selectors

from .. import selectors, services
from ..forms import (
    CreditLimitForm,
    PriceForm,
    PriceListForm,
    ProductForm,
)
from ..models import PriceListItem
from .common import _page, _query_string


@login_required
@domain_errors
def product_list(request: HttpRequest) -> HttpResponse:
    user = request_user(request)
    if not can(user, "product.view"):
        raise PermissionDeniedError("Your role does not allow seeing products.")
    queryset = selectors.products_visible(user=user)
    q = request.GET.get("q", "").strip()[:100]
    if q:
        queryset = queryset.filter(Q(sku__icontains=q) | Q(name__icontains=q))
    status = request.GET.get("status", "active")
    if status == "active":
        queryset = queryset.filter(is_active=True)
    elif status == "inactive":
        queryset = queryset.filter(is_active=False)
    page = _page(request, queryset, ["name", "id"])
    context = {
        "page": page,
        "q": q,
        "status": status,
        "may_add": can(user, "product.add"),
        "next_query": _query_string(request, cursor=page.next_cursor),
        "previous_query": _query_string(request, cursor=page.previous_cursor),
    }
    partial = wants_partial(request)
    template = "commerce/partials/product_rows.html" if partial else "commerce/product_list.html"
    return render(request, template, context)


@login_required
@domain_errors
def product_detail(request: HttpRequest, pk: int) -> HttpResponse:
    user = request_user(request)
    product = selectors.product_get(user=user, pk=pk)
    may_price = can(user, "pricelist.change")
    form = None
    if may_price:
        form = PriceForm(
            request.POST or None,
            price_lists=selectors.price_lists_visible(user=user),
            products=selectors.products_visible(user=user).filter(pk=product.pk),
            initial={"product": product.pk},
        )
        if request.method == "POST" and form.is_valid():
            try:
                services.price_set(
                    actor=user,
                    price_list=form.cleaned_data["price_list"],
                    product=product,
                    unit_price=form.cleaned_data["unit_price"],
                    min_quantity=form.cleaned_data["min_quantity"] or Decimal(0),
                )
            except ValidationError as exc:
                apply_validation_error(form, exc)
            else:
                messages.success(request, "Price saved.")
                return redirect("product_detail", pk=pk)
    elif request.method == "POST":
        raise PermissionDeniedError("Your role does not allow changing prices.")
    context = {
        "product": product,
        "prices": list(selectors.product_prices(user=user, product=product)),
        "may_change": can(user, "product.change"),
        "price_form": form,
    }
    status = 400 if request.method == "POST" else 200
    return render(request, "commerce/product_detail.html", context, status=status)


@require_http_methods(["GET", "POST"])
@login_required
@domain_errors
def product_edit(request: HttpRequest, pk: int | None = None) -> HttpResponse:
    user = request_user(request)
    product = selectors.product_get(user=user, pk=pk) if pk is not None else None
    if not can(user, "product.change" if product else "product.add"):
        raise PermissionDeniedError("Your role does not allow managing products.")
    initial: dict[str, Any] = {}
    if product is not None:
        initial = {
            "sku": product.sku,
            "name": product.name,
            "description": product.description,
            "unit": product.unit,
            "unit_cost": product.unit_cost,
            "tax_rate": product.tax_rate_id,
            "is_active": product.is_active,
            "version": product.version,
        }
    tax_rates = selectors.tax_rates_visible(user=user).filter(
        Q(is_active=True) | Q(pk=getattr(product, "tax_rate_id", None))
    )
    form = ProductForm(request.POST or None, initial=initial, tax_rates=tax_rates)
    conflict = False
    if request.method == "POST" and form.is_valid():
        try:
            if product is None:
                product = services.product_create(actor=user, data=form.service_data())
                messages.success(request, f"Product {product.sku} created.")
            else:
                services.product_update(
                    actor=user,
                    product=product,
                    expected_version=form.cleaned_data["version"],
                    data=form.service_data(),
                )
                messages.success(request, "Product saved.")
        except ConflictError:
            conflict = True
        except ValidationError as exc:
            apply_validation_error(form, exc)
        else:
            return redirect("product_detail", pk=product.pk)
    context = {"form": form, "product": product, "conflict": conflict}
    status = 409 if conflict else (400 if request.method == "POST" else 200)
    return render(request, "commerce/product_form.html", context, status=status)


@login_required
@domain_errors
def price_list_list(request: HttpRequest) -> HttpResponse:
    user = request_user(request)
    if not can(user, "pricelist.view"):
        raise PermissionDeniedError("Your role does not allow seeing price lists.")
    context = {
        "price_lists": list(selectors.price_lists_visible(user=user)),
        "may_add": can(user, "pricelist.add"),
    }
    return render(request, "commerce/price_list_list.html", context)


@login_required
@domain_errors
def price_list_detail(request: HttpRequest, pk: int) -> HttpResponse:
    user = request_user(request)
    price_list = selectors.price_list_get(user=user, pk=pk)
    may_change = can(user, "pricelist.change")
    form = None
    if may_change:
        form = PriceForm(
            request.POST or None,
            price_lists=selectors.price_lists_visible(user=user).filter(pk=pk),
            products=selectors.products_visible(user=user).filter(is_active=True),
            initial={"price_list": pk},
        )
        if request.method == "POST" and form.is_valid():
            try:
                services.price_set(
                    actor=user,
                    price_list=price_list,
                    product=form.cleaned_data["product"],
                    unit_price=form.cleaned_data["unit_price"],
                    min_quantity=form.cleaned_data["min_quantity"] or Decimal(0),
                )
            except ValidationError as exc:
                apply_validation_error(form, exc)
            else:
                messages.success(request, "Price saved.")
                return redirect("price_list_detail", pk=pk)
    elif request.method == "POST":
        raise PermissionDeniedError("Your role does not allow changing prices.")
    context = {
        "price_list": price_list,
        "items": list(selectors.price_list_items(price_list=price_list)),
        "may_change": may_change,
        "price_form": form,
    }
    status = 400 if request.method == "POST" else 200
    return render(request, "commerce/price_list_detail.html", context, status=status)


@require_POST
@login_required
@domain_errors
def price_remove(request: HttpRequest, pk: int, item_pk: int) -> HttpResponse:
    user = request_user(request)
    price_list = selectors.price_list_get(user=user, pk=pk)
    item = PriceListItem.objects.get(price_list=price_list, pk=item_pk)
    services.price_remove(actor=user, item=item)
    messages.success(request, "Price removed.")
    return redirect("price_list_detail", pk=pk)


@require_http_methods(["GET", "POST"])
@login_required
@domain_errors
def price_list_edit(request: HttpRequest, pk: int | None = None) -> HttpResponse:
    user = request_user(request)
    price_list = selectors.price_list_get(user=user, pk=pk) if pk is not None else None
    if not can(user, "pricelist.change" if price_list else "pricelist.add"):
        raise PermissionDeniedError("Your role does not allow managing price lists.")
    initial: dict[str, Any] = {"currency": "EUR"}
    if price_list is not None:
        initial = {
            "name": price_list.name,
            "currency": price_list.currency,
            "is_default": price_list.is_default,
            "valid_from": price_list.valid_from,
            "valid_until": price_list.valid_until,
            "is_active": price_list.is_active,
            "version": price_list.version,
        }
    form = PriceListForm(request.POST or None, initial=initial)
    conflict = False
    if request.method == "POST" and form.is_valid():
        try:
            if price_list is None:
                price_list = services.price_list_create(actor=user, data=form.service_data())
            else:
                services.price_list_update(
                    actor=user,
                    price_list=price_list,
                    expected_version=form.cleaned_data["version"],
                    data=form.service_data(),
                )
        except ConflictError:
            conflict = True
        except ValidationError as exc:
            apply_validation_error(form, exc)
        else:
            messages.success(request, "Price list saved.")
            return redirect("price_list_detail", pk=price_list.pk)
    context = {"form": form, "price_list": price_list, "conflict": conflict}
    status = 409 if conflict else (400 if request.method == "POST" else 200)
    return render(request, "commerce/price_list_form.html", context, status=status)


@require_http_methods(["GET", "POST"])
@login_required
@domain_errors
def credit_limit_edit(request: HttpRequest, pk: int) -> HttpResponse:
    user = request_user(request)
    account = customer_selectors.account_visible(user=user).get(pk=pk)
    if not can(user, "pricelist.change"):
        raise PermissionDeniedError("Your role does not allow setting credit limits.")
    limit = selectors.credit_limit_for(account)
    initial = {
        "amount": limit.amount if limit else None,
        "currency": limit.currency if limit else "EUR",
    }
    form = CreditLimitForm(request.POST or None, initial=initial)
    if request.method == "POST" and form.is_valid():
        try:
            services.credit_limit_set(
                actor=user,
                account=account,
                amount=form.cleaned_data["amount"],
                currency=form.cleaned_data["currency"],
            )
        except ValidationError as exc:
            apply_validation_error(form, exc)
        else:
            messages.success(request, "Credit limit saved.")
            return redirect("account_detail", pk=pk)
    context = {
        "form": form,
        "account": account,
        "exposure": selectors.credit_exposure(account, limit.currency if limit else None),
    }
    status = 400 if request.method == "POST" else 200
    return render(request, "commerce/credit_limit_form.html", context, status=status)
