"""The import engine end to end through its services: reading, mapping, quarantine, upserts,
re-import, revert, cancel and resume."""

from __future__ import annotations

import codecs
import json
from pathlib import Path

import pytest
from django.core.exceptions import ValidationError
from openpyxl import Workbook

from patron.core.models import AuditEvent, CustomFieldDefinition
from patron.customers.models import Account, Contact, EmailAddress, PhoneNumber, PostalAddress
from patron.customers.services import contact_update
from patron.integration import services
from patron.integration.models import (
    ImportRun,
    QuarantinedRow,
    Source,
    SourceRecord,
    SourceRecordVersion,
)

pytestmark = pytest.mark.django_db

BILLING = (
    "customer_no;customer_name;email;phone;birthday;credit;company\r\n"
    "C1;Müller, Anna;Anna.Mueller@Example.com;030 1234567;31.12.1980;1.234,50;Acme GmbH\r\n"
    "C2;Smith, John;john@@example;12;31.02.2020;abc;\r\n"
    "C3;;nobody@example.com;;;;\r\n"
    "C4;Doe, Jane;jane@example.com\r\n"
    ";Nokey, Nina;nina@example.com;;;;\r\n"
    'C5;"Brown, Bob";bob@example.com;+44 20 7946 0018;01.02.1970;10;"Acme GmbH"\r\n'
)


@pytest.fixture(autouse=True)
def var_dir(settings, tmp_path):
    settings.VAR_DIR = tmp_path / "var"


@pytest.fixture(autouse=True)
def jobs_run_on_commit(monkeypatch):
    """Jobs are queued after commit; a test runs in one transaction, so queue them at once
    (the test task backend then runs them immediately)."""
    monkeypatch.setattr(
        "django.db.transaction.on_commit", lambda func, using=None, robust=False: func()
    )


def write(tmp_path: Path, name: str, text: str, encoding: str = "utf-8") -> Path:
    path = tmp_path / name
    path.write_bytes(text.encode(encoding))
    return path


def billing_source(actor) -> Source:
    return services.source_create(
        actor=actor, data={"name": "Billing", "entity": "contact", "default_region": "DE"}
    )


def run_file(actor, source, path: Path, columns=None, options=None, match_by=None) -> ImportRun:
    run = services.import_start(actor=actor, source=source, upload=path, file_name=path.name)
    run = services.import_configure(
        actor=actor, run=run, options=options, columns=columns, match_by=match_by
    )
    services.import_enqueue(actor=actor, run=run)  # the test backend runs the job at once
    run.refresh_from_db()
    return run


BILLING_COLUMNS = [
    {"column": "customer_no", "target": "source_key"},
    {"column": "customer_name", "target": "contact.full_name", "transform": "last_first"},
    {"column": "email", "target": "email"},
    {"column": "phone", "target": "phone"},
    {"column": "birthday", "target": "contact.date_of_birth", "options": {"format": "%d.%m.%Y"}},
    {"column": "credit", "target": "custom.credit_limit", "transform": "decimal_comma"},
    {"column": "company", "target": "account.name"},
]


@pytest.fixture
def credit_field(db):
    return CustomFieldDefinition.objects.create(
        object_type="contact", name="credit_limit", label="Credit limit", field_type="number"
    )


def snapshot() -> dict:
    """Every customer value and every source record, to compare states exactly."""
    return {
        "contacts": sorted(
            Contact.objects.values_list(
                "id", "first_name", "last_name", "date_of_birth", "custom_fields", "job_title"
            )
        ),
        "accounts": sorted(Account.objects.values_list("id", "name")),
        "emails": sorted(EmailAddress.objects.values_list("contact_id", "email", "is_primary")),
        "phones": sorted(PhoneNumber.objects.values_list("contact_id", "e164")),
        "addresses": sorted(PostalAddress.objects.values_list("contact_id", "city", "country")),
        "records": sorted(
            SourceRecord.objects.values_list(
                "source_key", "content_hash", "contact_id", "last_run_id"
            )
        ),
    }


