"""Quote and order pages: lists, the builder (header and lines added with htmx, live totals),
detail pages with their status actions and PDFs. Parse, call the services, render."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import ValidationError
from django.db.models import Q
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.views.decorators.http import require_http_methods, require_POST

from patron.core.exceptions import ConflictError, PermissionDeniedError
from patron.core.permissions import can, may_each
from patron.core.web import apply_validation_error, domain_errors, request_user
from patron.customers import panels
from patron.customers import selectors as customer_selectors
from patron.customers.models import Contact

from .. import documents, pdf, selectors
from ..forms import (
    LineForm,
    LineFormSet,
    OrderForm,
    QuoteForm,
    ReasonForm,
)
from ..models import Order, Quote
from .common import _page, _query_string

QUOTE_STATUSES = ["draft", "sent", "accepted", "declined", "expired"]
ORDER_STATUSES = [s.value for s in Order.Status]


@login_required
@domain_errors
def quote_list(request: HttpRequest) -> HttpResponse:
    user = request_user(request)
    if not can(user, "quote.view"):
        raise PermissionDeniedError("Your role does not allow seeing quotes.")
    status = request.GET.get("status", "")
    if status not in QUOTE_STATUSES:
        status = ""
    queryset = selectors.quote_filter(selectors.quotes_visible(user=user), status or None)
    q = request.GET.get("q", "").strip()[:100]
    if q:
        queryset = queryset.filter(Q(number__icontains=q) | Q(account__name__icontains=q))
    if request.GET.get("owner") == "me":
        queryset = queryset.filter(owner=user)
    page = _page(request, selectors.quotes_for_list(queryset), ["-created_at", "-id"])
    context = {
        "page": page,
        "status": status,
        "statuses": QUOTE_STATUSES,
        "q": q,
        "mine": request.GET.get("owner") == "me",
        "may_add": can(user, "quote.add"),
        "next_query": _query_string(request, cursor=page.next_cursor),
        "previous_query": _query_string(request, cursor=page.previous_cursor),
    }
    return render(request, "commerce/quote_list.html", context)


def _quote_forms(
    request: HttpRequest,
    quote: Quote | Order | None,
    *,
    initial: dict[str, Any],
    lines: list[dict],
    form_class: type[QuoteForm] = QuoteForm,
) -> tuple[QuoteForm, Any]:
    user = request_user(request)
    data = request.POST if request.method == "POST" else None
    accounts = customer_selectors.account_visible(user=user)
    account_id = (data.get("account") if data is not None else None) or initial.get("account")
    contacts = Contact.objects.restrict(user, "view")
    if quote is not None:
        account_id = quote.account_id
    if account_id and str(account_id).isdigit():
        contacts = contacts.filter(relationships__account_id=int(account_id)) | contacts.filter(
            pk=initial.get("contact") or 0
        )
    form = form_class(
        data,
        initial=initial,
        accounts=accounts,
        contacts=contacts.distinct(),
        price_lists=selectors.price_lists_visible(user=user).filter(is_active=True),
        editing=quote is not None,
    )
    products = selectors.products_visible(user=user).filter(is_active=True)
    formset = LineFormSet(data, initial=lines, prefix="lines", form_kwargs={"products": products})
    return form, formset


def _line_rows(formset: Any) -> list[dict[str, Any]]:
    return [
        form.row()
        for form in formset.forms
        if form.cleaned_data and not form.cleaned_data.get("DELETE")
    ]


def _apply_line_errors(formset: Any, exc: ValidationError) -> ValidationError | None:
    """Put `lines.N.field` errors beside their inputs; answer what is left for the form."""
    if not hasattr(exc, "error_dict"):
        return exc
    kept = [
        form for form in formset.forms if form.cleaned_data and not form.cleaned_data.get("DELETE")
    ]
    rest: dict[str, list[str]] = {}
    for key, messages_ in exc.message_dict.items():
        parts = key.split(".")
        if parts[0] == "lines" and len(parts) >= 2 and parts[1].isdigit():
            index = int(parts[1])
            if index < len(kept):
                name = parts[2] if len(parts) > 2 else None
                if name not in kept[index].fields:
                    name = None
                kept[index].add_error(name, messages_)
                continue
        rest[key] = messages_
    return ValidationError(rest) if rest else None


@require_http_methods(["GET", "POST"])
@login_required
@domain_errors
def quote_edit(request: HttpRequest, pk: int | None = None) -> HttpResponse:
    """The quote builder: the header and its lines (a row added with htmx per click)."""
    user = request_user(request)
    quote = selectors.quote_get(user=user, pk=pk, action="change") if pk is not None else None
    if quote is None and not can(user, "quote.add"):
        raise PermissionDeniedError("Your role does not allow adding quotes.")
    if quote is not None and not quote.is_editable:
        messages.error(request, "Only a draft quote can be changed.")
        return redirect("quote_detail", pk=quote.pk)
    initial: dict[str, Any] = {}
    lines: list[dict[str, Any]] = []
    if quote is not None:
        initial = {
            "account": quote.account_id,
            "contact": quote.contact_id,
            "price_list": quote.price_list_id,
            "currency": quote.currency,
            "discount_percent": quote.discount_percent,
            "valid_until": quote.valid_until,
            "terms": quote.terms,
            "notes": quote.notes,
            "version": quote.version,
        }
        lines = [
            {
                "product": line.product_id,
                "description": line.description,
                "quantity": line.quantity,
                "unit_price": line.unit_price,
                "discount_percent": line.discount_percent,
                "tax_rate": line.tax_rate,
            }
            for line in quote.lines.all()
        ]
    else:
        if request.GET.get("account", "").isdigit():
            initial["account"] = int(request.GET["account"])
        lines = [{"quantity": 1, "discount_percent": 0}]
    form, formset = _quote_forms(request, quote, initial=initial, lines=lines)
    return _document_form(
        request,
        form,
        formset,
        quote,
        "quote",
        create=lambda data, rows: documents.quote_create(actor=user, data=data, lines=rows),
        update=lambda quote, version, data, rows: documents.quote_update(
            actor=user, quote=quote, expected_version=version, data=data, lines=rows
        ),
        created="Quote {number} created.",
    )


@require_POST
@login_required
@domain_errors
def quote_preview(request: HttpRequest) -> HttpResponse:
    """htmx: the builder's live totals, priced as saving would price them; nothing is saved."""
    user = request_user(request)
    form, formset = _quote_forms(request, None, initial={}, lines=[])
    form.is_valid()  # the account may still be missing: the totals do not need it
    context: dict[str, Any] = {"problem": ""}
    if not formset.is_valid():
        context["problem"] = "Totals appear when every line is complete."
    else:
        data = {
            name: form.cleaned_data[name]
            for name in ("price_list", "currency", "discount_percent")
            if form.cleaned_data.get(name) not in (None, "")
        }
        if "currency" in data:
            data["currency"] = data["currency"].upper()
        try:
            lines, totals = documents.quote_preview(
                actor=user, data=data, lines=_line_rows(formset)
            )
        except ValidationError as exc:
            context["problem"] = " ".join(exc.messages[:3])
        else:
            context.update({"lines": lines, "totals": totals, "currency": totals.currency})
    return render(request, "commerce/partials/builder_totals.html", context)


