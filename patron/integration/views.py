"""The import screens: sources, upload, the mapping step with its preview, live progress and
the report with its error file. Every write goes through `services`."""

from __future__ import annotations

from typing import Any

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied, ValidationError
from django.core.paginator import Paginator
from django.db import transaction
from django.db.models import Count
from django.http import Http404, HttpRequest, HttpResponse, StreamingHttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.views.decorators.http import require_http_methods, require_POST

from patron.core.permissions import can
from patron.core.web import apply_validation_error, domain_errors, request_user, wants_partial
from patron.utils.export import csv_response

from . import fields as fieldmod
from . import reports, selectors, services
from .forms import FileOptionsForm, SourceForm, UploadForm
from .models import ImportRun, QuarantinedRow, Source, SourceRecord


def _sources(request: HttpRequest, action: str = "view"):
    return Source.objects.restrict(request_user(request), action)


def _run(request: HttpRequest, pk: int, action: str = "view") -> ImportRun:
    return (
        ImportRun.objects.restrict(request_user(request), action)
        .select_related("source", "created_by", "parent")
        .get(pk=pk)
    )


# --- sources and the imports home -------------------------------------------------------------


@login_required
@domain_errors
def imports_home(request: HttpRequest) -> HttpResponse:
    user = request_user(request)
    if not can(user, "source.view"):
        raise PermissionDenied("You may not see imports.")
    sources = list(_sources(request).order_by("name"))
    runs = list(
        ImportRun.objects.restrict(user, "view")
        .select_related("source", "created_by")
        .order_by("-created_at", "-id")[:30]
    )
    return render(
        request,
        "integration/home.html",
        {
            "section": "imports",
            "sources": sources,
            "runs": [(run, reports.run_progress(run)) for run in runs],
            "may_import": can(user, "source.change"),
            "may_add_source": can(user, "source.add"),
            "any_active": any(run.is_active for run in runs),
        },
    )


@login_required
@domain_errors
@require_http_methods(["GET", "POST"])
def source_edit(request: HttpRequest, pk: int | None = None) -> HttpResponse:
    source = _sources(request, "change").get(pk=pk) if pk else None
    if source is None and not can(request_user(request), "source.add"):
        raise PermissionDenied("You may not add sources.")
    form = SourceForm(request.POST or None, instance=source)
    if request.method == "POST" and form.is_valid():
        data = {k: form.cleaned_data[k] for k in form.Meta.fields}
        try:
            if source is None:
                source = services.source_create(actor=request_user(request), data=data)
            else:
                source = services.source_update(
                    actor=request_user(request), source=source, data=data
                )
        except ValidationError as exc:
            apply_validation_error(form, exc)  # type: ignore[arg-type]
        else:
            messages.success(request, f"Source “{source.name}” saved.")
            return redirect("source_detail", pk=source.pk)
    return render(
        request,
        "integration/source_form.html",
        {"section": "imports", "form": form, "source": source},
    )


@login_required
@domain_errors
def source_detail(request: HttpRequest, pk: int) -> HttpResponse:
    source = _sources(request).get(pk=pk)
    runs = list(source.runs.select_related("created_by").order_by("-created_at", "-id")[:50])
    mapping = source.mappings.order_by("-updated_at").first()
    return render(
        request,
        "integration/source_detail.html",
        {
            "section": "imports",
            "source": source,
            "runs": [(run, reports.run_progress(run)) for run in runs],
            "mapping": mapping,
            "labels": fieldmod.describe(mapping.columns) if mapping else {},
            "record_count": source.records.count(),
            "may_change": can(request_user(request), "source.change"),
        },
    )


@login_required
@domain_errors
@require_POST
def source_sync(request: HttpRequest, pk: int) -> HttpResponse:
    """Pull a database source now (in the background)."""
    source = _sources(request, "change").get(pk=pk)
    try:
        services.source_sync_start(actor=request_user(request), source=source)
    except ValidationError as exc:
        messages.error(request, " ".join(exc.messages))
    else:
        messages.success(request, f"Syncing {source.name}: the new import appears below.")
    return redirect("source_detail", pk=source.pk)


@login_required
@domain_errors
@require_POST
def source_map(request: HttpRequest, pk: int) -> HttpResponse:
    """Open the mapping step for a database source (its saved mapping, or a suggestion)."""
    from .databases import database_run_start

    source = _sources(request, "change").get(pk=pk)
    try:
        run = database_run_start(actor=request_user(request), source=source)
    except ValidationError as exc:
        messages.error(request, " ".join(exc.messages))
        return redirect("source_detail", pk=source.pk)
    return redirect("import_map", pk=run.pk)


# --- lineage on a customer's page ------------------------------------------------------------


