"""Every write of the integration app: sources, mappings, imports (start, run, cancel, resume,
revert, re-run quarantined rows). The UI, the API, the CLI and the jobs all call these."""

from __future__ import annotations

import datetime
import hashlib
import itertools
import re
import shutil
import time
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from django.conf import settings
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import transaction
from django.db.models import F, Q
from django.db.models.functions import Coalesce
from django.utils import timezone

from patron.core import audit, context
from patron.core.models import AuditEvent, CustomFieldDefinition
from patron.core.permissions import can, may
from patron.core.versioning import save_versioned

from . import fields as fieldmod
from . import readers
from .models import ImportRun, Mapping, QuarantinedRow, Source, SourceRecord
from .pipeline import BatchWriter, Prepared, RunLost, prepare
from .readers import BadRow, FileOptions
from .workers import PARALLEL_FROM, default_workers, prepared_batches

BATCH_SIZE = 2000  # rows a transaction when normalised in this process
PARALLEL_BATCH_SIZE = 5000  # when normalised in worker processes (large runs)
STALE_AFTER = datetime.timedelta(seconds=120)
SOURCE_FIELDS = [
    "name",
    "kind",
    "entity",
    "description",
    "default_region",
    "trust_rank",
    "connection_env",
    "query",
    "high_water_column",
    "sync_every_minutes",
]

Progress = Callable[[ImportRun], None]


def _require(actor: Any, permission: str) -> None:
    if not can(actor, permission):
        raise PermissionDenied(f"You may not do this ({permission}).")


def upload_dir() -> Path:
    return Path(settings.VAR_DIR) / "imports"


# --- sources ----------------------------------------------------------------------------------


@transaction.atomic
def source_create(*, actor: Any, data: dict[str, Any]) -> Source:
    from .databases import check_connection_change, validate_database_source

    _require(actor, "source.add")
    source = Source(**{k: v for k, v in data.items() if k in SOURCE_FIELDS})
    check_connection_change(actor=actor, saved={}, source=source)
    source.default_region = (source.default_region or "").upper()
    source.created_by = actor if getattr(actor, "pk", None) else None
    source.full_clean()
    if source.kind == Source.Kind.DATABASE:
        validate_database_source(source, partial=True)
    source.save()
    audit.record_create(actor=actor, obj=source, fields=SOURCE_FIELDS)
    return source


@transaction.atomic
def source_update(
    *, actor: Any, source: Source, data: dict[str, Any], expected_version: int | None = None
) -> Source:
    from .databases import CONNECTION_FIELDS, check_connection_change, validate_database_source

    if not may(actor, source, "change"):
        raise PermissionDenied("You may not change this source.")
    before = audit.snapshot(source, SOURCE_FIELDS)
    saved = {name: getattr(source, name) for name in CONNECTION_FIELDS}
    for name, value in data.items():
        if name in SOURCE_FIELDS:
            setattr(source, name, value)
    check_connection_change(actor=actor, saved=saved, source=source)
    source.default_region = (source.default_region or "").upper()
    source.full_clean()
    if source.kind == Source.Kind.DATABASE:
        validate_database_source(source, partial=True)
    save_versioned(source, expected_version=expected_version, fields=list(data))
    changes = audit.diff(before, audit.snapshot(source, SOURCE_FIELDS))
    if changes:
        audit.record(actor=actor, action="update", obj=source, changes=changes)
    return source


@transaction.atomic
def source_delete(*, actor: Any, source: Source) -> None:
    if not may(actor, source, "delete"):
        raise PermissionDenied("You may not delete this source.")
    if source.records.exists():
        raise ValidationError(
            "This source has sent records; revert its imports before deleting it, so that no "
            "customer value loses its origin."
        )
    audit.record_delete(actor=actor, obj=source, fields=SOURCE_FIELDS)
    source.runs.all().delete()
    source.delete()


def source_for_patron() -> Source:
    """The source that stands for values typed into Patron itself."""
    source, _ = Source.objects.get_or_create(
        name="Patron", defaults={"kind": Source.Kind.PATRON, "trust_rank": 100}
    )
    return source


# --- mappings ---------------------------------------------------------------------------------


def _custom_fields(entity: str) -> dict[str, CustomFieldDefinition]:
    return {d.name: d for d in CustomFieldDefinition.objects.filter(object_type=entity)}