@login_required
@domain_errors
def quote_line_row(request: HttpRequest) -> HttpResponse:
    """htmx: one more empty line for the builder, and the formset's count raised by one."""
    user = request_user(request)
    raw = request.GET.get("lines-TOTAL_FORMS", "0")
    index = int(raw) if raw.isdigit() and len(raw) < 4 else 0
    products = selectors.products_visible(user=user).filter(is_active=True)
    form = LineForm(
        prefix=f"lines-{index}", products=products, initial={"quantity": 1, "discount_percent": 0}
    )
    context = {"line": form, "total": index + 1}
    return render(request, "commerce/partials/line_row_added.html", context)


@login_required
@domain_errors
def quote_detail(request: HttpRequest, pk: int) -> HttpResponse:
    user = request_user(request)
    quote = selectors.quote_get(user=user, pk=pk)
    allowed = may_each(user, quote, ("change", "delete"))
    lines = list(quote.lines.all())
    context = {
        "quote": quote,
        "lines": lines,
        "totals": quote.totals(lines),
        "may_change": allowed["change"],
        "may_delete": allowed["delete"] and quote.is_editable,
        "may_accept": allowed["change"] and can(user, "order.add"),
        "order": Order.objects.restrict(user, "view").filter(quote=quote).first(),
    }
    return render(request, "commerce/quote_detail.html", context)