@login_required
@domain_errors
def record_lineage(request: HttpRequest, object_type: str, pk: int) -> HttpResponse:
    """The "Sources" panel of a contact or account: every row each system sent about it."""
    from patron.customers.models import Account, Contact

    user = request_user(request)
    model = {"contact": Contact, "account": Account}.get(object_type)
    if model is None:
        raise Http404("Unknown record type")
    record = model.objects.restrict(user, "view").get(pk=pk)
    records = list(
        SourceRecord.objects.restrict(user, "view")
        .filter(**{object_type: record})
        .select_related("source")
        .annotate(version_count=Count("versions"))
        .order_by("-source__trust_rank", "source__name", "source_key")
    )
    for item in records:
        item.payload_items = list(item.payload.items())
    return render(
        request,
        "integration/partials/lineage.html",
        {"record": record, "records": records, "object_type": object_type},
    )


# --- upload and mapping -----------------------------------------------------------------------


@login_required
@domain_errors
@require_http_methods(["GET", "POST"])
def import_upload(request: HttpRequest) -> HttpResponse:
    user = request_user(request)
    if not can(user, "source.change"):
        raise PermissionDenied("You may not import.")
    sources = _sources(request, "change")
    initial = {"source": request.GET.get("source")} if request.GET.get("source") else None
    form = UploadForm(request.POST or None, request.FILES or None, sources=sources, initial=initial)
    if request.method == "POST" and form.is_valid():
        try:
            # A file that cannot be read leaves no new source behind.
            with transaction.atomic(), selectors.file_errors("file"):
                source = form.cleaned_data["source"]
                if source is None:
                    source = services.source_create(
                        actor=user,
                        data={
                            "name": form.cleaned_data["new_source"].strip(),
                            "entity": form.cleaned_data["entity"] or Source.Entity.CONTACT,
                            "default_region": form.cleaned_data["default_region"],
                        },
                    )
                upload = form.cleaned_data["file"]
                if not upload.size:
                    raise ValidationError({"file": ["The file is empty."]})
                run = services.import_start(
                    actor=user, source=source, upload=upload, file_name=upload.name
                )
        except ValidationError as exc:
            apply_validation_error(form, exc, {"name": "new_source"})
        else:
            return redirect("import_map", pk=run.pk)
    return render(request, "integration/upload.html", {"section": "imports", "form": form})


def _columns_from_post(request: HttpRequest, run: ImportRun) -> list[dict[str, Any]]:
    columns = []
    for i, spec in enumerate(run.columns):
        options: dict[str, Any] = {}
        date_format = request.POST.get(f"format-{i}", "")
        if date_format:
            options["format"] = date_format
        region = request.POST.get(f"region-{i}", "").strip().upper()
        if region:
            options["region"] = region
        value_map = _parse_value_map(request.POST.get(f"valuemap-{i}", ""))
        if value_map:
            options["value_map"] = value_map
        columns.append(
            {
                "column": spec["column"],
                "target": request.POST.get(f"target-{i}", spec.get("target", "")),
                "transform": request.POST.get(f"transform-{i}", spec.get("transform", "")),
                "options": options,
            }
        )
    return columns


def _column_index(text: str, run: ImportRun) -> int:
    if not text.isdigit() or int(text) >= len(run.columns):
        raise ValidationError("That column is not in the file.")
    return int(text)


def _parse_value_map(text: str) -> dict[str, str]:
    """ "Y=true, N=false" → {"Y": "true", "N": "false"}."""
    result = {}
    for part in text.replace(";", ",").split(","):
        if "=" in part:
            key, _, value = part.partition("=")
            if key.strip():
                result[key.strip()] = value.strip()
    return result


def _value_map_text(options: dict[str, Any]) -> str:
    return ", ".join(f"{k}={v}" for k, v in (options.get("value_map") or {}).items())


