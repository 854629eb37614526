"""Contact and account pages: detail, create, edit (with conflict handling) and delete."""

from __future__ import annotations

from typing import Any, cast

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import ValidationError
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.views.decorators.http import require_http_methods, require_POST

from patron.core.custom_fields import definitions_for
from patron.core.exceptions import ConflictError
from patron.core.permissions import can, may, may_each
from patron.core.web import apply_validation_error, domain_errors, request_user

from .. import panels, selectors, services
from ..forms import (
    EMAIL_KINDS,
    PHONE_KINDS,
    AccountForm,
    ContactForm,
    ContactPointRows,
    RelationshipForm,
)
from ..models import Account, Contact
from .activity import timeline_context

CONFLICT_MESSAGE = {
    "contact": "This contact was changed by someone else since you opened it.",
    "account": "This account was changed by someone else since you opened it.",
}


def _custom_values(record: Contact | Account, definitions) -> list[tuple[Any, Any]]:
    values = record.custom_fields or {}
    return [(d, values.get(d.name)) for d in definitions]


# --- detail ---------------------------------------------------------------------------------


@login_required
@domain_errors
def contact_detail(request: HttpRequest, pk: int) -> HttpResponse:
    contact = selectors.contact_get(user=request.user, pk=pk)
    allowed = may_each(request.user, contact, ("change", "delete"))
    may_change = allowed["change"]
    context = {
        "record": contact,
        "contact": contact,
        "object_type": "contact",
        "may_change": may_change,
        "may_delete": allowed["delete"],
        "custom_values": _custom_values(contact, definitions_for("contact")),
        "relationships": list(contact.relationships.all()),
        "relationship_form": None,
        # `contact_get` read the contact through `restrict(view)`: the user may see it.
        **timeline_context(request, contact=contact, contact_visible=True),
        **_points_context(contact, may_change),
        "panels": panels.panels_for(request.user, "contact", contact.pk),
    }
    return render(request, "customers/contact_detail.html", context)


@login_required
@domain_errors
def account_detail(request: HttpRequest, pk: int) -> HttpResponse:
    account = selectors.account_get(user=request.user, pk=pk)
    allowed = may_each(request.user, account, ("change", "delete"))
    may_change = allowed["change"]
    context = {
        "record": account,
        "account": account,
        "object_type": "account",
        "may_change": may_change,
        "may_delete": allowed["delete"],
        "custom_values": _custom_values(account, definitions_for("account")),
        "members": list(selectors.account_members(user=request.user, account=account)),
        **timeline_context(request, account=account),
        **_points_context(account, may_change),
        "panels": panels.panels_for(request.user, "account", account.pk),
    }
    return render(request, "customers/account_detail.html", context)


def _points_context(record: Contact | Account, may_change: bool) -> dict[str, Any]:
    from .points import card_context

    return {
        "cards": [
            card_context(record, kind, may_change=may_change)
            for kind in ("email", "phone", "address")
        ]
    }


# --- create and edit ------------------------------------------------------------------------


def _form_context(request, *, object_type, form, record=None, rows=None, conflict=False):
    return {
        "form": form,
        "record": record,
        "object_type": object_type,
        "rows": rows,
        "email_kinds": EMAIL_KINDS,
        "phone_kinds": PHONE_KINDS,
        "conflict": conflict,
        "conflict_message": CONFLICT_MESSAGE[object_type],
        "custom_field_names": form.custom_field_names,
    }


def _parent_choices(user: Any, exclude: Account | None = None):
    """The accounts a parent may be: they validate the submitted id; the picker shows none of
    them up front (it searches `/accounts/lookup/`)."""
    qs = selectors.account_visible(user=user)
    if exclude is not None:
        qs = qs.exclude(pk=exclude.pk)
    return qs


@login_required
@domain_errors
@require_http_methods(["GET", "POST"])
def record_create(request: HttpRequest, object_type: str) -> HttpResponse:
    if not can(request.user, f"{object_type}.add"):
        from patron.core.exceptions import PermissionDeniedError

        raise PermissionDeniedError(f"Your role does not allow adding {object_type}s.")
    definitions = definitions_for(object_type)
    form_class = ContactForm if object_type == "contact" else AccountForm
    extra = {} if object_type == "contact" else {"parent_choices": _parent_choices(request.user)}
    data = request.POST if request.method == "POST" else None
    form = form_class(
        data,
        definitions=definitions,
        **extra,
        initial=None
        if data
        else {
            "owner": request.user.pk,
            "team": request_user(request).team_id,
            "lifecycle_stage": "lead",
        },
    )
    rows = ContactPointRows(data)
    if data is not None and form.is_valid():
        emails, phone_list = rows.for_service()
        create = services.contact_create if object_type == "contact" else services.account_create
        try:
            record = create(
                actor=request.user,
                data=form.service_data(creating=True),
                tags=form.tag_names(),
                emails=emails,
                phones=phone_list,
            )
        except ValidationError as exc:
            _apply_with_rows(form, rows, exc)
        else:
            messages.success(request, f"{record} was created.")
            return redirect(f"{object_type}_detail", pk=record.pk)
    context = _form_context(request, object_type=object_type, form=form, rows=rows)
    context["form_hints"] = panels.form_hints_for(object_type)
    return render(request, "customers/record_form.html", context)


