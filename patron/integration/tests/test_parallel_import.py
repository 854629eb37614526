"""Normalising in worker processes changes nothing but the speed: the same messy file imported
with workers and in one process leaves the same records, points, lineage and audit trail."""

from __future__ import annotations

from collections import Counter
from typing import Any

import pytest
from django.db import transaction

from patron.core.models import AuditEvent
from patron.customers.models import Contact, EmailAddress, PhoneNumber
from patron.integration import services
from patron.integration.models import ImportRun, QuarantinedRow, SourceRecord
from patron.integration.samples import write_messy_csv

pytestmark = pytest.mark.django_db

ROWS = 1500


@pytest.fixture(autouse=True)
def var_dir(settings, tmp_path):
    settings.VAR_DIR = tmp_path / "var"


class Rollback(Exception):
    pass


def outcome(run: ImportRun) -> dict[str, Any]:
    """What the run left behind, by natural keys (ids differ between the two runs)."""
    run.refresh_from_db()
    contacts = {c.pk: (c.first_name, c.last_name, c.search_document) for c in Contact.objects.all()}
    events = AuditEvent.objects.filter(request_id=run.audit_request_id)
    return {
        "run": (
            run.status,
            run.rows_done,
            run.created_count,
            run.updated_count,
            run.unchanged_count,
            run.quarantined_count,
            run.flagged_count,
            run.problem_counts,
        ),
        "records": sorted(
            (r.source_key, r.content_hash, r.line, contacts.get(r.contact_id or 0))
            for r in SourceRecord.objects.filter(last_run=run)
        ),
        "quarantine": sorted(QuarantinedRow.objects.filter(run=run).values_list("line", "reason")),
        "emails": sorted(EmailAddress.objects.values_list("email", "is_primary", "kind")),
        "phones": sorted(PhoneNumber.objects.values_list("e164", "is_primary")),
        "audit": Counter(events.values_list("action", "content_type__model")),
    }


def import_file(actor, path, *, workers: int) -> ImportRun:
    source = services.source_create(
        actor=actor, data={"name": "Shop", "entity": "contact", "default_region": "DE"}
    )
    run = services.import_start(actor=actor, source=source, upload=path, file_name=path.name)
    services.import_enqueue(actor=actor, run=run, background=False)
    return services.import_process(run.pk, batch_size=200, workers=workers)


def test_workers_import_exactly_what_one_process_imports(tmp_path, admin_user):
    path = tmp_path / "messy.csv"
    write_messy_csv(path, ROWS, seed=3, broken_every=30)

    with pytest.raises(Rollback), transaction.atomic():
        single = outcome(import_file(admin_user, path, workers=0))
        raise Rollback
    parallel = outcome(import_file(admin_user, path, workers=2))

    assert parallel == single
    assert single["run"][:2] == ("completed", ROWS)
    assert single["quarantine"] and single["run"][3] > 0  # broken rows, repeated keys
