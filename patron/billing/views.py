"""The billing UI: the invoice list (status, overdue and account filters), invoice pages with
their payments and actions, draft forms, the PDF, and the "Customer economics" card on account
and contact pages. Parse, call, render — nothing else."""

from __future__ import annotations

from decimal import Decimal
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
from patron.core.permissions import can, may
from patron.core.web import apply_validation_error, domain_errors, request_user, wants_partial
from patron.customers import selectors as customer_selectors
from patron.customers.models import Account, Contact
from patron.utils.cursor import paginate

from . import documents, selectors, services
from .filters import INVOICE_ORDERINGS, InvoiceFilterSet
from .forms import InvoiceForm, IssueForm, LineFormSet, PaymentForm, ReasonForm, line_rows
from .models import Invoice, Payment

LIST_PAGE = 50


def _int_param(value: str | None) -> int | None:
    if not value or not value.isdigit() or len(value) > 18:
        return None
    return int(value)


@login_required
@domain_errors
def invoice_list(request: HttpRequest) -> HttpResponse:
    user = request_user(request)
    if not can(user, "invoice.view"):
        raise PermissionDeniedError("Your role does not allow viewing invoices.")
    params = request.GET.copy()
    for name in list(params):
        if params.get(name) == "":
            del params[name]
    filterset = InvoiceFilterSet(params, queryset=selectors.invoice_visible(user=user))
    error = ""
    try:
        queryset = selectors.invoices_for_list(filterset.filtered())
    except ValidationError as exc:
        error = " ".join(exc.messages)
        queryset = selectors.invoices_for_list(selectors.invoice_visible(user=user).none())
    ordering = request.GET.get("ordering") or "-created"
    if ordering not in INVOICE_ORDERINGS:
        ordering = "-created"
    try:
        page = paginate(
            queryset,
            ordering=INVOICE_ORDERINGS[ordering],
            cursor=request.GET.get("cursor") or None,
            limit=LIST_PAGE,
        )
    except (ValidationError, ValueError, TypeError):
        page = paginate(queryset, ordering=INVOICE_ORDERINGS[ordering], cursor=None, limit=50)
    account = None
    account_id = _int_param(request.GET.get("account"))
    if account_id is not None:
        account = customer_selectors.account_visible(user=user).filter(pk=account_id).first()
    context = {
        "rows": page.items,
        "page": page,
        "params": request.GET,
        "statuses": Invoice.Status.choices,
        "account": account,
        "error": error,
        "today": timezone.localdate(),
        "overdue_count": selectors.invoices_overdue(user=user).count(),
        "may_add": can(user, "invoice.add"),
    }
    if wants_partial(request) and request.headers.get("HX-Target") == "list-results":
        return render(request, "billing/partials/invoice_results.html", context)
    return render(request, "billing/invoice_list.html", context)


def _header_form(request: HttpRequest, data: Any = None, **kwargs: Any) -> InvoiceForm:
    user = request_user(request)
    accounts = customer_selectors.account_visible(user=user)
    chosen = (data or {}).get("account") or request.GET.get("account") or ""
    contacts = Contact.objects.none()
    if str(chosen).isdigit():
        account = accounts.filter(pk=int(chosen)).first()
        if account is not None:
            contacts = (
                Contact.objects.restrict(user, "view")
                .filter(relationships__account=account)
                .distinct()
            )
    return InvoiceForm(data, accounts=accounts, contacts=contacts, **kwargs)


def _render_form(
    request: HttpRequest,
    form: InvoiceForm,
    lines: Any,
    invoice: Invoice | None,
    status: int,
    orders: bool = False,
) -> HttpResponse:
    context: dict[str, Any] = {"form": form, "lines": lines, "invoice": invoice}
    if orders:
        user = request_user(request)
        account_id = _int_param(request.GET.get("account") or request.POST.get("account"))
        account = None
        if account_id is not None:
            account = customer_selectors.account_visible(user=user).filter(pk=account_id).first()
        context["orders"] = list(selectors.orders_to_invoice(user=user, account=account)[:20])
    return render(request, "billing/invoice_form.html", context, status=status)