def _mapping_context(
    run: ImportRun,
    errors: dict[str, list[str]] | None = None,
    *,
    may_create_fields: bool = False,
) -> dict:
    errors = dict(errors or {})
    try:
        preview = services.import_preview(run, rows=8)
    except selectors.READ_ERRORS as exc:
        preview = services.Preview(columns=[], rows=[], bad=[], normalised=[])
        errors.setdefault("__all__", []).append(f"The file cannot be read ({exc}).")
    except ValidationError as exc:  # a database source that cannot be reached just now
        preview = services.Preview(columns=[], rows=[], bad=[], normalised=[])
        errors.setdefault("__all__", []).extend(exc.messages)
    custom = services._custom_fields(run.source.entity)
    targets = fieldmod.targets_for(run.source.entity, custom.values())
    groups: dict[str, list[fieldmod.Target]] = {}
    for target in targets:
        groups.setdefault(target.group, []).append(target)
    kinds = {t.key: t.kind for t in targets}
    rows = []
    for i, spec in enumerate(run.columns):
        values = [str(r.get(spec["column"]) or "") for _, r in preview.rows]
        rows.append(
            {
                "index": i,
                "spec": spec,
                "samples": values[:3],
                "kind": kinds.get(spec.get("target") or "", ""),
                "value_map": _value_map_text(spec.get("options") or {}),
                "errors": errors.get(f"columns.{i}.target", []),
                "proposal": fieldmod.propose_field(spec["column"], values),
                "new_field_errors": errors.get(f"columns.{i}.newfield", []),
            }
        )
    normalised = []
    for item in preview.normalised:
        if isinstance(item, services.BadRow):
            normalised.append({"line": item.line, "bad": item})
        else:
            normalised.append(
                {"line": item.line, "values": _readable(item.values, custom), "row": item}
            )
    return {
        "run": run,
        "preview": preview,
        "groups": groups,
        "rows": rows,
        "transforms": fieldmod.TRANSFORMS,
        "new_field_types": fieldmod.NEW_FIELD_TYPES,
        "may_create_fields": may_create_fields,
        "date_formats": fieldmod.DATE_FORMATS,
        "normalised": normalised,
        "errors": errors,
        "general_errors": [
            message
            for key, messages in errors.items()
            if not key.startswith("columns.") and key not in ("encoding", "delimiter")
            for message in messages
        ],
    }


def _raw_text(raw: Any) -> str:
    """A quarantined row as received, for people: "column: value · column: value"."""
    if isinstance(raw, dict) and set(raw) == {"text"}:
        return str(raw["text"])
    if isinstance(raw, dict):
        return " · ".join(f"{k}: {v}" for k, v in raw.items() if v not in ("", None))
    if isinstance(raw, list):
        return " | ".join(str(v) for v in raw)
    return str(raw)


def _readable(values: dict[str, Any], custom: dict[str, Any]) -> list[tuple[str, str]]:
    """A preview row's values as labels and text: the fields' own labels (custom fields' too),
    yes/no for booleans, contact points by their addresses and numbers."""
    out = []
    for key, value in values.items():
        if key == "emails":
            value = ", ".join(e["email"] for e in value)
        elif key == "phones":
            value = ", ".join(p["e164"] for p in value)
        elif isinstance(value, bool):
            value = "Yes" if value else "No"
        elif isinstance(value, list):
            value = ", ".join(str(v) for v in value)
        found = fieldmod.target(key, custom)
        label = found.label if found else {"emails": "Emails", "phones": "Phones"}.get(key, key)
        out.append((label, str(value)))
    return out


@login_required
@domain_errors
@require_http_methods(["GET", "POST"])
def import_map(request: HttpRequest, pk: int) -> HttpResponse:
    """The mapping step: file settings, columns → fields, and a live preview."""
    user = request_user(request)
    run = _run(request, pk)
    if run.status != ImportRun.Status.DRAFT:
        return redirect("import_detail", pk=run.pk)
    errors: dict[str, list[str]] = {}
    options_form = FileOptionsForm(
        request.POST if request.POST.get("action") == "options" else None,
        initial=run.options,
        sheets=run.options.get("sheets") or [],
    )
    if request.method == "POST":
        action = request.POST.get("action", "preview")
        try:
            if action == "options" and options_form.is_valid():
                cleaned = {k: v for k, v in options_form.cleaned_data.items() if v != ""}
                cleaned["has_header"] = options_form.cleaned_data["has_header"]
                try:
                    with selectors.file_errors("encoding", settings="settings"):
                        run = services.import_configure(actor=user, run=run, options=cleaned)
                except ValidationError:
                    run.refresh_from_db()  # the settings that read the file stay
                    raise
                options_form = FileOptionsForm(
                    initial=run.options, sheets=run.options.get("sheets") or []
                )
            elif action.startswith("newfield-"):
                # Keep what the user chose for the other columns, then make the field.
                run = services.import_configure(
                    actor=user,
                    run=run,
                    columns=_columns_from_post(request, run),
                    match_by=request.POST.get("match_by") or run.match_by,
                )
                index = _column_index(action.removeprefix("newfield-"), run)
                column = run.columns[index]["column"]
                label = request.POST.get(f"newfield-label-{index}", "").strip()
                try:
                    run = services.import_map_to_new_field(
                        actor=user,
                        run=run,
                        column=column,
                        label=label,
                        field_type=request.POST.get(f"newfield-type-{index}", ""),
                    )
                except ValidationError as exc:
                    # Shown beside the column's new-field form.
                    raise ValidationError({f"columns.{index}.newfield": exc.messages}) from None
                messages.success(request, f"New field “{label}” created for column “{column}”.")
            elif action in ("preview", "start"):
                run = services.import_configure(
                    actor=user,
                    run=run,
                    columns=_columns_from_post(request, run),
                    match_by=request.POST.get("match_by") or run.match_by,
                )
                if action == "start":
                    services.import_enqueue(
                        actor=user, run=run, save_mapping=run.kind in ("file", "database")
                    )
                    return redirect("import_detail", pk=run.pk)
        except ValidationError as exc:
            errors = exc.message_dict if hasattr(exc, "error_dict") else {"__all__": exc.messages}
    context = {
        "section": "imports",
        "options_form": options_form,
        # Administrators may add a custom field for a column right here.
        **_mapping_context(run, errors, may_create_fields=user.has_patron_perm("settings.change")),
    }
    if wants_partial(request) and request.POST.get("action") == "preview":
        return render(request, "integration/partials/mapping_preview.html", context)
    return render(request, "integration/map.html", context)


