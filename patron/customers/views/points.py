"""Inline add / edit / delete of emails, phones and addresses on a record's page (htmx).

Every endpoint answers with the whole card, in the state asked for (a form open or not),
and the card replaces itself: simple to reason about and no client-side state.
"""

from __future__ import annotations

from typing import Any

from django import forms
from django.contrib.auth.decorators import login_required
from django.core.exceptions import ValidationError
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import render
from django.views.decorators.http import require_http_methods, require_POST

from patron.core.exceptions import ConflictError
from patron.core.permissions import may
from patron.core.web import apply_validation_error, domain_errors

from .. import selectors, services
from ..forms import AddressForm, EmailForm, PhoneForm
from ..models import Account, Contact, EmailAddress, PhoneNumber, PostalAddress

KINDS: dict[str, dict[str, Any]] = {
    "email": {
        "model": EmailAddress,
        "form": EmailForm,
        "title": "Emails",
        "icon": "mail",
        "related": "emailaddresss",
        "fields": ["email", "kind", "is_primary"],
    },
    "phone": {
        "model": PhoneNumber,
        "form": PhoneForm,
        "title": "Phones",
        "icon": "phone",
        "related": "phonenumbers",
        "fields": ["number", "extension", "kind", "is_primary"],
    },
    "address": {
        "model": PostalAddress,
        "form": AddressForm,
        "title": "Addresses",
        "icon": "pin",
        "related": "postaladdresss",
        "fields": [
            "kind",
            "street",
            "street2",
            "city",
            "region",
            "postal_code",
            "country",
            "is_primary",
        ],
    },
}


def card_context(
    record: Contact | Account,
    kind: str,
    *,
    may_change: bool,
    form: forms.Form | None = None,
    editing: Any = None,
) -> dict[str, Any]:
    spec = KINDS[kind]
    return {
        "kind": kind,
        "title": spec["title"],
        "icon_name": spec["icon"],
        "record": record,
        "object_type": "contact" if isinstance(record, Contact) else "account",
        "items": list(getattr(record, spec["related"]).all()),
        "may_change": may_change,
        "form": form,
        "editing": editing,
    }


def _record(request: HttpRequest, object_type: str, pk: int) -> Contact | Account:
    if object_type == "contact":
        return selectors.contact_get(user=request.user, pk=pk)
    if object_type == "account":
        return selectors.account_get(user=request.user, pk=pk)
    raise Http404


def _spec(kind: str) -> dict[str, Any]:
    if kind not in KINDS:
        raise Http404
    return KINDS[kind]


def _render(request, record, kind, **kwargs) -> HttpResponse:
    may_change = may(request.user, record, "change")
    if not may_change:
        kwargs.pop("form", None)
        kwargs.pop("editing", None)
    return render(
        request,
        "customers/partials/points_card.html",
        {"card": card_context(record, kind, may_change=may_change, **kwargs)},
    )


def _data(form: forms.Form, fields: list[str]) -> dict[str, Any]:
    return {name: form.cleaned_data[name] for name in fields}


@login_required
@domain_errors
@require_http_methods(["GET", "POST"])
def point_add(request: HttpRequest, object_type: str, pk: int, kind: str) -> HttpResponse:
    spec = _spec(kind)
    record = _record(request, object_type, pk)
    if request.method == "GET":
        return _render(request, record, kind, form=spec["form"]())
    form = spec["form"](request.POST)
    if form.is_valid():
        try:
            services.contact_point_add(
                actor=request.user,
                model=spec["model"],
                parent=record,
                data=_data(form, spec["fields"]),
            )
        except ValidationError as exc:
            apply_validation_error(form, exc)
        else:
            return _render(request, _record(request, object_type, pk), kind)
    return _render(request, record, kind, form=form)


@login_required
@domain_errors
@require_http_methods(["GET", "POST"])
def point_edit(
    request: HttpRequest, object_type: str, pk: int, kind: str, point_pk: int
) -> HttpResponse:
    spec = _spec(kind)
    record = _record(request, object_type, pk)
    point = (
        spec["model"]
        .objects.restrict(request.user, "view")
        .get(pk=point_pk, **{object_type: record})
    )
    if request.method == "GET":
        initial = {name: getattr(point, name) for name in spec["fields"]}
        initial["version"] = point.version
        return _render(request, record, kind, form=spec["form"](initial=initial), editing=point)
    form = spec["form"](request.POST)
    if form.is_valid():
        try:
            services.contact_point_update(
                actor=request.user,
                point=point,
                expected_version=form.cleaned_data.get("version"),
                data=_data(form, spec["fields"]),
            )
        except ConflictError:
            form.add_error(
                None,
                "Someone else changed this since you opened it. Cancel to see the latest version.",
            )
        except ValidationError as exc:
            apply_validation_error(form, exc)
        else:
            return _render(request, _record(request, object_type, pk), kind)
    return _render(request, record, kind, form=form, editing=point)


@login_required
@domain_errors
@require_POST
def point_delete(
    request: HttpRequest, object_type: str, pk: int, kind: str, point_pk: int
) -> HttpResponse:
    spec = _spec(kind)
    record = _record(request, object_type, pk)
    point = (
        spec["model"]
        .objects.restrict(request.user, "view")
        .get(pk=point_pk, **{object_type: record})
    )
    services.contact_point_delete(actor=request.user, point=point)
    return _render(request, _record(request, object_type, pk), kind)


@login_required
@domain_errors
def point_card(request: HttpRequest, object_type: str, pk: int, kind: str) -> HttpResponse:
    """The card in its resting state (the "Cancel" of an inline form)."""
    _spec(kind)
    return _render(request, _record(request, object_type, pk), kind)