def test_detection_reads_cp1252_semicolons(tmp_path, admin_user):
    path = write(tmp_path, "billing.csv", BILLING, "cp1252")
    run = services.import_start(
        actor=admin_user, source=billing_source(admin_user), upload=path, file_name=path.name
    )
    assert run.options["encoding"] == "cp1252"
    assert run.options["delimiter"] == ";"
    assert run.options["format"] == "csv"
    suggested = {c["column"]: c["target"] for c in run.columns}
    assert suggested["customer_no"] == "source_key"
    assert suggested["customer_name"] == "contact.full_name"
    assert suggested["email"] == "email"
    assert suggested["phone"] == "phone"
    assert suggested["birthday"] == "contact.date_of_birth"
    name_spec = next(c for c in run.columns if c["column"] == "customer_name")
    assert name_spec["transform"] == "last_first"
    birthday = next(c for c in run.columns if c["column"] == "birthday")
    assert birthday["options"] == {"format": "%d.%m.%Y"}


def test_import_quarantines_flags_and_creates(tmp_path, admin_user, credit_field):
    path = write(tmp_path, "billing.csv", BILLING, "cp1252")
    run = run_file(admin_user, billing_source(admin_user), path, columns=BILLING_COLUMNS)

    assert run.status == ImportRun.Status.COMPLETED
    assert (run.rows_done, run.created_count, run.quarantined_count) == (6, 3, 3)
    assert run.flagged_count == 1
    quarantined = {q.line: (q.reason, q.message) for q in QuarantinedRow.objects.filter(run=run)}
    assert quarantined == {
        4: ("no_name", "The row has no name (first or last)."),
        5: ("ragged", "The row has 3 fields; the header has 7."),
        6: (
            "no_key",
            "The source key ('customer_no') is empty; without it the row cannot be matched on "
            "the next import.",
        ),
    }
    assert run.problem_counts == {
        "no_name": 1,
        "ragged": 1,
        "no_key": 1,
        "invalid_email": 1,
        "invalid_phone": 1,
        "invalid_date": 1,
        "invalid_number": 1,
    }
    anna = Contact.objects.get(last_name="Müller")
    assert anna.first_name == "Anna"
    assert str(anna.date_of_birth) == "1980-12-31"
    assert anna.custom_fields == {"credit_limit": 1234.5}
    assert list(anna.emailaddresss.values_list("email", flat=True)) == ["anna.mueller@example.com"]
    assert list(anna.phonenumbers.values_list("e164", flat=True)) == ["+49301234567"]
    assert anna.owner == admin_user
    acme = Account.objects.get(name="Acme GmbH")
    assert set(acme.contacts.values_list("last_name", flat=True)) == {"Müller", "Brown"}

    john = Contact.objects.get(last_name="Smith")
    record = SourceRecord.objects.get(source_key="C2")
    assert record.contact == john
    assert record.payload["email"] == "john@@example"  # kept raw
    assert sorted(p["code"] for p in record.problems) == [
        "invalid_date",
        "invalid_email",
        "invalid_number",
        "invalid_phone",
    ]
    assert john.emailaddresss.count() == 0
    assert john.date_of_birth is None
    bob = SourceRecord.objects.get(source_key="C5")
    assert bob.payload["customer_name"] == "Brown, Bob"
    assert bob.line == 7
    # Every created record is audited under the run's request id, with origin "import".
    events = AuditEvent.objects.filter(request_id=run.audit_request_id, action="create")
    assert events.filter(content_type__model="contact").count() == 3
    assert set(events.values_list("origin", flat=True)) == {"import"}


