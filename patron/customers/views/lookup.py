"""The account picker: search-as-you-type lookup and the picker's chosen/cleared state.

Forms that point at an account (a contact's account link, an account's parent) never list
every account: they render `AccountPicker`, which asks these views for a handful of matches.
"""

from __future__ import annotations

from django.contrib.auth.decorators import login_required
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import render
from django.views.decorators.http import require_GET

from patron.core.web import domain_errors

from .. import selectors
from ..forms import picker_context

LOOKUP_LIMIT = 10
# The form fields that use the picker; anything else is refused rather than echoed back.
PICKER_FIELDS = {"account", "parent"}


def _field_and_exclude(request: HttpRequest) -> tuple[str, int | None]:
    field = request.GET.get("field") or ""
    if field not in PICKER_FIELDS:
        raise Http404("Unknown picker")
    exclude = request.GET.get("exclude") or ""
    return field, int(exclude) if exclude.isdigit() else None


@require_GET
@login_required
def account_lookup(request: HttpRequest) -> HttpResponse:
    """At most ten accounts visible to the user whose name, domain, email or phone match."""
    field, exclude = _field_and_exclude(request)
    query = (request.GET.get("q") or "").strip()
    accounts = (
        selectors.account_lookup(
            user=request.user, query=query, limit=LOOKUP_LIMIT, exclude_pk=exclude
        )
        if len(query) >= 2
        else []
    )
    return render(
        request,
        "customers/partials/account_lookup.html",
        {"q": query, "accounts": accounts, "field": field, "exclude": exclude or ""},
    )


@require_GET
@login_required
@domain_errors
def account_pick(request: HttpRequest) -> HttpResponse:
    """The picker with `pick` chosen (404 if the user may not see it), or cleared."""
    field, exclude = _field_and_exclude(request)
    pick = request.GET.get("pick") or ""
    name = ""
    if pick:
        if not pick.isdigit() or (exclude is not None and int(pick) == exclude):
            raise Http404("Not found")
        name = selectors.account_get_name(user=request.user, pk=int(pick))
    context = picker_context(
        name=field,
        value=pick if name else "",
        name_shown=name,
        exclude_pk=exclude,
        input_id=f"id_{field}",
    )
    context["picker"]["focus"] = "clear" if name else "search"
    return render(request, "customers/partials/account_picker.html", context)