@require_http_methods(["GET", "POST"])
@login_required
@domain_errors
def invoice_create(request: HttpRequest) -> HttpResponse:
    """A draft with free lines (an order is invoiced from its own page in one click)."""
    user = request_user(request)
    if not can(user, "invoice.add"):
        raise PermissionDeniedError("Your role does not allow creating invoices.")
    initial: dict[str, Any] = {}
    if _int_param(request.GET.get("account")) is not None:
        initial["account"] = request.GET["account"]
    form = _header_form(request, request.POST or None, initial=initial)
    lines = LineFormSet(request.POST or None, prefix="lines")
    if request.method == "POST" and form.is_valid() and lines.is_valid():
        try:
            invoice = services.invoice_create(
                actor=user, data=form.service_data(), lines=line_rows(lines)
            )
        except ValidationError as exc:
            apply_validation_error(form, exc)
        else:
            messages.success(request, "Draft invoice created. Issue it when it is ready.")
            return redirect("invoice_detail", pk=invoice.pk)
    status = 400 if request.method == "POST" else 200
    return _render_form(request, form, lines, None, status, orders=True)


@login_required
@domain_errors
def invoice_contact_options(request: HttpRequest) -> HttpResponse:
    """The "Attention of" choices for the account just picked on the invoice form."""
    form = _header_form(request, {"account": request.GET.get("account", "")})
    return render(request, "billing/partials/contact_options.html", {"field": form["contact"]})


@require_POST
@login_required
@domain_errors
def invoice_from_order(request: HttpRequest, order_id: int) -> HttpResponse:
    """One click: a draft invoice copying the order, which is marked invoiced."""
    user = request_user(request)
    order = selectors.order_visible(user=user).get(pk=order_id)
    try:
        invoice = services.invoice_from_order(actor=user, order=order)
    except ValidationError as exc:
        messages.error(request, " ".join(exc.messages))
        return redirect(reverse("invoice_create") + f"?account={order.account_id}")
    messages.success(request, f"Draft invoice created from order {order.number}.")
    return redirect("invoice_detail", pk=invoice.pk)


@require_http_methods(["GET", "POST"])
@login_required
@domain_errors
def invoice_edit(request: HttpRequest, pk: int) -> HttpResponse:
    user = request_user(request)
    invoice = selectors.invoice_get(user=user, pk=pk, action="change")
    if not invoice.is_draft:
        messages.error(request, services.IMMUTABLE)
        return redirect("invoice_detail", pk=pk)
    initial = {
        "account": invoice.account_id,
        "contact": invoice.contact_id,
        "currency": invoice.currency,
        "issue_date": invoice.issue_date,
        "payment_terms_days": invoice.payment_terms_days,
        "discount_percent": invoice.discount_percent,
        "notes": invoice.notes,
        "version": invoice.version,
    }
    form = _header_form(request, request.POST or None, initial=initial)
    line_initial = [
        {name: getattr(line, name) for name in services.LINE_FIELDS} for line in invoice.lines.all()
    ]
    lines = LineFormSet(request.POST or None, prefix="lines", initial=line_initial)
    if request.method == "POST" and form.is_valid() and lines.is_valid():
        try:
            services.invoice_update(
                actor=user,
                invoice=invoice,
                expected_version=form.cleaned_data["version"],
                data=form.service_data(),
                lines=line_rows(lines),
            )
        except ConflictError:
            form.add_error(None, "This draft was changed by someone else; reload it.")
            return _render_form(request, form, lines, invoice, 409)
        except ValidationError as exc:
            apply_validation_error(form, exc)
        else:
            messages.success(request, "Draft saved.")
            return redirect("invoice_detail", pk=pk)
    status = 400 if request.method == "POST" else 200
    return _render_form(request, form, lines, invoice, status)