def test_reimport_is_a_no_op_and_a_changed_row_updates(tmp_path, admin_user, credit_field):
    source = billing_source(admin_user)
    path = write(tmp_path, "billing.csv", BILLING, "cp1252")
    first = run_file(admin_user, source, path, columns=BILLING_COLUMNS)
    before = snapshot()
    events_before = AuditEvent.objects.count()

    again = run_file(admin_user, source, path)  # the saved mapping is reused
    assert again.columns == first.columns
    assert (again.created_count, again.updated_count, again.unchanged_count) == (0, 0, 3)
    assert snapshot() == before
    assert AuditEvent.objects.count() == events_before + 1  # only the run's own start

    changed = BILLING.replace("Acme GmbH\r\n", "Acme GmbH\r\n", 1).replace(
        "C1;Müller, Anna;Anna.Mueller@Example.com;030 1234567",
        "C1;Müller, Anna;anna@new.example;030 7654321",
    )
    third = run_file(admin_user, source, write(tmp_path, "b2.csv", changed, "cp1252"))
    assert (third.created_count, third.updated_count, third.unchanged_count) == (0, 1, 2)
    anna = Contact.objects.get(last_name="Müller")
    assert list(anna.emailaddresss.values_list("email", flat=True)) == ["anna@new.example"]
    assert list(anna.phonenumbers.values_list("e164", flat=True)) == ["+49307654321"]
    record = SourceRecord.objects.get(source_key="C1")
    assert record.last_run == third
    version = SourceRecordVersion.objects.get(record=record)
    assert version.payload["email"] == "Anna.Mueller@Example.com"  # the old row is kept


def test_changed_row_leaves_hand_edits_of_other_fields(tmp_path, admin_user, credit_field):
    source = billing_source(admin_user)
    run_file(admin_user, source, write(tmp_path, "a.csv", BILLING, "cp1252"), BILLING_COLUMNS)
    anna = Contact.objects.get(last_name="Müller")
    contact_update(
        actor=admin_user, contact=anna, expected_version=anna.version, data={"job_title": "CFO"}
    )
    changed = BILLING.replace("31.12.1980", "30.12.1980")
    run_file(admin_user, source, write(tmp_path, "b.csv", changed, "cp1252"))
    anna.refresh_from_db()
    assert (anna.job_title, str(anna.date_of_birth)) == ("CFO", "1980-12-30")


def test_revert_restores_the_exact_prior_state(tmp_path, admin_user, credit_field):
    source = billing_source(admin_user)
    run_file(admin_user, source, write(tmp_path, "a.csv", BILLING, "cp1252"), BILLING_COLUMNS)
    prior = snapshot()
    changed = (
        BILLING.replace("31.12.1980", "30.12.1980")
        .replace("Doe, Jane;jane@example.com\r\n", "")
        .replace("C5;", "C9;Neu, Nora;nora@example.com;;;;\r\nC5;")
        .replace("030 1234567", "030 1234567 | +49 170 1234567")
    )
    second = run_file(admin_user, source, write(tmp_path, "b.csv", changed, "cp1252"))
    assert second.created_count == 1 and second.updated_count == 1
    assert snapshot() != prior

    report = services.import_revert(actor=admin_user, run=second)
    assert report.conflicts == []
    assert snapshot() == prior
    second.refresh_from_db()
    assert second.status == ImportRun.Status.REVERTED
    assert not SourceRecordVersion.objects.filter(replaced_by_run=second).exists()


def test_revert_of_first_import_removes_everything_it_created(tmp_path, admin_user, credit_field):
    source = billing_source(admin_user)
    before = snapshot()
    run = run_file(admin_user, source, write(tmp_path, "a.csv", BILLING, "cp1252"), BILLING_COLUMNS)
    services.import_revert(actor=admin_user, run=run)
    assert snapshot() == before
    assert Contact.objects.count() == 0 and Account.objects.count() == 0


def test_revert_keeps_values_changed_after_the_import(tmp_path, admin_user, credit_field):
    source = billing_source(admin_user)
    run_file(admin_user, source, write(tmp_path, "a.csv", BILLING, "cp1252"), BILLING_COLUMNS)
    changed = BILLING.replace("31.12.1980", "30.12.1980")
    second = run_file(admin_user, source, write(tmp_path, "b.csv", changed, "cp1252"))
    anna = Contact.objects.get(last_name="Müller")
    contact_update(
        actor=admin_user,
        contact=anna,
        expected_version=anna.version,
        data={"date_of_birth": "1980-01-01"},
    )
    report = services.import_revert(actor=admin_user, run=second)
    anna.refresh_from_db()
    assert str(anna.date_of_birth) == "1980-01-01"
    assert report.conflicts == [
        f"contact #{anna.pk}: date_of_birth changed after the import; kept."
    ]