@require_POST
@login_required
@domain_errors
def quote_action(request: HttpRequest, pk: int, action: str) -> HttpResponse:
    """Send, accept, decline or delete a quote from its page."""
    user = request_user(request)
    quote = selectors.quote_get(user=user, pk=pk)
    form = ReasonForm(request.POST)
    form.is_valid()
    version = form.cleaned_data.get("version")
    reason = form.cleaned_data.get("reason") or ""
    try:
        if action == "send":
            documents.quote_send(actor=user, quote=quote, expected_version=version)
            messages.success(request, f"Quote {quote.number} marked as sent.")
        elif action == "accept":
            order = documents.quote_accept(actor=user, quote=quote, expected_version=version)
            messages.success(request, f"Quote accepted: order {order.number} created.")
            return redirect("order_detail", pk=order.pk)
        elif action == "decline":
            documents.quote_decline(
                actor=user, quote=quote, reason=reason, expected_version=version
            )
            messages.success(request, f"Quote {quote.number} declined.")
        elif action == "delete":
            documents.quote_delete(actor=user, quote=quote)
            messages.success(request, f"Quote {quote.number} deleted.")
            return redirect("quote_list")
        else:
            raise Http404("Unknown action")
    except ConflictError:
        messages.error(request, "This quote was changed by someone else; here is the latest.")
    except ValidationError as exc:
        messages.error(request, " ".join(exc.messages))
    return redirect("quote_detail", pk=pk)


@login_required
@domain_errors
def quote_pdf(request: HttpRequest, pk: int) -> HttpResponse:
    quote = selectors.quote_get(user=request_user(request), pk=pk)
    response = HttpResponse(pdf.quote_pdf(quote), content_type="application/pdf")
    response["Content-Disposition"] = f'inline; filename="{quote.number}.pdf"'
    return response


@login_required
@domain_errors
def order_list(request: HttpRequest) -> HttpResponse:
    user = request_user(request)
    if not can(user, "order.view"):
        raise PermissionDeniedError("Your role does not allow seeing orders.")
    status = request.GET.get("status", "")
    if status not in ORDER_STATUSES:
        status = ""
    queryset = selectors.orders_visible(user=user)
    if status:
        queryset = queryset.filter(status=status)
    q = request.GET.get("q", "").strip()[:100]
    if q:
        queryset = queryset.filter(
            Q(number__icontains=q)
            | Q(account__name__icontains=q)
            | Q(external_reference__icontains=q)
        )
    if request.GET.get("owner") == "me":
        queryset = queryset.filter(owner=user)
    page = _page(request, selectors.orders_for_list(queryset), ["-created_at", "-id"])
    context = {
        "page": page,
        "status": status,
        "statuses": ORDER_STATUSES,
        "q": q,
        "mine": request.GET.get("owner") == "me",
        "may_add": can(user, "order.add"),
        "next_query": _query_string(request, cursor=page.next_cursor),
        "previous_query": _query_string(request, cursor=page.previous_cursor),
    }
    return render(request, "commerce/order_list.html", context)


def _line_initial(document: Quote | Order) -> list[dict[str, Any]]:
    return [
        {
            "product": line.product_id,
            "description": line.description,
            "quantity": line.quantity,
            "unit_price": line.unit_price,
            "discount_percent": line.discount_percent,
            "tax_rate": line.tax_rate,
        }
        for line in document.lines.all()  # type: ignore[union-attr]
    ]


@require_http_methods(["GET", "POST"])
@login_required
@domain_errors
def order_edit(request: HttpRequest, pk: int | None = None) -> HttpResponse:
    """A draft order typed in (a phone or email order): the quote builder's form, where typed
    prices are kept; electronic orders come through the API instead."""
    user = request_user(request)
    order = selectors.order_get(user=user, pk=pk, action="change") if pk is not None else None
    if order is None and not can(user, "order.add"):
        raise PermissionDeniedError("Your role does not allow adding orders.")
    if order is not None and not order.is_editable:
        messages.error(request, "Only a draft order can be changed.")
        return redirect("order_detail", pk=order.pk)
    initial: dict[str, Any] = {}
    lines: list[dict[str, Any]] = [{"quantity": 1, "discount_percent": 0}]
    if order is not None:
        initial = {
            "account": order.account_id,
            "contact": order.contact_id,
            "price_list": order.price_list_id,
            "currency": order.currency,
            "discount_percent": order.discount_percent,
            "external_reference": order.external_reference,
            "notes": order.notes,
            "version": order.version,
        }
        lines = _line_initial(order)
    elif request.GET.get("account", "").isdigit():
        initial["account"] = int(request.GET["account"])
    form, formset = _quote_forms(request, order, initial=initial, lines=lines, form_class=OrderForm)
    return _document_form(
        request,
        form,
        formset,
        order,
        "order",
        create=lambda data, rows: documents.order_create(actor=user, data=data, lines=rows),
        update=lambda order, version, data, rows: documents.order_update(
            actor=user, order=order, expected_version=version, data=data, lines=rows
        ),
        created="Order {number} created as a draft.",
    )