def _detail(
    request: HttpRequest, invoice: Invoice, *, payment_form: PaymentForm | None = None, status=200
) -> HttpResponse:
    user = request_user(request)
    may_change = may(user, invoice, "change")
    context = {
        "invoice": invoice,
        "lines": list(invoice.lines.all()),
        "payments": list(invoice.payments.all()),
        "credit_notes": list(invoice.credit_notes.all()),
        "may_change": may_change,
        "may_delete": invoice.is_draft and may(user, invoice, "delete"),
        "may_pay": can(user, "payment.add")
        and not invoice.is_credit_note
        and invoice.status in (Invoice.Status.ISSUED, Invoice.Status.PARTIALLY_PAID),
        "may_reverse": can(user, "payment.change"),
        "may_credit": may_change
        and can(user, "invoice.add")
        and not invoice.is_credit_note
        and invoice.status not in (Invoice.Status.DRAFT, Invoice.Status.VOID),
        "creditable": [
            (line, left) for line, left in selectors.creditable_lines(invoice).values() if left > 0
        ]
        if not invoice.is_credit_note and not invoice.is_draft
        else [],
        "payment_form": payment_form
        or PaymentForm(
            initial={
                "amount": invoice.balance if invoice.balance > 0 else None,
                "paid_on": timezone.localdate(),
            }
        ),
        "today": timezone.localdate(),
    }
    return render(request, "billing/invoice_detail.html", context, status=status)


@login_required
@domain_errors
def invoice_detail(request: HttpRequest, pk: int) -> HttpResponse:
    return _detail(request, selectors.invoice_get(user=request_user(request), pk=pk))


def _after(request: HttpRequest, pk: int, run: Any, success: str) -> HttpResponse:
    """Run an action; a refusal is shown as a message on the invoice page."""
    try:
        run()
    except ValidationError as exc:
        messages.error(request, " ".join(exc.messages))
    except ConflictError:
        messages.error(request, "This invoice was changed by someone else; look again.")
    else:
        messages.success(request, success)
    return redirect("invoice_detail", pk=pk)


@require_POST
@login_required
@domain_errors
def invoice_issue(request: HttpRequest, pk: int) -> HttpResponse:
    user = request_user(request)
    invoice = selectors.invoice_get(user=user, pk=pk)
    form = IssueForm(request.POST)
    version = form.cleaned_data["version"] if form.is_valid() else None
    return _after(
        request,
        pk,
        lambda: services.invoice_issue(actor=user, invoice=invoice, expected_version=version),
        "Invoice issued.",
    )


@require_POST
@login_required
@domain_errors
def invoice_void(request: HttpRequest, pk: int) -> HttpResponse:
    user = request_user(request)
    invoice = selectors.invoice_get(user=user, pk=pk)
    form = ReasonForm(request.POST)
    if not form.is_valid():
        messages.error(request, "Say why the invoice is voided.")
        return redirect("invoice_detail", pk=pk)
    reason = form.cleaned_data["reason"]
    return _after(
        request,
        pk,
        lambda: services.invoice_void(actor=user, invoice=invoice, reason=reason),
        "Invoice voided; a credit note was issued for it.",
    )


@require_POST
@login_required
@domain_errors
def invoice_credit(request: HttpRequest, pk: int) -> HttpResponse:
    """A credit note for the quantities given per line (`credit_<line id>`), or, with none
    given, for everything not yet credited."""
    user = request_user(request)
    invoice = selectors.invoice_get(user=user, pk=pk)
    form = ReasonForm(request.POST)
    if not form.is_valid():
        messages.error(request, "Say why the invoice is credited.")
        return redirect("invoice_detail", pk=pk)
    reason = form.cleaned_data["reason"]
    lines = None
    wanted: dict[int, str] = {}
    for name in request.POST:
        key = name.removeprefix("credit_")
        value = str(request.POST.get(name, "")).strip()
        if name.startswith("credit_") and key.isdigit() and len(key) <= 18 and value:
            wanted[int(key)] = value
    if wanted:
        by_id = selectors.creditable_lines(invoice)
        lines = []
        for line_id, text in wanted.items():
            try:
                quantity = Decimal(text)
            except ArithmeticError:
                messages.error(request, f"“{text}” is not a quantity.")
                return redirect("invoice_detail", pk=pk)
            if not quantity.is_finite():
                messages.error(request, f"“{text}” is not a quantity.")
                return redirect("invoice_detail", pk=pk)
            lines.append({"line": by_id.get(line_id, (None, 0))[0], "quantity": quantity})
    return _after(
        request,
        pk,
        lambda: services.credit_note_create(
            actor=user, invoice=invoice, reason=reason, lines=lines
        ),
        "Credit note issued.",
    )


