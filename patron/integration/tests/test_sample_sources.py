"""Three systems that disagree about the same customers (billing CSV in Windows-1252 with
semicolons and "Last, First"; a web shop's JSON Lines; a call centre's UTF-16 TSV and Excel
workbook), with broken rows of every kind: every broken row is reported with its line and
reason, no valid row is lost, re-importing is a no-op and reverting restores the exact state."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from patron.core.models import CustomFieldDefinition
from patron.customers.models import Contact
from patron.integration import services
from patron.integration.models import ImportRun, QuarantinedRow, SourceRecord, SourceRecordVersion
from patron.integration.samples import generate_sources

from .test_import import snapshot

pytestmark = pytest.mark.django_db

MAPPINGS: dict[str, list[dict[str, Any]]] = {
    "billing.csv": [
        {"column": "customer_no", "target": "source_key"},
        {"column": "customer_name", "target": "contact.full_name", "transform": "last_first"},
        {"column": "email", "target": "email"},
        {"column": "phone", "target": "phone"},
        {"column": "street", "target": "address.street"},
        {"column": "zip", "target": "address.postal_code"},
        {"column": "city", "target": "address.city"},
        {"column": "country", "target": "address.country"},
        {
            "column": "customer_since",
            "target": "custom.customer_since",
            "options": {"format": "%d.%m.%Y"},
        },
        {"column": "credit_limit", "target": "custom.credit_limit", "transform": "decimal_comma"},
        {"column": "vip", "target": "custom.vip", "options": {"value_map": {"J": "yes"}}},
    ],
    "webshop.jsonl": [
        {"column": "id", "target": "source_key"},
        {"column": "customer.first_name", "target": "contact.first_name"},
        {"column": "customer.last_name", "target": "contact.last_name"},
        {"column": "customer.email", "target": "email"},
        {"column": "customer.company", "target": "account.name"},
        {"column": "phone", "target": "phone"},
        {"column": "address.line1", "target": "address.street"},
        {"column": "address.postcode", "target": "address.postal_code"},
        {"column": "address.city", "target": "address.city"},
        {"column": "address.country_code", "target": "address.country"},
        {"column": "created_at", "target": "custom.customer_since"},
        {"column": "newsletter", "target": "custom.newsletter"},
        {"column": "orders_total", "target": "custom.orders_total"},
    ],
    "callcentre.tsv": [
        {"column": "Caller ID", "target": "source_key"},
        {"column": "Full Name", "target": "contact.full_name", "transform": "full_name"},
        {"column": "Telephone", "target": "phone"},
        {
            "column": "Date of Birth",
            "target": "contact.date_of_birth",
            "options": {"format": "%m/%d/%Y"},
        },
        {"column": "Agent Notes", "target": "contact.description"},
    ],
}
MAPPINGS["callcentre.xlsx"] = [
    {**c, "options": {}} if c["column"] == "Date of Birth" else c
    for c in MAPPINGS["callcentre.tsv"]
]
SOURCES = {
    "billing.csv": ("Billing", ""),
    "webshop.jsonl": ("Web shop", ""),
    "callcentre.tsv": ("Call centre", "DE"),
    "callcentre.xlsx": ("Call centre (Excel)", "DE"),
}


@pytest.fixture(autouse=True)
def setup(settings, tmp_path, monkeypatch, db):
    settings.VAR_DIR = tmp_path / "var"
    monkeypatch.setattr(
        "django.db.transaction.on_commit", lambda func, using=None, robust=False: func()
    )
    for name, kind in [
        ("customer_since", "date"),
        ("credit_limit", "number"),
        ("vip", "boolean"),
        ("newsletter", "boolean"),
        ("orders_total", "number"),
    ]:
        CustomFieldDefinition.objects.create(
            object_type="contact", name=name, label=name.replace("_", " "), field_type=kind
        )


@pytest.fixture(scope="module")
def samples(tmp_path_factory):
    out = tmp_path_factory.mktemp("samples")
    generate_sources(out, customers=80, seed=11)
    return out, json.loads((out / "manifest.json").read_text())


def import_file(actor, out: Path, name: str, sources: dict) -> ImportRun:
    source_name, region = SOURCES[name]
    if source_name not in sources:
        sources[source_name] = services.source_create(
            actor=actor, data={"name": source_name, "default_region": region}
        )
    source = sources[source_name]
    path = out / name
    run = services.import_start(actor=actor, source=source, upload=path, file_name=name)
    run = services.import_configure(actor=actor, run=run, columns=MAPPINGS[name])
    services.import_enqueue(actor=actor, run=run)
    run.refresh_from_db()
    assert run.status == ImportRun.Status.COMPLETED, run.error
    return run


def check_against_manifest(run: ImportRun, spec: dict) -> None:
    records = spec["records"]
    expected_quarantine = {r["line"]: r["quarantine"] for r in records if r["quarantine"]}
    got = dict(QuarantinedRow.objects.filter(run=run).values_list("line", "reason"))
    assert got == expected_quarantine
    valid = [r for r in records if not r["quarantine"]]
    assert run.rows_done == spec["total_records"]
    assert run.quarantined_count == len(expected_quarantine)
    assert run.created_count + run.updated_count + run.unchanged_count == len(valid)
    assert SourceRecord.objects.filter(source=run.source).count() == spec["distinct_keys"]
    # Every valid row is kept: as its key's current record, or as the version it replaced.
    for record in valid:
        current = SourceRecord.objects.get(source=run.source, source_key=record["source_key"])
        if current.line == record["line"]:
            problems = current.problems
        else:
            version = SourceRecordVersion.objects.get(record=current, line=record["line"])
            problems = version.problems
        flags = sorted([p["column"], p["code"]] for p in problems)
        assert flags == sorted(record["flags"]), (spec["path"], record)


def test_three_disagreeing_sources(samples, admin_user):
    out, manifest = samples
    files = manifest["files"]
    people = {p["person_id"]: p for p in manifest["people"]}
    sources: dict = {}

    empty = snapshot()
    billing = import_file(admin_user, out, "billing.csv", sources)
    assert billing.options["encoding"] == "cp1252" and billing.options["delimiter"] == ";"
    check_against_manifest(billing, files["billing.csv"])
    after_billing = snapshot()

    # National phone numbers are read in each customer's own country.
    for record in files["billing.csv"]["records"]:
        if record["quarantine"] or ["phone", "invalid_phone"] in record["flags"]:
            continue
        current = SourceRecord.objects.get(source__name="Billing", source_key=record["source_key"])
        if current.line != record["line"] or not current.payload["phone"]:
            continue
        person = people[record["person_id"]]
        phones = [p["e164"] for p in current.normalised.get("phones", [])]
        assert phones and phones[0] in {person["phone_e164"], person["mobile_e164"]}, record

    shop = import_file(admin_user, out, "webshop.jsonl", sources)
    check_against_manifest(shop, files["webshop.jsonl"])
    assert shop.updated_count > 0  # people already known from billing joined by email
    after_shop = snapshot()

    calls = import_file(admin_user, out, "callcentre.tsv", sources)
    assert calls.options["encoding"] == "utf-16" and calls.options["delimiter"] == "\t"
    check_against_manifest(calls, files["callcentre.tsv"])
    workbook = import_file(admin_user, out, "callcentre.xlsx", sources)
    assert workbook.options["sheet"] == files["callcentre.xlsx"]["sheet"]
    check_against_manifest(workbook, files["callcentre.xlsx"])
    full = snapshot()

    # Someone in several systems is one contact with each system's source record.
    shared = SourceRecord.objects.filter(source__name="Web shop", contact__isnull=False)
    assert any(r.contact.source_records.filter(source__name="Billing").exists() for r in shared)

    # Importing every file again changes nothing.
    for name in ["billing.csv", "webshop.jsonl", "callcentre.tsv", "callcentre.xlsx"]:
        again = import_file(admin_user, out, name, sources)
        assert (again.created_count, again.updated_count) == (0, 0), name
    assert snapshot() == full

    # Reverting, newest first, walks back through every earlier state exactly.
    for run, state in [
        (workbook, None),
        (calls, after_shop),
        (shop, after_billing),
        (billing, empty),
    ]:
        report = services.import_revert(actor=admin_user, run=run)
        assert report.conflicts == []
        if state is not None:
            assert snapshot() == state
    assert Contact.objects.count() == 0