@login_required
@domain_errors
def order_detail(request: HttpRequest, pk: int) -> HttpResponse:
    user = request_user(request)
    order = selectors.order_get(user=user, pk=pk)
    lines = list(order.lines.all())
    allowed = may_each(user, order, ("change",))
    next_steps = documents.ORDER_TRANSITIONS[order.status] if allowed["change"] else ()
    context = {
        "order": order,
        "lines": lines,
        "totals": order.totals(lines),
        "may_confirm": Order.Status.CONFIRMED in next_steps,
        "may_fulfil": Order.Status.FULFILLED in next_steps,
        "may_cancel": Order.Status.CANCELLED in next_steps,
        "may_edit": allowed["change"] and order.is_editable,
        "panels": panels.panels_for(user, "order", order.pk),
    }
    return render(request, "commerce/order_detail.html", context)


@require_POST
@login_required
@domain_errors
def order_action(request: HttpRequest, pk: int, action: str) -> HttpResponse:
    """Confirm, fulfil or cancel an order from its page."""
    user = request_user(request)
    order = selectors.order_get(user=user, pk=pk)
    form = ReasonForm(request.POST)
    form.is_valid()
    version = form.cleaned_data.get("version")
    services_by_action = {
        "confirm": documents.order_confirm,
        "fulfil": documents.order_fulfil,
        "cancel": documents.order_cancel,
    }
    service = services_by_action.get(action)
    if service is None:
        raise Http404("Unknown action")
    kwargs: dict[str, Any] = {"expected_version": version}
    if action == "cancel":
        kwargs["reason"] = form.cleaned_data.get("reason") or ""
    try:
        service(actor=user, order=order, **kwargs)
        order.refresh_from_db()
        messages.success(request, f"Order {order.number} is now {order.status}.")
    except ConflictError:
        messages.error(request, "This order was changed by someone else; here is the latest.")
    except ValidationError as exc:
        messages.error(request, " ".join(exc.messages))
    return redirect("order_detail", pk=pk)


@login_required
@domain_errors
def order_pdf(request: HttpRequest, pk: int) -> HttpResponse:
    order = selectors.order_get(user=request_user(request), pk=pk)
    response = HttpResponse(pdf.order_pdf(order), content_type="application/pdf")
    response["Content-Disposition"] = f'inline; filename="{order.number}.pdf"'
    return response


def _document_form(
    request: HttpRequest,
    form: Any,
    formset: Any,
    document: Any,
    kind: str,
    *,
    create: Callable[[dict[str, Any], list[dict[str, Any]]], Any],
    update: Callable[[Any, int, dict[str, Any], list[dict[str, Any]]], Any],
    created: str,
) -> HttpResponse:
    """The quote and order forms' save: create or update through the service, line errors
    shown on their rows, a stale version answered 409, the document's page on success."""
    conflict = False
    if request.method == "POST" and form.is_valid() and formset.is_valid():
        try:
            rows = _line_rows(formset)
            if document is None:
                document = create(form.service_data(creating=True), rows)
                messages.success(request, created.format(number=document.number))
            else:
                version = form.cleaned_data["version"]
                update(document, version, form.service_data(creating=False), rows)
                messages.success(request, f"{kind.capitalize()} saved.")
        except ConflictError:
            conflict = True
        except ValidationError as exc:
            rest = _apply_line_errors(formset, exc)
            if rest is not None:
                apply_validation_error(form, rest)
        else:
            return redirect(f"{kind}_detail", pk=document.pk)
    context = {
        "form": form,
        "formset": formset,
        "document": document,
        "kind": kind,
        "conflict": conflict,
    }
    status = 409 if conflict else (400 if request.method == "POST" else 200)
    return render(request, "commerce/document_form.html", context, status=status)