def test_match_by_email_joins_the_existing_customer(tmp_path, admin_user):
    billing = billing_source(admin_user)
    run_file(admin_user, billing, write(tmp_path, "a.csv", BILLING, "cp1252"), BILLING_COLUMNS[:5])
    shop = services.source_create(actor=admin_user, data={"name": "Shop", "entity": "contact"})
    lines = [
        {
            "id": "W1",
            "customer": {"first": "Anna", "last": "Müller", "mail": "ANNA.mueller@example.com"},
            "address": {"city": "Berlin", "country": "Deutschland"},
        },
        {
            "id": "W2",
            "customer": {"first": "Zoe", "last": "New", "mail": "zoe@example.com"},
            "address": {"city": "Lyon", "country": "FR"},
        },
    ]
    path = write(tmp_path, "shop.jsonl", "\n".join(json.dumps(x) for x in lines) + "\n")
    columns = [
        {"column": "id", "target": "source_key"},
        {"column": "customer.first", "target": "contact.first_name"},
        {"column": "customer.last", "target": "contact.last_name"},
        {"column": "customer.mail", "target": "email"},
        {"column": "address.city", "target": "address.city"},
        {"column": "address.country", "target": "address.country"},
    ]
    run = run_file(admin_user, shop, path, columns=columns)
    assert run.options["format"] == "jsonl"
    assert (run.created_count, run.updated_count) == (1, 1)
    anna = Contact.objects.get(last_name="Müller")
    assert set(anna.source_records.values_list("source__name", "source_key")) == {
        ("Billing", "C1"),
        ("Shop", "W1"),
    }
    assert list(anna.postaladdresss.values_list("city", "country")) == [("Berlin", "DE")]
    assert Contact.objects.get(last_name="New").postaladdresss.get().country == "FR"


FILE_ORDER_COLUMNS = [
    {"column": "id", "target": "source_key"},
    {"column": "name", "target": "contact.last_name"},
    {"column": "email", "target": "email"},
]


@pytest.mark.parametrize(
    ("lines", "contacts"),
    [
        # A moves to a2@ (the change replaces a1@); C comes twice too; then B with a2@ joins
        # A's customer.
        (["A,Ames,a1@x.com", "A,Ames,a2@x.com", "C,Cole,c1@x.com", "C,Cole,c2@x.com",
          "B,Bell,a2@x.com"], {"Ames": ["a2@x.com"], "Cole": ["c2@x.com"]}),
        # A moves from a1@ to a2@ to a3@ (each change drops the address before); B with a2@
        # comes after the last change, when nobody has a2@ any more: a new customer.
        (["A,Ames,a1@x.com", "A,Ames,a2@x.com", "A,Ames,a3@x.com", "B,Bell,a2@x.com"],
         {"Ames": ["a3@x.com"], "Bell": ["a2@x.com"]}),
    ],
)  # fmt: skip
def test_rows_of_a_batch_see_earlier_rows_in_file_order(tmp_path, admin_user, lines, contacts):
    """Repeated keys in one batch: each row finds what the rows above it in the file did."""
    source = services.source_create(actor=admin_user, data={"name": "Shop", "entity": "contact"})
    path = write(tmp_path, "order.csv", "id,name,email\n" + "\n".join(lines) + "\n")
    run_file(admin_user, source, path, columns=FILE_ORDER_COLUMNS, match_by="email")
    found = {
        c.last_name: sorted(c.emailaddresss.values_list("email", flat=True))
        for c in Contact.objects.all()
    }
    assert found == contacts