# --- a run: progress, report, actions ---------------------------------------------------------


@login_required
@domain_errors
def import_detail(request: HttpRequest, pk: int) -> HttpResponse:
    run = _run(request, pk)
    progress = reports.run_progress(run)
    quarantined = Paginator(QuarantinedRow.objects.filter(run=run).order_by("line", "id"), 50)
    page = quarantined.get_page(request.GET.get("page"))
    for row in page:
        row.raw_text = _raw_text(row.raw)  # type: ignore[attr-defined]
    context = {
        "section": "imports",
        "run": run,
        "progress": progress,
        "problems": reports.top_problems(run),
        "quarantine_page": page,
        "may_change": can(request_user(request), "source.change"),
        "stale": run.status == ImportRun.Status.RUNNING
        and run.heartbeat_at is not None
        and run.heartbeat_at < services.timezone.now() - services.STALE_AFTER,
        "unresolved": QuarantinedRow.objects.filter(run=run, resolved_by=None).count(),
    }
    if wants_partial(request) and request.GET.get("part") == "progress":
        response = render(request, "integration/partials/run_progress.html", context)
        if not run.is_active:
            # The run ended: reload the whole page once to show the report.
            response["HX-Refresh"] = "true"
        return response
    return render(request, "integration/run_detail.html", context)


@login_required
@domain_errors
@require_POST
def import_action(request: HttpRequest, pk: int, action: str) -> HttpResponse:
    user = request_user(request)
    run = _run(request, pk)
    try:
        if action == "cancel":
            services.import_cancel(actor=user, run=run)
            messages.success(request, "The import stops after the batch it is writing.")
        elif action == "resume":
            services.import_resume(actor=user, run=run)
            messages.success(request, "The import continues from its last checkpoint.")
        elif action == "revert":
            report = services.import_revert(actor=user, run=run)
            text = f"Import reverted: {report.deleted} records removed, {report.restored} restored."
            if report.conflicts:
                text += f" {len(report.conflicts)} values changed since were kept."
            messages.success(request, text)
        elif action == "rerun":
            rerun = services.import_rerun_quarantined(actor=user, run=run)
            return redirect("import_map", pk=rerun.pk)
        else:
            raise ValidationError(f"Unknown action {action}.")
    except ValidationError as exc:
        messages.error(request, " ".join(exc.messages))
    return redirect("import_detail", pk=run.pk)


@login_required
@domain_errors
def import_errors(request: HttpRequest, pk: int) -> StreamingHttpResponse:
    """The error file: quarantined rows and flagged values, line by line, as CSV."""
    run = _run(request, pk)
    rows = reports.error_rows(run)
    header = next(rows)
    return csv_response(f"import-{run.pk}-errors.csv", header, rows)


def run_url(run: ImportRun) -> str:
    name = "import_map" if run.status == ImportRun.Status.DRAFT else "import_detail"
    return reverse(name, args=[run.pk])


# --- database sources: testing the connection --------------------------------------------------


@login_required
@domain_errors
@require_POST
def source_test_connection(request: HttpRequest, pk: int) -> HttpResponse:
    """Test a database source's connection: its query's columns and first rows on the source's
    page (in place with htmx), or what is wrong."""
    from .databases import source_test_connection as test_connection

    source = _sources(request, "change").get(pk=pk)
    result: dict[str, Any] | None = None
    error = ""
    try:
        result = test_connection(actor=request_user(request), source=source)
    except ValidationError as exc:
        error = " ".join(exc.messages)
    if wants_partial(request):
        return render(
            request,
            "integration/source_detail.html#connection_test",
            {"source": source, "connection": result, "connection_error": error},
        )
    if error:
        messages.error(request, f"The connection test failed: {error}")
    elif result is not None:
        messages.success(
            request,
            f"Connected to {result['database']}: the query returns "
            f"{len(result['columns'])} columns ({', '.join(result['columns'][:20])}).",
        )
    return redirect("source_detail", pk=source.pk)
