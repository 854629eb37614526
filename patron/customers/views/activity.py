"""Timelines, quick activities (call, note, task), task completion, history, home, search."""

from __future__ import annotations

from typing import Any, TypedDict

from django.contrib.auth.decorators import login_required
from django.core.exceptions import ValidationError
from django.db.models import Q
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import render
from django.utils import timezone
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from patron.core.permissions import can
from patron.core.web import apply_validation_error, domain_errors, request_user, wants_partial
from patron.utils.cursor import first_page, paginate

from .. import selectors, services, timeline
from ..forms import ACTIVITY_FORMS
from ..models import Account, Contact, TimelineEntry

TIMELINE_PAGE = 25
TIMELINE_ORDERING = ["-occurred_at", "-id"]


def _record(request: HttpRequest, object_type: str, pk: int) -> Contact | Account:
    if object_type == "contact":
        return selectors.contact_get(user=request.user, pk=pk)
    if object_type == "account":
        return selectors.account_get(user=request.user, pk=pk)
    raise Http404


class _RecordKwargs(TypedDict, total=False):
    contact: Contact
    account: Account


def _record_kwargs(record: Contact | Account) -> _RecordKwargs:
    """`contact=record` or `account=record`, for functions that take either."""
    if isinstance(record, Contact):
        return {"contact": record}
    return {"account": record}


def _kinds() -> list[timeline.TimelineKind]:
    return timeline.all_kinds()


def timeline_context(
    request: HttpRequest,
    *,
    contact: Contact | None = None,
    account: Account | None = None,
    contact_visible: bool = False,
) -> dict[str, Any]:
    """The first (or a later) page of a record's timeline, filtered by kind. `contact_visible`:
    the caller read `contact` through `restrict(user, "view")` in this request."""
    kind = request.GET.get("kind") or ""
    known = {k.key: k for k in _kinds()}
    if kind and kind not in known:
        kind = ""
    qs = selectors.timeline_for(
        user=request.user,
        contact=contact,
        account=account,
        kinds=[kind] if kind else None,
        known_visible=contact_visible,
    )
    cursor = request.GET.get("cursor") or None
    if (
        contact is not None
        and contact_visible
        and not kind
        and not cursor
        and not qs.query.is_empty()
    ):
        # The contact page's first page: the same rows by a statement written once.
        page = first_page(
            selectors.contact_timeline_head(contact=contact, limit=TIMELINE_PAGE + 1),
            ordering=TIMELINE_ORDERING,
            limit=TIMELINE_PAGE,
        )
    else:
        try:
            page = paginate(qs, ordering=TIMELINE_ORDERING, cursor=cursor, limit=TIMELINE_PAGE)
        except ValidationError:
            page = paginate(qs, ordering=TIMELINE_ORDERING, cursor=None, limit=TIMELINE_PAGE)
        if contact is not None and contact_visible:
            selectors.with_contact(page.items, contact)
    return {
        "entries": page.items,
        "timeline_page": page,
        "timeline_kind": kind,
        "kinds": list(known.values()),
        "kind_meta": known,
        "creatable_kinds": [k for k in ("call", "note", "task")],
        "may_log": can(request.user, "timeline.add"),
        "now": timezone.now(),
    }


@require_GET
@login_required
@domain_errors
def timeline_partial(request: HttpRequest, object_type: str, pk: int) -> HttpResponse:
    record = _record(request, object_type, pk)
    context = timeline_context(request, **_record_kwargs(record))
    context.update(record=record, object_type=object_type)
    template = (
        "customers/partials/timeline_entries_more.html"
        if request.GET.get("cursor")
        else "customers/partials/timeline.html"
    )
    return render(request, template, context)


@login_required
@domain_errors
@require_http_methods(["GET", "POST"])
def activity_create(request: HttpRequest, object_type: str, pk: int, kind: str) -> HttpResponse:
    """Log a call, add a note or a task; the new entry is prepended to the timeline."""
    record = _record(request, object_type, pk)
    form_class = ACTIVITY_FORMS.get(kind)
    if form_class is None:
        raise Http404
    form = form_class(request.POST if request.method == "POST" else None)
    context: dict[str, Any] = {
        "record": record,
        "object_type": object_type,
        "kind": kind,
        "kind_meta": {k.key: k for k in _kinds()},
    }
    if request.method == "POST" and form.is_valid():
        try:
            entry = services.timeline_entry_create(
                actor=request.user, kind=kind, **_record_kwargs(record), **form.service_kwargs()
            )
        except ValidationError as exc:
            apply_validation_error(form, exc, {"data.duration_seconds": "duration_minutes"})
        else:
            context.update(entry=entry, now=timezone.now())
            return render(request, "customers/partials/activity_created.html", context)
    context["form"] = form
    return render(request, "customers/partials/activity_form.html", context)


@login_required
@domain_errors
@require_POST
def task_toggle(request: HttpRequest, pk: int) -> HttpResponse:
    entry = (
        TimelineEntry.objects.restrict(request.user, "view")
        .select_related("contact", "account", "author", "assignee")
        .get(pk=pk)
    )
    done = request.POST.get("done") in ("on", "true", "1")
    entry = services.task_set_done(actor=request.user, entry=entry, done=done)
    template = (
        "customers/partials/task_row.html"
        if request.POST.get("where") == "home"
        else "customers/partials/timeline_entry.html"
    )
    return render(
        request,
        template,
        {
            "entry": entry,
            "task": entry,
            "now": timezone.now(),
            "kind_meta": {k.key: k for k in _kinds()},
        },
    )


@require_GET
@login_required
@domain_errors
def history_partial(request: HttpRequest, object_type: str, pk: int) -> HttpResponse:
    record = _record(request, object_type, pk)
    rows = selectors.history_rows(user=request.user, record=record, limit=200)
    return render(
        request,
        "customers/partials/history.html",
        {"rows": rows, "record": record, "object_type": object_type},
    )


# --- home and search ------------------------------------------------------------------------


@require_GET
@login_required
def home(request: HttpRequest) -> HttpResponse:
    user = request_user(request)
    tasks = list(selectors.open_tasks_for(user=user)[:20])
    mine = selectors.contact_visible(user=user).filter(owner=user)
    recent = list(
        TimelineEntry.objects.restrict(user, "view")
        .filter(Q(contact__owner=user) | Q(account__owner=user))
        .select_related("author", "contact", "account")
        .order_by("-occurred_at", "-id")[:10]
    )
    context = {
        "tasks": tasks,
        "recent": recent,
        "now": timezone.now(),
        "counts": {
            "contacts": mine.count(),
            "accounts": selectors.account_visible(user=user).filter(owner=user).count(),
            "open_tasks": selectors.open_tasks_for(user=user).count(),
            "overdue": selectors.open_tasks_for(user=user)
            .filter(due_at__lt=timezone.now())
            .count(),
        },
        "kind_meta": {k.key: k for k in _kinds()},
    }
    return render(request, "core/home.html", context)


@require_GET
@login_required
def global_search(request: HttpRequest) -> HttpResponse:
    query = (request.GET.get("q") or "").strip()
    results = (
        selectors.global_search(user=request.user, query=query)
        if len(query) >= 2
        else {"contacts": [], "accounts": []}
    )
    context = {"q": query, "results": results}
    if wants_partial(request):
        return render(request, "customers/partials/search_dropdown.html", context)
    return render(request, "customers/search.html", context)