@pytest.mark.parametrize("encoding", ["utf-8-sig", "utf-16", "utf-8"])
def test_encodings_and_tabs(tmp_path, admin_user, encoding):
    text = "Caller ID\tFull Name\tTelephone\n7\tDr. Zoë O'Brien-Smith\t(030) 1234 5678\n"
    path = tmp_path / "calls.tsv"
    path.write_bytes(text.encode(encoding))
    source = billing_source(admin_user)
    run = services.import_start(actor=admin_user, source=source, upload=path, file_name=path.name)
    assert run.options["delimiter"] == "\t"
    assert {c["column"]: c["target"] for c in run.columns} == {
        "Caller ID": "source_key",
        "Full Name": "contact.full_name",
        "Telephone": "phone",
    }
    services.import_enqueue(actor=admin_user, run=run)
    contact = Contact.objects.get()
    assert (contact.prefix, contact.first_name, contact.last_name) == (
        "Dr.",
        "Zoë",
        "O'Brien-Smith",
    )
    assert contact.phonenumbers.get().e164 == "+493012345678"


def test_undecodable_bytes_quarantine_one_row(tmp_path, admin_user):
    path = tmp_path / "bad.csv"
    path.write_bytes(
        "id;name\r\n1;Zoë Ärger\r\n".encode("cp1252") + b"2;Bad \x81 Byte\r\n3;Fine Row\r\n"
    )
    run = run_file(admin_user, billing_source(admin_user), path, options={"encoding": "cp1252"})
    assert run.created_count == 2
    bad = QuarantinedRow.objects.get(run=run)
    assert (bad.line, bad.reason) == (3, "undecodable")
    assert Contact.objects.filter(last_name="Ärger").exists()


def test_excel_any_sheet_and_serial_dates(tmp_path, admin_user):
    workbook = Workbook()
    summary = workbook.active
    summary.title = "Summary"
    summary.append(["Total", 2])
    calls = workbook.create_sheet("Calls")
    calls.append(["ID", "First name", "Last name", "Born", "Serial"])
    calls.append([1, "Ada", "Lovelace", __import__("datetime").date(1815, 12, 10), 29221])
    calls.append([2, "Alan", "Turing", None, "soon"])
    path = tmp_path / "calls.xlsx"
    workbook.save(path)
    source = billing_source(admin_user)
    run = services.import_start(actor=admin_user, source=source, upload=path, file_name=path.name)
    assert run.options["format"] == "xlsx"
    assert run.options["sheets"] == ["Summary", "Calls"]
    run = services.import_configure(
        actor=admin_user,
        run=run,
        options={"sheet": "Calls"},
        columns=[
            {"column": "ID", "target": "source_key"},
            {"column": "First name", "target": "contact.first_name"},
            {"column": "Last name", "target": "contact.last_name"},
            {"column": "Serial", "target": "contact.date_of_birth", "options": {"format": "excel"}},
        ],
    )
    services.import_enqueue(actor=admin_user, run=run)
    ada = Contact.objects.get(last_name="Lovelace")
    assert str(ada.date_of_birth) == "1980-01-01"
    assert SourceRecord.objects.get(source_key="1").payload["Born"] == "1815-12-10"
    assert SourceRecord.objects.get(source_key="1").line == 2
    turing = SourceRecord.objects.get(source_key="2")
    assert turing.problems[0]["code"] == "invalid_date"


def test_json_array_with_nested_paths_and_bad_items(tmp_path, admin_user):
    items = [
        {"ref": "a", "name": {"given": "Ann", "family": "Ash"}, "emails": ["a@x.org", "b@x.org"]},
        [1, 2],
        {"ref": "b", "name": {"given": "", "family": ""}},
    ]
    path = write(tmp_path, "people.json", json.dumps(items))
    columns = [
        {"column": "ref", "target": "source_key"},
        {"column": "name.given", "target": "contact.first_name"},
        {"column": "name.family", "target": "contact.last_name"},
        {"column": "emails", "target": "email"},
    ]
    run = run_file(admin_user, billing_source(admin_user), path, columns=columns)
    assert run.options["format"] == "json"
    assert {(q.line, q.reason) for q in run.quarantined.all()} == {
        (2, "invalid_json"),
        (3, "no_name"),
    }
    ash = Contact.objects.get(last_name="Ash")
    assert list(ash.emailaddresss.values_list("email", "is_primary")) == [
        ("a@x.org", True),
        ("b@x.org", False),
    ]