def _apply_with_rows(form, rows: ContactPointRows, exc: ValidationError) -> None:
    """Email and phone errors go beside their section; the rest beside their field."""
    if hasattr(exc, "error_dict"):
        remaining = {}
        for key, messages_ in exc.message_dict.items():
            section = key.split(".", 1)[0]
            if section in ("emails", "phones"):
                rows.errors[section].extend(messages_)
            else:
                remaining[key] = messages_
        if not remaining:
            return
        exc = ValidationError(remaining)
    apply_validation_error(form, exc)


@login_required
@domain_errors
@require_http_methods(["GET", "POST"])
def record_edit(request: HttpRequest, object_type: str, pk: int) -> HttpResponse:
    get = selectors.contact_get if object_type == "contact" else selectors.account_get
    record = get(user=request.user, pk=pk, action="view")
    if not may(request.user, record, "change"):
        from patron.core.exceptions import PermissionDeniedError

        raise PermissionDeniedError(f"You may view this {object_type} but not edit it.")
    definitions = definitions_for(object_type)
    form_class = ContactForm if object_type == "contact" else AccountForm
    extra = (
        {}
        if object_type == "contact"
        else {"parent_choices": _parent_choices(request.user, exclude=cast(Account, record))}
    )
    conflict = False
    if request.method == "POST":
        form = form_class(request.POST, definitions=definitions, record=record, **extra)
        if form.is_valid():
            try:
                if object_type == "contact":
                    services.contact_update(
                        actor=request.user,
                        expected_version=form.cleaned_data.get("version"),
                        data=form.service_data(creating=False),
                        tags=form.tag_names(),
                        contact=cast(Contact, record),
                    )
                else:
                    services.account_update(
                        actor=request.user,
                        expected_version=form.cleaned_data.get("version"),
                        data=form.service_data(creating=False),
                        tags=form.tag_names(),
                        account=cast(Account, record),
                    )
            except ConflictError:
                conflict = True
            except ValidationError as exc:
                apply_validation_error(form, exc)
            else:
                messages.success(request, f"{record} was saved.")
                return redirect(f"{object_type}_detail", pk=record.pk)
    else:
        form = form_class(definitions=definitions, record=record, **extra)
    response = render(
        request,
        "customers/record_form.html",
        _form_context(
            request, object_type=object_type, form=form, record=record, conflict=conflict
        ),
    )
    if conflict:
        response.status_code = 409
    return response


@login_required
@domain_errors
@require_POST
def record_delete(request: HttpRequest, object_type: str, pk: int) -> HttpResponse:
    get = selectors.contact_get if object_type == "contact" else selectors.account_get
    record = get(user=request.user, pk=pk, action="view")
    name = str(record)
    if object_type == "contact":
        services.contact_delete(actor=request.user, contact=cast(Contact, record))
    else:
        services.account_delete(actor=request.user, account=cast(Account, record))
    messages.success(request, f"{name} was deleted.")
    return redirect(f"{object_type}_list")


@login_required
def point_row(request: HttpRequest, kind: str) -> HttpResponse:
    """One more empty email or phone row on the create form."""
    template = (
        "customers/partials/email_row.html"
        if kind == "email"
        else "customers/partials/phone_row.html"
    )
    return render(
        request, template, {"row": {}, "email_kinds": EMAIL_KINDS, "phone_kinds": PHONE_KINDS}
    )


# --- relationships (contact page) ---------------------------------------------------------


@login_required
@domain_errors
@require_http_methods(["GET", "POST"])
def relationship_add(request: HttpRequest, pk: int) -> HttpResponse:
    contact = selectors.contact_get(user=request.user, pk=pk)
    # Validates the picked id only; the picker never lists these (see views/lookup.py).
    accounts = selectors.account_visible(user=request.user)
    form = RelationshipForm(request.POST if request.method == "POST" else None, accounts=accounts)
    shown_form: RelationshipForm | None = form  # None once added: the card shows no form
    if request.method == "POST" and form.is_valid():
        try:
            services.relationship_add(
                actor=request.user,
                contact=contact,
                account=form.cleaned_data["account"],
                data={
                    "role": form.cleaned_data["role"],
                    "is_primary": form.cleaned_data["is_primary"],
                },
            )
        except ValidationError as exc:
            apply_validation_error(form, exc)
        else:
            shown_form = None
            contact = selectors.contact_get(user=request.user, pk=pk)
    return render(
        request,
        "customers/partials/relationships_card.html",
        {
            "contact": contact,
            "relationships": list(contact.relationships.all()),
            "relationship_form": shown_form,
            "may_change": True,
        },
    )


@login_required
@domain_errors
@require_POST
def relationship_remove(request: HttpRequest, pk: int, rel_pk: int) -> HttpResponse:
    contact = selectors.contact_get(user=request.user, pk=pk)
    relationship = contact.relationships.get(pk=rel_pk)
    services.relationship_delete(actor=request.user, relationship=relationship)
    contact = selectors.contact_get(user=request.user, pk=pk)
    return render(
        request,
        "customers/partials/relationships_card.html",
        {
            "contact": contact,
            "relationships": list(contact.relationships.all()),
            "relationship_form": None,
            "may_change": True,
        },
    )


def detail_url(record: Contact | Account) -> str:
    name = "contact_detail" if isinstance(record, Contact) else "account_detail"
    return reverse(name, args=[record.pk])