def clean_columns(source: Source, columns: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Validate a mapping: known targets only, each single-valued target used once."""
    custom = _custom_fields(source.entity)
    allowed = {t.key for t in fieldmod.targets_for(source.entity, custom.values())}
    errors: dict[str, list[str]] = {}
    used: dict[str, str] = {}
    cleaned = []
    for i, spec in enumerate(columns):
        column = str(spec.get("column") or "")
        target = str(spec.get("target") or "")
        transform = str(spec.get("transform") or "")
        options = spec.get("options") or {}
        if not column:
            errors[f"columns.{i}.column"] = ["Name the column."]
            continue
        if target and target not in allowed:
            errors[f"columns.{i}.target"] = [f"'{target}' is not a field of this source."]
            continue
        if transform not in fieldmod.TRANSFORMS:
            errors[f"columns.{i}.transform"] = [f"Unknown transform '{transform}'."]
            continue
        if not isinstance(options, dict):
            errors[f"columns.{i}.options"] = ["Options must be an object."]
            continue
        multi = target.startswith(("email", "phone")) or target == "contact.full_name"
        if target and not multi:
            if target in used:
                errors[f"columns.{i}.target"] = [
                    f"'{target}' is already mapped from column '{used[target]}'."
                ]
                continue
            used[target] = column
        cleaned.append(
            {"column": column, "target": target, "transform": transform, "options": options}
        )
    if errors:
        raise ValidationError(errors)
    return cleaned


@transaction.atomic
def mapping_save(
    *,
    actor: Any,
    source: Source,
    columns: list[dict[str, Any]],
    options: dict[str, Any],
    match_by: str = "email",
    name: str = "Default",
) -> Mapping:
    if not may(actor, source, "change"):
        raise PermissionDenied("You may not change this source.")
    if match_by not in ("email", "none"):
        raise ValidationError({"match_by": ["Choose 'email' or 'none'."]})
    cleaned = clean_columns(source, columns)
    mapping, created = Mapping.objects.get_or_create(source=source, name=name)
    before = audit.snapshot(mapping, ["columns", "options", "match_by"])
    mapping.columns = cleaned
    mapping.options = {k: v for k, v in options.items() if k != "sheets"}
    mapping.match_by = match_by
    mapping.updated_at = timezone.now()
    mapping.save()
    changes = audit.diff(before, audit.snapshot(mapping, ["columns", "options", "match_by"]))
    if changes:
        audit.record(
            actor=actor, action="create" if created else "update", obj=mapping, changes=changes
        )
    return mapping


# --- imports: preparing -----------------------------------------------------------------------


@transaction.atomic
def import_start(*, actor: Any, source: Source, upload: Any, file_name: str) -> ImportRun:
    """Keep an uploaded file and open a draft run; `upload` is a file object or a Path."""
    if not may(actor, source, "change"):
        raise PermissionDenied("You may not import into this source.")
    _require(actor, f"{source.entity}.add")
    folder = upload_dir() / uuid.uuid4().hex
    folder.mkdir(parents=True, exist_ok=True)
    safe_name = Path(file_name).name or "upload"
    path = folder / safe_name
    if isinstance(upload, Path | str):
        shutil.copyfile(upload, path)
    else:
        with open(path, "wb") as out:
            if hasattr(upload, "chunks"):
                for chunk in upload.chunks():
                    out.write(chunk)
            else:
                shutil.copyfileobj(upload, out)
    digest = hashlib.sha256()
    with open(path, "rb") as fh:
        while chunk := fh.read(1 << 20):
            digest.update(chunk)
    options = readers.detect(path, safe_name)
    mapping = source.mappings.order_by("-updated_at").first()
    if mapping is not None and mapping.options.get("format") == options.format:
        # The source's saved settings win over detection (the same export parses the same
        # way) as far as they read this file: not against a byte-order mark, not an encoding
        # that cannot decode it, not a delimiter its first line does not have.
        saved = {k: v for k, v in mapping.options.items() if k != "sheet" or v in options.sheets}
        saved = _saved_options_that_fit(path, saved, options)
        options = FileOptions.from_dict({**options.as_dict(), **saved, "sheets": options.sheets})
    run = ImportRun(
        source=source,
        kind=ImportRun.Kind.FILE,
        mapping=mapping,
        file_path=str(path),
        file_name=safe_name,
        file_size=path.stat().st_size,
        file_hash=digest.hexdigest(),
        options={**options.as_dict(), "sheets": options.sheets},
        match_by=mapping.match_by if mapping else "email",
        created_by=actor if getattr(actor, "pk", None) else None,
    )
    run.columns = mapping.columns if mapping else []
    run.save()
    if run.columns:
        # The saved mapping fits only a file with the same columns (a source may send more
        # than one kind of export): otherwise start from a fresh suggestion.
        header, _ = readers.preview(path, file_options(run), rows=1)
        if not {c["column"] for c in run.columns if c.get("target")} <= set(header):
            run.columns = []
    if not run.columns:
        run.columns = suggest_columns(run)
        run.save(update_fields=["columns"])
    return run


_MARKED = ("utf-8-sig", "utf-16", "utf-16-le", "utf-16-be", "utf-32")


def _saved_options_that_fit(
    path: Path, saved: dict[str, Any], detected: FileOptions
) -> dict[str, Any]:
    fitting = dict(saved)
    encoding = str(saved.get("encoding") or "")
    delimiter = str(saved.get("delimiter") or "")
    check_encoding = bool(encoding) and encoding != detected.encoding
    check_delimiter = bool(delimiter) and delimiter != detected.delimiter
    if not (check_encoding or check_delimiter):
        return fitting
    size = 1 << 20
    with open(path, "rb") as fh:
        head = fh.read(size)
    # Whole lines only, so a character is not cut in two at the end.
    sample = head[: head.rfind(b"\n") + 1] if len(head) == size else head
    if check_encoding:
        # A byte-order mark, or valid UTF-8 beyond ASCII, says what the file is; otherwise
        # the saved encoding stands if it decodes the file.
        utf8 = detected.encoding in ("utf-8", "utf8") and not sample.isascii()
        if detected.encoding in _MARKED or utf8 or not _decodes(sample, encoding):
            fitting.pop("encoding")
            encoding = detected.encoding
    if check_delimiter:
        first = head[: 1 << 16].split(b"\n", 1)[0]
        try:
            line = first.decode(encoding or detected.encoding or "utf-8", "replace")
        except LookupError:
            line = ""
        if delimiter not in line:
            fitting.pop("delimiter")
    return fitting


def _decodes(sample: bytes, encoding: str) -> bool:
    try:
        sample.decode(encoding)
    except (UnicodeDecodeError, LookupError):
        return False
    return True


def file_options(run: ImportRun) -> FileOptions:
    return FileOptions.from_dict(run.options)


def suggest_columns(run: ImportRun) -> list[dict[str, Any]]:
    if run.kind == ImportRun.Kind.DATABASE:
        from .databases import database_mapping_suggest

        return database_mapping_suggest(run.source)
    columns, sample = readers.preview(Path(run.file_path), file_options(run), rows=50)
    rows = [r[1] for r in sample if not isinstance(r, BadRow)]
    if run.options.get("format") == "vcf":
        return _vcard_columns(columns, rows)
    return fieldmod.suggest(
        columns, rows, entity=run.source.entity, custom_fields=_custom_fields(run.source.entity)
    )


def _vcard_columns(columns: list[str], rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """vCards name their fields: map them directly. An email's or phone's column names its
    position and its kind from TYPE (`tel.2.work`, the card's second phone, a work one), and
    the kind picks the target (`phone.work`); a fax and the addresses after the first stay in
    the source record only (see VCARD_DEFAULT_MAPPING). UID is the key only when every card
    has one."""
    from .vcard import VCARD_DEFAULT_MAPPING, mapping_key, points_by_position

    every_card_has_uid = bool(rows) and all(r.get("uid") for r in rows)
    result = []
    for column in points_by_position(columns):
        target = VCARD_DEFAULT_MAPPING.get(mapping_key(column), "")
        if target == "source_key" and not every_card_has_uid:
            target = ""
        result.append({"column": column, "target": target, "transform": "", "options": {}})
    return result


@dataclass
class Preview:
    columns: list[str]
    rows: list[tuple[int, dict[str, Any]]]
    bad: list[BadRow]
    normalised: list[Prepared | BadRow]


def import_preview(run: ImportRun, rows: int = 10) -> Preview:
    """The first rows as read and as they would be imported with the run's mapping."""
    if run.kind == ImportRun.Kind.DATABASE:
        from .databases import preview as database_preview

        columns, sample = database_preview(run, rows=rows)
    elif run.kind == ImportRun.Kind.RERUN:
        # The quarantined rows it re-reads: their columns as the file named them.
        _, rows_from = _row_source(run)
        sample = list(itertools.islice(rows_from(0), rows))
        columns = list(
            dict.fromkeys(c for _, row in sample if isinstance(row, dict) for c in row)
        ) or [c["column"] for c in run.columns]
    else:
        columns, sample = readers.preview(Path(run.file_path), file_options(run), rows=rows)
    good = [r for r in sample if not isinstance(r, BadRow)]
    bad = [r for r in sample if isinstance(r, BadRow)]
    normaliser = _normaliser(run)
    key_column = _key_column(run)
    return Preview(
        columns=columns,
        rows=good,
        bad=bad,
        normalised=[prepare(line, row, normaliser, key_column) for line, row in good],
    )


@transaction.atomic
def import_configure(
    *,
    actor: Any,
    run: ImportRun,
    options: dict[str, Any] | None = None,
    columns: list[dict[str, Any]] | None = None,
    match_by: str | None = None,
) -> ImportRun:
    """Change how the draft run reads its file and maps its columns."""
    if not may(actor, run.source, "change"):
        raise PermissionDenied("You may not import into this source.")
    if run.status != ImportRun.Status.DRAFT:
        raise ValidationError("Only an import that has not started can be changed.")
    if options is not None:
        merged = {**run.options, **options}
        encoding = merged.get("encoding") or ""
        if merged.get("format") not in readers.FORMATS:
            raise ValidationError({"format": ["Choose CSV, Excel, JSON, JSON Lines or vCard."]})
        if merged["format"] in ("csv", "jsonl") and encoding:
            import codecs

            try:
                codecs.lookup(encoding)
            except LookupError:
                raise ValidationError({"encoding": [f"Unknown encoding '{encoding}'."]}) from None
        if merged["format"] == "csv" and len(str(merged.get("delimiter") or ",")) != 1:
            raise ValidationError({"delimiter": ["The delimiter is one character."]})
        run.options = merged
        if run.kind == ImportRun.Kind.FILE:
            # Another delimiter, sheet or header row means other columns: map them afresh.
            names, _ = readers.preview(Path(run.file_path), file_options(run), rows=1)
            if [c["column"] for c in run.columns] != names:
                run.columns = []
    if columns is not None:
        run.columns = clean_columns(run.source, columns)
    if match_by is not None:
        if match_by not in ("email", "none"):
            raise ValidationError({"match_by": ["Choose 'email' or 'none'."]})
        run.match_by = match_by
    run.save()
    if not run.columns:
        run.columns = suggest_columns(run)
        run.save(update_fields=["columns"])
    return run


def column_proposal(run: ImportRun, column: str) -> fieldmod.FieldProposal:
    """The custom field `propose_field` suggests for a column, from the run's first rows."""
    return fieldmod.propose_field(column, _column_values(run, column))


def _column_values(run: ImportRun, column: str, rows: int = 50) -> list[str]:
    preview = import_preview(run, rows=rows)
    return [str(values.get(column) or "") for _, values in preview.rows]


@transaction.atomic
def import_map_to_new_field(
    *, actor: Any, run: ImportRun, column: str, label: str, field_type: str
) -> ImportRun:
    """Create a custom field for a column of a draft import and map the column to it: the
    mapping step's “New field”, for a column none of Patron's fields fits. The field is
    created as an administrator would create it (`custom_field_create`: only administrators
    may, and it is audited); a date or number column keeps the format detected in its values."""
    from patron.core import services as core_services

    run = ImportRun.objects.select_for_update().get(pk=run.pk)
    if not may(actor, run.source, "change"):
        raise PermissionDenied("You may not import into this source.")
    if run.status != ImportRun.Status.DRAFT:
        raise ValidationError("Only an import that has not started can be changed.")
    index = next((i for i, c in enumerate(run.columns) if c["column"] == column), None)
    if index is None:
        raise ValidationError({"column": [f"The file has no column '{column}'."]})
    if field_type not in fieldmod.NEW_FIELD_TYPES:
        choices = ", ".join(fieldmod.NEW_FIELD_TYPES)
        raise ValidationError({"field_type": [f"Choose one of: {choices}."]})
    label = (label or "").strip()
    if not label:
        raise ValidationError({"label": ["Give the new field a name."]})
    entity = run.source.entity
    definition = core_services.custom_field_create(
        actor=actor,
        data={
            "object_type": entity,
            "name": _free_field_name(entity, label),
            "label": label,
            "field_type": field_type,
        },
    )
    proposal = column_proposal(run, column)
    fits = proposal.field_type == field_type
    columns = [dict(c) for c in run.columns]
    columns[index] = {
        "column": column,
        "target": f"custom.{definition.name}",
        "transform": proposal.transform if fits else "",
        "options": dict(proposal.options) if fits else {},
    }
    run.columns = clean_columns(run.source, columns)
    run.save(update_fields=["columns"])
    return run


def _free_field_name(entity: str, label: str) -> str:
    """A custom field name for `label` ("Customer since" → customer_since) that no field of
    `entity` has yet (customer_since_2 …)."""
    from patron.utils.text import fold

    base = re.sub(r"[^a-z0-9]+", "_", fold(label)).strip("_")[:40] or "field"
    if not base[0].isalpha():
        base = f"f_{base}"[:40]
    taken = set(
        CustomFieldDefinition.objects.filter(object_type=entity).values_list("name", flat=True)
    )
    name, n = base, 1
    while name in taken:
        n += 1
        name = f"{base}_{n}"
    return name


def import_enqueue(
    *, actor: Any, run: ImportRun, save_mapping: bool = True, background: bool = True
) -> ImportRun:
    """Save the mapping for next time and queue the run: for the background worker, or
    (`background=False`) for the caller to work with `import_process` (the CLI)."""
    with transaction.atomic():
        run = ImportRun.objects.select_for_update().get(pk=run.pk)
        if not may(actor, run.source, "change"):
            raise PermissionDenied("You may not import into this source.")
        if run.status != ImportRun.Status.DRAFT:
            raise ValidationError("This import has already started.")
        if not any(c.get("target") for c in run.columns):
            raise ValidationError({"columns": ["Map at least one column to a field."]})
        if save_mapping and run.kind in (ImportRun.Kind.FILE, ImportRun.Kind.DATABASE):
            run.mapping = mapping_save(
                actor=actor,
                source=run.source,
                columns=run.columns,
                options=run.options,
                match_by=run.match_by,
            )
        run.status = ImportRun.Status.QUEUED
        run.save(update_fields=["status", "mapping"])
        audit.record(
            actor=actor,
            action="create",
            obj=run,
            changes={"file_name": [None, run.file_name], "source": [None, run.source_id]},
        )
        if background:
            transaction.on_commit(lambda: _enqueue(run.pk))
    return run


def _enqueue(run_id: int) -> None:
    from .tasks import import_run_task

    import_run_task.enqueue(run_id)


def source_sync_start(*, actor: Any, source: Source) -> None:
    """Queue a pull of a database source that runs as `actor` (the job creates and works the
    run): its changes are audited under them and new rows join only the customers they may
    change."""
    if not may(actor, source, "change"):
        raise PermissionDenied("You may not sync this source.")
    _require(actor, f"{source.entity}.add")
    if source.kind != Source.Kind.DATABASE:
        raise ValidationError("Only database sources can be synced.")
    if ImportRun.objects.filter(
        source=source,
        status__in=[
            ImportRun.Status.QUEUED,
            ImportRun.Status.RUNNING,
            ImportRun.Status.CANCELLING,
        ],
    ).exists():
        raise ValidationError("A sync of this source is already running.")
    actor_id = getattr(actor, "pk", None)

    def enqueue() -> None:
        from .tasks import source_sync_task

        source_sync_task.enqueue(source.pk, actor_id)

    transaction.on_commit(enqueue)


# --- imports: running -------------------------------------------------------------------------


def _normaliser(run: ImportRun) -> fieldmod.RowNormaliser:
    return fieldmod.RowNormaliser(
        run.columns,
        entity=run.source.entity,
        default_region=run.source.default_region or _organisation_region(),
        custom_fields=_custom_fields(run.source.entity),
        vcard=(run.options or {}).get("format") == "vcf",
    )


def _organisation_region() -> str:
    from patron.core.permissions import organisation_settings

    return organisation_settings().default_phone_region or ""


# Quarantine reasons another mapping cannot fix: a re-run leaves these rows alone.
NOT_RERUNNABLE = ["undecodable", "invalid_json", "unreadable", "ragged", "nul_character"]


def _key_column(run: ImportRun) -> str:
    return next((c["column"] for c in run.columns if c.get("target") == "source_key"), "")


def _row_source(run: ImportRun) -> tuple[Any, Callable[[int], Iterator[Any]]]:
    """Where a run's rows come from: its file, its parent's quarantine, or a database."""
    if run.kind == ImportRun.Kind.RERUN:
        items = [
            (q.line, q.raw)
            for q in QuarantinedRow.objects.filter(run_id=run.parent_id, resolved_by=None)
            .exclude(reason__in=NOT_RERUNNABLE)
            .order_by("line", "id")
            if isinstance(q.raw, dict) and "text" not in q.raw
        ]
        return None, lambda skip: readers.iter_rows_from_list(items, skip)
    if run.kind == ImportRun.Kind.DATABASE:
        from .databases import DatabaseReader

        db_reader = DatabaseReader(run)
        return db_reader, db_reader.rows
    reader = readers.Reader(Path(run.file_path), file_options(run))
    return reader, reader.rows


def _estimate_total(run: ImportRun) -> int | None:
    if run.kind == ImportRun.Kind.DATABASE:
        from .databases import estimate_total

        return estimate_total(run)
    if run.kind == ImportRun.Kind.RERUN:
        return (
            QuarantinedRow.objects.filter(run_id=run.parent_id, resolved_by=None)
            .exclude(reason__in=NOT_RERUNNABLE)
            .count()
        )
    if run.kind != ImportRun.Kind.FILE or not run.file_path:
        return None
    path = Path(run.file_path)
    fmt = run.options.get("format")
    if fmt in ("csv", "jsonl"):
        lines = 0
        with open(path, "rb") as fh:
            while chunk := fh.read(1 << 20):
                lines += chunk.count(b"\n")
        with open(path, "rb") as fh:
            fh.seek(max(0, path.stat().st_size - 1))
            if fh.read(1) not in (b"\n", b""):
                lines += 1
        if run.options.get("encoding", "").startswith("utf-16"):
            lines = lines  # "\n" is 0x0A 0x00 in UTF-16-LE: counted once per line all the same
        return max(0, lines - (1 if fmt == "csv" and run.options.get("has_header", True) else 0))
    if fmt == "xlsx":
        from openpyxl import load_workbook

        workbook = load_workbook(path, read_only=True)
        try:
            sheet = workbook[run.options.get("sheet") or workbook.sheetnames[0]]
            return max(0, (sheet.max_row or 1) - 1)
        finally:
            workbook.close()
    return None


def _claim(run: ImportRun, token: str, *, force: bool) -> bool:
    now = timezone.now()
    claimable = Q(status=ImportRun.Status.QUEUED) | Q(
        status__in=[ImportRun.Status.RUNNING, ImportRun.Status.CANCELLING],
        heartbeat_at__lt=now - STALE_AFTER,
    )
    if force:
        claimable |= Q(status__in=[ImportRun.Status.RUNNING, ImportRun.Status.CANCELLING])
    return bool(
        ImportRun.objects.filter(claimable, pk=run.pk).update(
            status=ImportRun.Status.RUNNING,
            worker_token=token,
            heartbeat_at=now,
            started_at=Coalesce(F("started_at"), now),
            resumed_at=now,
            rows_at_resume=F("rows_done"),
        )
    )


def import_process(
    run_id: int,
    *,
    force: bool = False,
    progress: Progress | None = None,
    batch_size: int | None = None,
    workers: int | None = None,
) -> ImportRun:
    """Work a queued (or abandoned) run to its end, batch by batch, from its checkpoint.

    Safe to call twice: a run someone else is working is left alone (unless `force`), a
    finished run is returned as it is. Rows are normalised in `workers` processes (by
    default one per core for runs of `workers.PARALLEL_FROM` rows or more, else none);
    batches are written in file order either way.
    """
    run = ImportRun.objects.select_related("source", "created_by").get(pk=run_id)
    was_cancelling = run.status == ImportRun.Status.CANCELLING
    token = uuid.uuid4().hex
    if not _claim(run, token, force=force):
        return run
    run.refresh_from_db()
    if was_cancelling:
        _finish(run, token, ImportRun.Status.CANCELLED)
        return ImportRun.objects.get(pk=run.pk)
    actor = run.created_by
    with context.bind(origin="import", request_id=run.audit_request_id):
        try:
            if run.total_rows is None:
                total = _estimate_total(run)
                if total is not None:
                    ImportRun.objects.filter(pk=run.pk).update(total_rows=total)
                    run.total_rows = total
            writer = BatchWriter(run, actor=actor, token=token)
            reader, rows = _row_source(run)
            if workers is None:
                large = (run.total_rows or 0) - run.rows_done >= PARALLEL_FROM
                workers = default_workers() if large else 0
            if batch_size is None:
                batch_size = PARALLEL_BATCH_SIZE if workers else BATCH_SIZE
            batches = prepared_batches(
                rows(run.rows_done),
                normaliser=_normaliser(run),
                key_column=_key_column(run),
                batch_size=batch_size,
                consumed=run.rows_done,
                position=lambda: _bytes(reader, run),
                workers=workers,
            )
            try:
                for batch in batches:
                    last = batch.bytes_done < 0  # the file was read to its end
                    writer.write(
                        batch.items,
                        rows_consumed=batch.rows_consumed,
                        bytes_done=run.file_size if last else batch.bytes_done,
                    )
                    if last:
                        break
                    run.refresh_from_db()
                    if progress:
                        progress(run)
                    if run.status == ImportRun.Status.CANCELLING:
                        _finish(run, token, ImportRun.Status.CANCELLED)
                        return ImportRun.objects.get(pk=run.pk)
            finally:
                batches.close()  # stops the worker processes, if any
            if run.kind == ImportRun.Kind.DATABASE and reader is not None:
                reader.finish(run)
            _finish(run, token, ImportRun.Status.COMPLETED)
        except RunLost:
            return ImportRun.objects.get(pk=run.pk)
        except Exception as exc:
            ImportRun.objects.filter(pk=run.pk, worker_token=token).update(
                status=ImportRun.Status.FAILED,
                error=f"{type(exc).__name__}: {exc}"[:2000],
                finished_at=timezone.now(),
            )
            raise
    run = ImportRun.objects.get(pk=run.pk)
    if progress:
        progress(run)
    return run


def _bytes(reader: Any, run: ImportRun) -> int:
    return int(getattr(reader, "bytes_read", 0) or 0)


def _finish(run: ImportRun, token: str, status: str) -> None:
    now = timezone.now()
    ImportRun.objects.filter(pk=run.pk, worker_token=token).update(
        status=status, finished_at=now, heartbeat_at=now, worker_token=""
    )
    if status == ImportRun.Status.COMPLETED:
        done = ImportRun.objects.get(pk=run.pk)
        ImportRun.objects.filter(pk=run.pk).update(total_rows=done.rows_done)


@transaction.atomic
def import_cancel(*, actor: Any, run: ImportRun) -> ImportRun:
    if not may(actor, run.source, "change"):
        raise PermissionDenied("You may not cancel this import.")
    if run.status == ImportRun.Status.DRAFT or run.status == ImportRun.Status.QUEUED:
        ImportRun.objects.filter(pk=run.pk, status=run.status).update(
            status=ImportRun.Status.CANCELLED, finished_at=timezone.now()
        )
    elif run.status == ImportRun.Status.RUNNING:
        ImportRun.objects.filter(pk=run.pk, status=ImportRun.Status.RUNNING).update(
            status=ImportRun.Status.CANCELLING
        )
    else:
        raise ValidationError("Only a queued or running import can be cancelled.")
    run.refresh_from_db()
    return run


def import_resume(*, actor: Any, run: ImportRun, now: bool = False) -> ImportRun:
    """Continue a run that stopped (its process died, or it failed) from its checkpoint."""
    if not may(actor, run.source, "change"):
        raise PermissionDenied("You may not resume this import.")
    stale = run.heartbeat_at is None or run.heartbeat_at < timezone.now() - STALE_AFTER
    if run.status == ImportRun.Status.FAILED or (run.status == ImportRun.Status.RUNNING and stale):
        ImportRun.objects.filter(pk=run.pk).update(
            status=ImportRun.Status.QUEUED, error="", worker_token=""
        )
        if now:
            return import_process(run.pk)
        transaction.on_commit(lambda: _enqueue(run.pk))
        run.refresh_from_db()
        return run
    raise ValidationError("Only a failed import, or one whose process stopped, can be resumed.")


def imports_recover() -> list[int]:
    """Queue again every run whose process died (no heartbeat for a while); for the worker."""
    stale = ImportRun.objects.filter(
        status__in=[ImportRun.Status.RUNNING, ImportRun.Status.CANCELLING],
        heartbeat_at__lt=timezone.now() - STALE_AFTER,
    ).values_list("pk", flat=True)
    ids = list(stale)
    for run_id in ids:
        _enqueue(run_id)
    return ids


# --- re-running quarantined rows --------------------------------------------------------------


@transaction.atomic
def import_rerun_quarantined(
    *, actor: Any, run: ImportRun, columns: list[dict[str, Any]] | None = None
) -> ImportRun:
    """A new draft run over the rows `run` quarantined, with a (fixed) mapping."""
    if not may(actor, run.source, "change"):
        raise PermissionDenied("You may not import into this source.")
    if run.status not in (ImportRun.Status.COMPLETED, ImportRun.Status.CANCELLED):
        raise ValidationError("Re-run the quarantined rows once the import has finished.")
    rerun = ImportRun.objects.create(
        source=run.source,
        kind=ImportRun.Kind.RERUN,
        parent=run,
        mapping=run.mapping,
        columns=clean_columns(run.source, columns) if columns is not None else run.columns,
        options={**run.options},
        match_by=run.match_by,
        file_name=f"Quarantined rows of import #{run.pk}",
        created_by=actor if getattr(actor, "pk", None) else None,
    )
    return rerun


# --- revert -----------------------------------------------------------------------------------


@dataclass
class RevertReport:
    deleted: int = 0
    restored: int = 0
    conflicts: list[str] | None = None


def import_revert(*, actor: Any, run: ImportRun) -> RevertReport:
    """Undo everything `run` created or changed, newest first, from its audit events and the
    source-record versions it replaced. A value someone changed after the import is kept and
    reported as a conflict rather than overwritten."""
    from .revert import revert_run

    if not may(actor, run.source, "change"):
        raise PermissionDenied("You may not revert this import.")
    if run.status not in (
        ImportRun.Status.COMPLETED,
        ImportRun.Status.CANCELLED,
        ImportRun.Status.FAILED,
    ):
        raise ValidationError("Only a finished, cancelled or failed import can be reverted.")
    # The revert's own changes carry the run's revert id, so that a later revert of an
    # earlier import can tell them from changes people made.
    with (
        transaction.atomic(),
        context.bind(origin=context.current().origin, request_id=f"revert-{run.pk}"),
    ):
        report = revert_run(run, actor=actor)
        ImportRun.objects.filter(pk=run.pk).update(status=ImportRun.Status.REVERTED)
        audit.record(
            actor=actor,
            action=AuditEvent.Action.UPDATE,
            obj=run,
            changes={"status": [run.status, ImportRun.Status.REVERTED]},
        )
    return report


def wait_for(run: ImportRun, timeout: float = 60) -> ImportRun:
    """Poll until the run stops (for the CLI when a worker runs the job)."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        run.refresh_from_db()
        if not run.is_active:
            break
        time.sleep(0.5)
    return run


def source_records_for(run: ImportRun):
    return SourceRecord.objects.filter(last_run=run)


# --- rows sent through the API ----------------------------------------------------------------


@dataclass
class ItemOutcome:
    index: int
    source_key: str
    status: str  # created, matched, updated, unchanged, quarantined
    record_id: int | None
    problems: list[dict[str, str]]
    reason: str = ""
    message: str = ""


def _cell_text(value: Any) -> str:
    """A JSON value of the bulk API as the text a file would hold: 7 and 7.0 are both "7"
    (the same key), true is "true"."""
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value)


def import_rows(
    *,
    actor: Any,
    source: Source,
    rows: list[dict[str, Any]],
    columns: list[dict[str, Any]] | None = None,
    match_by: str = "email",
) -> tuple[ImportRun, list[ItemOutcome]]:
    """Upsert rows sent by a program, synchronously, through the same mapping, validation and
    staging as a file; one run per call, one outcome per row (index = position in `rows`).

    Without `columns`, each row's keys are Patron's target names (`source_key`,
    `contact.first_name`, `email`, `custom.tier`…).
    """
    if not may(actor, source, "change"):
        raise PermissionDenied("You may not import into this source.")
    _require(actor, f"{source.entity}.add")
    if columns is None:
        keys = list(dict.fromkeys(k for row in rows for k in row))
        columns = [{"column": k, "target": k, "transform": "", "options": {}} for k in keys]
    cleaned = clean_columns(source, columns)
    token = uuid.uuid4().hex
    now = timezone.now()
    run = ImportRun.objects.create(
        source=source,
        kind=ImportRun.Kind.API,
        columns=cleaned,
        match_by=match_by,
        file_name=f"API batch of {len(rows)}",
        status=ImportRun.Status.RUNNING,
        total_rows=len(rows),
        worker_token=token,
        heartbeat_at=now,
        started_at=now,
        created_by=actor if getattr(actor, "pk", None) else None,
    )
    normaliser = _normaliser(run)
    key_column = _key_column(run)
    prepared: list[Prepared | BadRow] = []
    for index, row in enumerate(rows, start=1):
        flat = {k: _cell_text(v) for k, v in row.items()}
        prepared.append(prepare(index, flat, normaliser, key_column))
    with context.bind(origin=context.current().origin, request_id=run.audit_request_id):
        writer = BatchWriter(run, actor=actor, token=token)
        result = writer.write(prepared, rows_consumed=len(rows), bytes_done=0)
    _finish(run, token, ImportRun.Status.COMPLETED)
    outcomes = []
    for item in prepared:
        status, record_id = result.outcomes.get(item.line, ("quarantined", None))
        # Why a row was quarantined: found preparing it, or by the writer (the database
        # refused it, the user may not change its customer).
        reason, message = result.refusals.get(item.line, ("", ""))
        if isinstance(item, BadRow):
            reason, message = item.reason, item.message
        outcomes.append(
            ItemOutcome(
                index=item.line - 1,
                source_key=item.key if isinstance(item, Prepared) else "",
                status=status,
                record_id=record_id,
                problems=item.problems if isinstance(item, Prepared) and not reason else [],
                reason=reason,
                message=message,
            )
        )
    run.refresh_from_db()
    return run, outcomes