def test_rerun_quarantined_rows_with_a_fixed_mapping(tmp_path, admin_user):
    text = "id,first,surname\n1,Ann,Ash\n2,,Birch\n"
    source = billing_source(admin_user)
    path = write(tmp_path, "p.csv", text)
    run = run_file(
        admin_user,
        source,
        path,
        columns=[
            {"column": "id", "target": "source_key"},
            {"column": "first", "target": "contact.first_name"},
        ],
    )
    assert (run.created_count, run.quarantined_count) == (1, 1)
    rerun = services.import_rerun_quarantined(
        actor=admin_user,
        run=run,
        columns=[
            {"column": "id", "target": "source_key"},
            {"column": "first", "target": "contact.first_name"},
            {"column": "surname", "target": "contact.last_name"},
        ],
    )
    services.import_enqueue(actor=admin_user, run=rerun, save_mapping=False)
    rerun.refresh_from_db()
    assert (rerun.rows_done, rerun.created_count, rerun.quarantined_count) == (1, 1, 0)
    assert QuarantinedRow.objects.get(run=run).resolved_by == rerun
    assert Contact.objects.filter(last_name="Birch").exists()


def test_interrupted_run_resumes_without_duplicates(tmp_path, admin_user):
    rows = "\n".join(f"{i},First{i},Last{i},p{i}@example.com" for i in range(1, 26))
    path = write(tmp_path, "p.csv", "id,first,last,email\n" + rows + "\n")
    source = billing_source(admin_user)
    run = services.import_start(actor=admin_user, source=source, upload=path, file_name="p.csv")
    services.import_enqueue(actor=admin_user, run=run, background=False)

    class Crash(Exception):
        pass

    def crash_after_two_batches(current: ImportRun) -> None:
        if current.rows_done >= 10:
            raise Crash

    with pytest.raises(Crash):
        services.import_process(run.pk, progress=crash_after_two_batches, batch_size=5)
    run.refresh_from_db()
    assert run.rows_done == 10 and Contact.objects.count() == 10
    # Like a killed process: the run still says "running" with a heartbeat nobody renews.
    ImportRun.objects.filter(pk=run.pk).update(status="running", error="")
    assert services.import_process(run.pk).status == "running"  # not stale yet: left alone
    finished = services.import_process(run.pk, force=True, batch_size=5)
    assert finished.status == "completed"
    assert (finished.rows_done, finished.created_count) == (25, 25)
    assert Contact.objects.count() == 25
    assert SourceRecord.objects.count() == 25


def test_cancel_stops_after_the_current_batch(tmp_path, admin_user):
    rows = "\n".join(f"{i},First{i},Last{i}" for i in range(1, 21))
    path = write(tmp_path, "p.csv", "id,first,last\n" + rows + "\n")
    run = services.import_start(
        actor=admin_user, source=billing_source(admin_user), upload=path, file_name="p.csv"
    )
    services.import_enqueue(actor=admin_user, run=run, background=False)

    def cancel(current: ImportRun) -> None:
        if current.rows_done == 5:
            services.import_cancel(actor=admin_user, run=current)

    done = services.import_process(run.pk, progress=cancel, batch_size=5)
    assert done.status == ImportRun.Status.CANCELLED
    assert done.rows_done == 5 and Contact.objects.count() == 5


def test_bad_configuration_is_refused(tmp_path, admin_user):
    path = write(tmp_path, "p.csv", "id,name\n1,Ann Ash\n")
    run = services.import_start(
        actor=admin_user, source=billing_source(admin_user), upload=path, file_name="p.csv"
    )
    with pytest.raises(ValidationError) as exc:
        services.import_configure(
            actor=admin_user, run=run, columns=[{"column": "id", "target": "contact.shoe_size"}]
        )
    assert exc.value.message_dict == {
        "columns.0.target": ["'contact.shoe_size' is not a field of this source."]
    }
    with pytest.raises(ValidationError):
        services.import_configure(actor=admin_user, run=run, options={"encoding": "klingon"})