@require_POST
@login_required
@domain_errors
def invoice_delete(request: HttpRequest, pk: int) -> HttpResponse:
    user = request_user(request)
    invoice = selectors.invoice_get(user=user, pk=pk)
    try:
        services.invoice_delete(actor=user, invoice=invoice)
    except ValidationError as exc:
        messages.error(request, " ".join(exc.messages))
        return redirect("invoice_detail", pk=pk)
    messages.success(request, "Draft deleted.")
    return redirect("invoice_list")


@require_POST
@login_required
@domain_errors
def payment_create(request: HttpRequest, pk: int) -> HttpResponse:
    user = request_user(request)
    invoice = selectors.invoice_get(user=user, pk=pk)
    form = PaymentForm(request.POST)
    if form.is_valid():
        try:
            services.payment_record(actor=user, invoice=invoice, data=form.cleaned_data)
        except ValidationError as exc:
            apply_validation_error(form, exc)
        else:
            messages.success(request, "Payment recorded.")
            return redirect("invoice_detail", pk=pk)
    return _detail(request, invoice, payment_form=form, status=400)


@require_POST
@login_required
@domain_errors
def payment_reverse(request: HttpRequest, pk: int) -> HttpResponse:
    user = request_user(request)
    payment: Payment = selectors.payment_get(user=user, pk=pk)
    form = ReasonForm(request.POST)
    if not form.is_valid():
        messages.error(request, "Say why the payment is reversed.")
        return redirect("invoice_detail", pk=payment.invoice_id)
    reason = form.cleaned_data["reason"]
    return _after(
        request,
        payment.invoice_id,
        lambda: services.payment_reverse(actor=user, payment=payment, reason=reason),
        "Payment reversed.",
    )


@login_required
@domain_errors
def invoice_pdf(request: HttpRequest, pk: int) -> HttpResponse:
    invoice = selectors.invoice_get(user=request_user(request), pk=pk)
    response = HttpResponse(documents.invoice_pdf(invoice), content_type="application/pdf")
    response["Content-Disposition"] = f'inline; filename="{documents.pdf_filename(invoice)}"'
    return response


@login_required
@domain_errors
def economics_panel(request: HttpRequest, object_type: str, pk: int) -> HttpResponse:
    """The "Customer economics" card of an account or contact page."""
    user = request_user(request)
    if not can(user, "invoice.view"):
        raise PermissionDeniedError("Your role does not allow viewing invoices.")
    list_url = ""
    if object_type == "account":
        account: Account = customer_selectors.account_visible(user=user).get(pk=pk)
        economics = selectors.economics_for_account(user=user, account=account)
        list_url = reverse("invoice_list") + f"?account={account.pk}"
        new_url = reverse("invoice_create") + f"?account={account.pk}"
    elif object_type == "contact":
        contact = Contact.objects.restrict(user, "view").get(pk=pk)
        economics = selectors.economics_for_contact(user=user, contact=contact)
        list_url = reverse("invoice_list") + f"?contact={contact.pk}"
        new_url = ""
    else:
        raise Http404("Unknown record type")
    context = {
        "economics": economics,
        "list_url": list_url,
        "new_url": new_url if can(user, "invoice.add") else "",
    }
    return render(request, "billing/partials/economics_panel.html", context)


@login_required
@domain_errors
def order_invoices_panel(request: HttpRequest, object_type: str, pk: int) -> HttpResponse:
    """The "Invoices" card of an order page: the order's invoices, and the one-click "Invoice
    this order" while it is confirmed or fulfilled and not invoiced yet."""
    user = request_user(request)
    if object_type != "order":
        raise Http404("Invoices are shown on orders.")
    order = selectors.order_visible(user=user).get(pk=pk)
    invoices = list(
        selectors.invoices_for_list(selectors.invoice_visible(user=user).filter(order=order))
    )
    may_invoice = (
        can(user, "invoice.add")
        and order.status in services.ORDER_INVOICEABLE
        and not any(i.status != Invoice.Status.VOID for i in invoices)
    )
    context = {"order": order, "invoices": invoices, "may_invoice": may_invoice}
    return render(request, "billing/partials/order_invoices_panel.html", context)