def test_import_needs_permission(tmp_path, admin_user, readonly_user):
    source = billing_source(admin_user)
    path = write(tmp_path, "p.csv", "id,name\n1,Ann Ash\n")
    from django.core.exceptions import PermissionDenied

    with pytest.raises(PermissionDenied):
        services.import_start(actor=readonly_user, source=source, upload=path, file_name="p.csv")
    assert ImportRun.objects.count() == 0


def test_bulk_rows_report_per_item(admin_user):
    source = billing_source(admin_user)
    rows = [
        {
            "source_key": "k1",
            "contact.first_name": "Ann",
            "contact.last_name": "Ash",
            "email": "ann@example.com",
        },
        {"source_key": "k2", "contact.first_name": "", "contact.last_name": ""},
        {"source_key": "k3", "contact.last_name": "Birch", "phone": "+44 20 7946 0018"},
    ]
    run, outcomes = services.import_rows(actor=admin_user, source=source, rows=rows)
    assert [(o.index, o.status) for o in outcomes] == [
        (0, "created"),
        (1, "quarantined"),
        (2, "created"),
    ]
    assert outcomes[1].reason == "no_name"
    _, again = services.import_rows(actor=admin_user, source=source, rows=rows)
    assert [o.status for o in again] == ["unchanged", "quarantined", "unchanged"]
    assert again[0].record_id == outcomes[0].record_id
    rows[2]["contact.first_name"] = "Bea"
    _, third = services.import_rows(actor=admin_user, source=source, rows=rows)
    assert third[2].status == "updated"
    assert Contact.objects.get(pk=third[2].record_id).first_name == "Bea"


def test_codecs_known():
    assert codecs.lookup("cp1252").name == "cp1252"


def test_vcard_file_imports_through_the_same_path(tmp_path, admin_user):
    cards = (
        "BEGIN:VCARD\r\nVERSION:3.0\r\nN:Lovelace;Ada;;;\r\nFN:Ada Lovelace\r\n"
        "ORG:Analytical Engines Ltd\r\nEMAIL;TYPE=INTERNET:ada@example.com\r\n"
        "EMAIL;TYPE=INTERNET:countess@example.org\r\nTEL;TYPE=CELL:+44 20 7946 0018\r\n"
        "END:VCARD\r\n"
        "BEGIN:VCARD\r\nVERSION:3.0\r\nFN:Alan Turing\r\nTEL:+44 161 496 0000\r\nEND:VCARD\r\n"
    )
    path = write(tmp_path, "contacts.vcf", cards)
    source = billing_source(admin_user)
    run = services.import_start(actor=admin_user, source=source, upload=path, file_name=path.name)
    assert run.options["format"] == "vcf"
    mapped = {c["column"]: c["target"] for c in run.columns if c["target"]}
    assert mapped["n.family"] == "contact.last_name"
    assert mapped["email.2"] == "email"
    assert "uid" not in mapped  # the cards have no UID: keyed by their content
    services.import_enqueue(actor=admin_user, run=run)
    run.refresh_from_db()
    assert (run.created_count, run.quarantined_count) == (2, 0)
    ada = Contact.objects.get(last_name="Lovelace")
    assert sorted(ada.emailaddresss.values_list("email", flat=True)) == [
        "ada@example.com",
        "countess@example.org",
    ]
    assert ada.accounts.get().name == "Analytical Engines Ltd"
    turing = Contact.objects.get(last_name="Turing")
    assert (turing.first_name, turing.phonenumbers.get().e164) == ("Alan", "+441614960000")


def test_utf8_with_a_stray_byte_stays_utf8(tmp_path, admin_user):
    path = tmp_path / "shop.csv"
    path.write_bytes(
        "id,name\n1,Zoë Müller\n2,José Núñez\n".encode()
        + b"3,Bad \xff Byte\n"
        + "4,Chloé Dubois\n".encode()
    )
    run = run_file(admin_user, billing_source(admin_user), path)
    assert run.options["encoding"] == "utf-8"
    assert run.created_count == 3
    assert Contact.objects.filter(last_name="Müller", first_name="Zoë").exists()
    assert QuarantinedRow.objects.get(run=run).reason == "undecodable"
