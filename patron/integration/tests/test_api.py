"""The integration API end to end: sources, a file import from upload to revert, the error
file, lineage, the bulk upsert, idempotency keys and who may do what."""

from __future__ import annotations

import csv
import datetime
import io
import json
from typing import Any

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from patron.core.models import AuditEvent, CustomFieldDefinition, IdempotencyKey, Role
from patron.core.tests.factories import UserFactory
from patron.customers.models import Contact, EmailAddress
from patron.integration import selectors, services
from patron.integration.models import ImportRun, QuarantinedRow, Source, SourceRecord

pytestmark = pytest.mark.django_db

BILLING = (
    "customer_no;customer_name;email;birthday;note\r\n"
    "K1;Müller, Anna;Anna.Mueller@Example.com;31.12.1980;Stammkunde\r\n"
    "K2;Smith, John;john@@example;31.02.2020;ok\r\n"
    'K3;;nobody@example.com;;=HYPERLINK("http://x.example")\r\n'
    "K4;Doe, Jane\r\n"
    "K5;Brown, Bob;bob@example.com;01.02.1970;-\r\n"
).encode("cp1252")

BILLING_COLUMNS = [
    {"column": "customer_no", "target": "source_key"},
    {"column": "customer_name", "target": "contact.full_name", "transform": "last_first"},
    {"column": "email", "target": "email"},
    {"column": "birthday", "target": "contact.date_of_birth", "options": {"format": "%d.%m.%Y"}},
    {"column": "note", "target": ""},
]


@pytest.fixture(autouse=True)
def var_dir(settings, tmp_path):
    settings.VAR_DIR = tmp_path / "var"


@pytest.fixture(autouse=True)
def jobs_run_on_commit(monkeypatch):
    """A test runs in one transaction, so run after-commit callbacks at once (the test task
    backend then runs a queued import immediately)."""
    monkeypatch.setattr(
        "django.db.transaction.on_commit", lambda func, using=None, robust=False: func()
    )


@pytest.fixture
def billing(admin_user) -> Source:
    return services.source_create(
        actor=admin_user, data={"name": "Billing", "entity": "contact", "default_region": "DE"}
    )


@pytest.fixture
def source_viewer(team_north):
    """May see sources and their imports, but not change them."""
    viewer = Role.objects.create(
        slug="source_viewer", name="Source viewer", permissions=["source.view", "contact.view"]
    )
    return UserFactory(username="source_viewer", role=viewer, team=team_north)


def post(api, path: str, body: Any = None, *, key: str | None = None):
    headers = {**api.headers, **({"Idempotency-Key": key} if key is not None else {})}
    return api.client.post(
        "/api" + path,
        data=json.dumps(body) if body is not None else None,
        content_type="application/json",
        headers=headers,
    )


def upload(api, source_id: int, name: str, content: bytes, *, key: str | None = None):
    headers = {**api.headers, **({"Idempotency-Key": key} if key is not None else {})}
    return api.client.post(
        f"/api/sources/{source_id}/imports",
        {"file": SimpleUploadedFile(name, content, content_type="text/csv")},
        headers=headers,
    )


def drafted(api, source: Source) -> dict[str, Any]:
    response = upload(api, source.pk, "billing.csv", BILLING)
    assert response.status_code == 201, response.json()
    return response.json()


# --- a file import from upload to revert ------------------------------------------------------


def test_file_import_from_upload_to_revert(api_as, admin_user, billing):
    api = api_as(admin_user)

    draft = drafted(api, billing)
    assert draft["status"] == "draft"
    assert draft["source"] == {"id": billing.pk, "name": "Billing"}
    assert draft["file_name"] == "billing.csv"
    assert draft["file_size"] == len(BILLING)
    assert draft["mapping_id"] is None
    assert {k: draft["options"][k] for k in ("format", "encoding", "delimiter", "has_header")} == {
        "format": "csv",
        "encoding": "cp1252",
        "delimiter": ";",
        "has_header": True,
    }
    assert [(c["column"], c["target"]) for c in draft["columns"]] == [
        ("customer_no", "source_key"),
        ("customer_name", "contact.full_name"),
        ("email", "email"),
        ("birthday", "contact.date_of_birth"),
        ("note", "contact.description"),
    ]
    run_id = draft["id"]

    response = api.patch(f"/imports/{run_id}", {"columns": BILLING_COLUMNS})
    assert response.status_code == 200, response.json()
    assert response.json()["columns"][4] == {
        "column": "note",
        "target": "",
        "transform": "",
        "options": {},
    }

    preview = api.get(f"/imports/{run_id}/preview", {"rows": 5}).json()
    assert preview["columns"] == ["customer_no", "customer_name", "email", "birthday", "note"]
    assert [(r["line"], r["status"], r["source_key"], r["reason"]) for r in preview["rows"]] == [
        (2, "ok", "K1", ""),
        (3, "flagged", "K2", ""),
        (4, "quarantined", "", "no_name"),
        (5, "quarantined", "", "ragged"),
        (6, "ok", "K5", ""),
    ]
    first = preview["rows"][0]
    assert first["raw"] == {
        "customer_no": "K1",
        "customer_name": "Müller, Anna",
        "email": "Anna.Mueller@Example.com",
        "birthday": "31.12.1980",
        "note": "Stammkunde",
    }
    assert first["values"] == {
        "source_key": "K1",
        "contact.first_name": "Anna",
        "contact.last_name": "Müller",
        "emails": [{"email": "anna.mueller@example.com", "kind": "work"}],
        "contact.date_of_birth": "1980-12-31",
    }
    assert [(p["column"], p["code"]) for p in preview["rows"][1]["problems"]] == [
        ("email", "invalid_email"),
        ("birthday", "invalid_date"),
    ]

    response = post(api, f"/imports/{run_id}/start")
    assert response.status_code == 202, response.json()

    run = api.get(f"/imports/{run_id}").json()
    assert run["status"] == "completed"
    assert run["mapping_id"] is not None
    assert run["counts"] == {
        "created": 3,
        "updated": 0,
        "unchanged": 0,
        "quarantined": 2,
        "flagged": 1,
    }
    assert run["problem_counts"] == {
        "invalid_email": 1,
        "invalid_date": 1,
        "no_name": 1,
        "ragged": 1,
    }
    assert {
        k: run["progress"][k] for k in ("rows_done", "total_rows", "percent", "eta_seconds")
    } == {
        "rows_done": 5,
        "total_rows": 5,
        "percent": 100.0,
        "eta_seconds": 0,
    }
    assert Contact.objects.count() == 3

    page = api.get(f"/imports/{run_id}/quarantine").json()
    assert [(q["line"], q["reason"], q["message"]) for q in page["results"]] == [
        (4, "no_name", "The row has no name (first or last)."),
        (5, "ragged", "The row has 2 fields; the header has 5."),
    ]
    assert page["results"][0]["raw"] == {
        "customer_no": "K3",
        "customer_name": "",
        "email": "nobody@example.com",
        "birthday": "",
        "note": '=HYPERLINK("http://x.example")',
    }
    assert page["results"][1]["raw"] == ["K4", "Doe, Jane"]
    assert page["next_cursor"] is None

    response = api.get(f"/imports/{run_id}/errors.csv")
    assert response.status_code == 200
    assert response["Content-Type"] == "text/csv; charset=utf-8"
    assert response["Content-Disposition"] == f'attachment; filename="import-{run_id}-errors.csv"'
    email_problem, date_problem = preview["rows"][1]["problems"]
    text = b"".join(response.streaming_content).decode()
    assert all(line.startswith('"') for line in text.splitlines())  # every field quoted
    assert list(csv.reader(io.StringIO(text))) == [
        ["line", "reason", "message", "column", "customer_no", "customer_name", "email"]
        + ["birthday", "note"],
        ["3", "invalid_email", email_problem["message"], "email", "K2", "Smith, John"]
        + ["john@@example", "31.02.2020", "ok"],
        ["3", "invalid_date", date_problem["message"], "birthday", "K2", "Smith, John"]
        + ["john@@example", "31.02.2020", "ok"],
        ["4", "no_name", "The row has no name (first or last).", "", "K3", ""]
        + ["nobody@example.com", "", '\'=HYPERLINK("http://x.example")'],
        ["5", "ragged", "The row has 2 fields; the header has 5.", "", "K4", "Doe, Jane"],
    ]

    response = post(api, f"/imports/{run_id}/revert")
    assert response.status_code == 200, response.json()
    report = response.json()
    assert (report["deleted"], report["restored"], report["conflicts"]) == (3, 0, [])
    assert report["run"]["status"] == "reverted"
    assert Contact.objects.count() == 0
    assert SourceRecord.objects.count() == 0


def test_preview_and_patch_refuse_what_cannot_work(api_as, admin_user, billing):
    api = api_as(admin_user)
    run_id = drafted(api, billing)["id"]
    before = ImportRun.objects.values("options", "columns", "match_by").get(pk=run_id)

    response = api.patch(
        f"/imports/{run_id}",
        {"columns": [*BILLING_COLUMNS[:2], {"column": "email", "target": "contact.shoe_size"}]},
    )
    assert response.status_code == 400
    assert response.json()["errors"] == [
        {
            "field": "columns.2.target",
            "message": "'contact.shoe_size' is not a field of this source.",
        }
    ]

    response = api.patch(f"/imports/{run_id}", {"options": {"encoding": "klingon"}})
    assert response.status_code == 400
    assert response.json()["errors"] == [
        {"field": "encoding", "message": "Unknown encoding 'klingon'."}
    ]

    response = api.patch(f"/imports/{run_id}", {"options": {"format": "xlsx"}})
    assert response.status_code == 400
    assert response.json()["errors"][0]["field"] == "options"

    response = api.patch(f"/imports/{run_id}", {"options": {"delimiter": ";;"}})
    assert response.status_code == 422
    assert response.json()["errors"][0]["field"] == "options.delimiter"

    response = api.patch(f"/imports/{run_id}", {"match_by": "phone"})
    assert response.status_code == 422
    assert ImportRun.objects.values("options", "columns", "match_by").get(pk=run_id) == before

    assert api.get(f"/imports/{run_id}/preview", {"rows": 0}).status_code == 400
    assert api.get(f"/imports/{run_id}/preview", {"sheet": "x"}).status_code == 400

    assert post(api, f"/imports/{run_id}/start").status_code == 202
    response = api.patch(f"/imports/{run_id}", {"match_by": "none"})
    assert response.status_code == 400
    assert response.json()["detail"] == (
        "The request was not accepted. Only an import that has not started can be changed."
    )
    response = post(api, f"/imports/{run_id}/start")
    assert response.status_code == 400
    assert response.json()["detail"] == (
        "The request was not accepted. This import has already started."
    )
    assert ImportRun.objects.get(pk=run_id).match_by == "email"


def test_upload_refuses_an_empty_file(api_as, admin_user, billing):
    response = upload(api_as(admin_user), billing.pk, "empty.csv", b"")
    assert response.status_code == 400
    assert response.json()["errors"] == [{"field": "file", "message": "The file is empty."}]
    assert ImportRun.objects.count() == 0


def test_upload_of_a_damaged_workbook(api_as, admin_user, billing):
    response = upload(api_as(admin_user), billing.pk, "people.xlsx", b"PK\x03\x04 not really")
    assert response.status_code == 400
    assert response.json()["errors"] == [
        {"field": "file", "message": "The file cannot be read (File is not a zip file)."}
    ]
    assert ImportRun.objects.count() == 0


def test_upload_without_a_file_is_a_schema_error(api_as, admin_user, billing):
    api = api_as(admin_user)
    response = api.client.post(f"/api/sources/{billing.pk}/imports", {})
    assert response.status_code == 422
    assert response.json()["errors"][0]["field"] == "file"
    assert ImportRun.objects.count() == 0


def test_second_upload_starts_from_the_saved_mapping(api_as, admin_user, billing):
    api = api_as(admin_user)
    run_id = drafted(api, billing)["id"]
    api.patch(f"/imports/{run_id}", {"columns": BILLING_COLUMNS})
    post(api, f"/imports/{run_id}/start")

    again = drafted(api, billing)
    assert again["mapping_id"] == ImportRun.objects.get(pk=run_id).mapping_id
    assert [c["target"] for c in again["columns"]] == [c["target"] for c in BILLING_COLUMNS]


def test_cancel_a_draft_and_resume_refused(api_as, admin_user, billing):
    api = api_as(admin_user)
    run_id = drafted(api, billing)["id"]
    response = post(api, f"/imports/{run_id}/resume")
    assert response.status_code == 400
    assert ImportRun.objects.get(pk=run_id).status == "draft"
    response = post(api, f"/imports/{run_id}/cancel")
    assert response.status_code == 200
    assert response.json()["status"] == "cancelled"
    assert post(api, f"/imports/{run_id}/cancel").status_code == 400


def test_resume_a_failed_import(api_as, admin_user, billing):
    api = api_as(admin_user)
    run_id = drafted(api, billing)["id"]
    api.patch(f"/imports/{run_id}", {"columns": BILLING_COLUMNS})
    post(api, f"/imports/{run_id}/start")
    # Pretend the run failed half way (as a crash would leave it) before its last batch.
    ImportRun.objects.filter(pk=run_id).update(status="failed", error="OperationalError: gone")
    response = post(api, f"/imports/{run_id}/resume")
    assert response.status_code == 202
    assert response.json()["error"] == ""
    assert api.get(f"/imports/{run_id}").json()["status"] == "completed"


def test_rerun_quarantined_rows_with_a_fixed_mapping(api_as, admin_user, billing):
    api = api_as(admin_user)
    text = "id,first,last,nick\n1,Ann,Ash,\n2,,,Bea\n"
    draft = upload(api, billing.pk, "people.csv", text.encode()).json()
    columns = [
        {"column": "id", "target": "source_key"},
        {"column": "first", "target": "contact.first_name"},
        {"column": "last", "target": "contact.last_name"},
        {"column": "nick", "target": ""},
    ]
    api.patch(f"/imports/{draft['id']}", {"columns": columns})
    post(api, f"/imports/{draft['id']}/start")
    assert api.get(f"/imports/{draft['id']}").json()["counts"]["quarantined"] == 1

    fixed = [
        *columns[:2],
        {"column": "last", "target": ""},
        {"column": "nick", "target": "contact.last_name"},
    ]
    response = post(api, f"/imports/{draft['id']}/rerun", {"columns": fixed})
    assert response.status_code == 201, response.json()
    rerun = response.json()
    assert (rerun["kind"], rerun["status"], rerun["parent_id"]) == ("rerun", "draft", draft["id"])
    assert [c["target"] for c in rerun["columns"]] == [
        "source_key",
        "contact.first_name",
        "",
        "contact.last_name",
    ]

    assert post(api, f"/imports/{rerun['id']}/start").status_code == 202
    done = api.get(f"/imports/{rerun['id']}").json()
    assert (done["status"], done["counts"]["created"], done["counts"]["quarantined"]) == (
        "completed",
        1,
        0,
    )
    assert Contact.objects.filter(last_name="Bea").count() == 1
    assert QuarantinedRow.objects.get(run_id=draft["id"]).resolved_by_id == rerun["id"]

    response = post(api, f"/imports/{draft['id']}/rerun", {"columns": []})
    assert response.status_code == 201
    assert response.json()["columns"] == []


def test_import_list_filters_and_pages(api_as, admin_user, billing):
    api = api_as(admin_user)
    other = services.source_create(actor=admin_user, data={"name": "Shop"})
    ids = [drafted(api, billing)["id"] for _ in range(3)]
    shop_id = upload(api, other.pk, "shop.csv", b"id,name\n1,Ann Ash\n").json()["id"]
    post(api, f"/imports/{ids[0]}/cancel")

    page = api.get("/imports", {"limit": 2}).json()
    assert [r["id"] for r in page["results"]] == [shop_id, ids[2]]
    page = api.get("/imports", {"limit": 2, "cursor": page["next_cursor"]}).json()
    assert [r["id"] for r in page["results"]] == [ids[1], ids[0]]
    assert page["next_cursor"] is None

    assert [r["id"] for r in api.get("/imports", {"source": billing.pk}).json()["results"]] == [
        ids[2],
        ids[1],
        ids[0],
    ]
    assert [r["id"] for r in api.get("/imports", {"status": "cancelled"}).json()["results"]] == [
        ids[0]
    ]
    response = api.get("/imports", {"state": "draft"})
    assert response.status_code == 400
    assert response.json()["errors"] == [{"field": "state", "message": "Unknown parameter."}]
    response = api.get("/imports", {"cursor": "garbage"})
    assert response.status_code == 400
    assert response.json()["errors"][0]["field"] == "cursor"


def test_import_list_queries_do_not_grow_with_rows(api_as, admin_user, billing):
    api = api_as(admin_user)
    drafted(api, billing)

    def queries() -> int:
        with CaptureQueriesContext(connection) as captured:
            assert api.get("/imports").status_code == 200
        return len(captured)

    few = queries()
    for _ in range(4):
        drafted(api, billing)
    assert queries() == few


# --- progress ----------------------------------------------------------------------------------


def test_progress_counts_the_current_attempt_only(billing):
    t0 = timezone.now() - datetime.timedelta(hours=5)
    run = ImportRun(
        source=billing,
        status=ImportRun.Status.RUNNING,
        total_rows=10_000,
        rows_done=3_000,
        started_at=t0 - datetime.timedelta(days=1),
        resumed_at=t0,
        rows_at_resume=1_000,
    )
    progress = selectors.import_progress(run, now=t0 + datetime.timedelta(seconds=100))
    assert progress == selectors.ImportProgress(
        rows_done=3_000, total_rows=10_000, percent=30.0, rate=20.0, eta_seconds=350
    )

    run.status = ImportRun.Status.FAILED
    run.finished_at = t0 + datetime.timedelta(seconds=50)
    progress = selectors.import_progress(run, now=t0 + datetime.timedelta(hours=1))
    assert progress == selectors.ImportProgress(
        rows_done=3_000, total_rows=10_000, percent=30.0, rate=40.0, eta_seconds=None
    )

    draft = ImportRun(source=billing)
    assert selectors.import_progress(draft) == selectors.ImportProgress(
        rows_done=0, total_rows=None, percent=None, rate=None, eta_seconds=None
    )


# --- sources -----------------------------------------------------------------------------------


def test_source_create_read_update_delete(api_as, admin_user):
    api = api_as(admin_user)
    response = post(api, "/sources", {"name": "Web shop", "kind": "api", "default_region": "de"})
    assert response.status_code == 201, response.json()
    created = response.json()
    assert {k: created[k] for k in ("name", "kind", "entity", "default_region", "version")} == {
        "name": "Web shop",
        "kind": "api",
        "entity": "contact",
        "default_region": "DE",
        "version": 1,
    }
    assert created["created_by"] == {"id": admin_user.pk, "name": admin_user.display_name}
    source_id = created["id"]

    response = api.patch(f"/sources/{source_id}", {"version": 1, "trust_rank": 80})
    assert response.status_code == 200, response.json()
    assert (response.json()["trust_rank"], response.json()["version"]) == (80, 2)

    response = api.patch(f"/sources/{source_id}", {"version": 1, "trust_rank": 10})
    assert response.status_code == 409
    assert response.json()["current_version"] == 2
    assert Source.objects.get(pk=source_id).trust_rank == 80

    response = api.patch(f"/sources/{source_id}", {"version": 2, "name": None})
    assert response.status_code == 422
    response = post(api, "/sources", {"name": "Web shop"})
    assert response.status_code == 400
    assert response.json()["errors"][0]["field"] == "name"
    response = post(api, "/sources", {"name": "X", "trust_rank": 101})
    assert response.status_code == 422

    assert [s["name"] for s in api.get("/sources").json()] == ["Web shop"]
    assert api.get(f"/sources/{source_id}").json()["trust_rank"] == 80

    assert api.delete(f"/sources/{source_id}").status_code == 204
    assert not Source.objects.filter(pk=source_id).exists()
    assert api.get(f"/sources/{source_id}").status_code == 404


def test_a_source_with_records_cannot_be_deleted(api_as, admin_user, billing):
    api = api_as(admin_user)
    post(api, f"/sources/{billing.pk}/records/bulk", {"items": [_item("k1", "Ann")]})
    response = api.delete(f"/sources/{billing.pk}")
    assert response.status_code == 400
    assert Source.objects.filter(pk=billing.pk).exists()


def test_targets_include_custom_fields(api_as, admin_user, billing):
    CustomFieldDefinition.objects.create(
        object_type="contact", name="tier", label="Tier", field_type="choice", choices=["A"]
    )
    CustomFieldDefinition.objects.create(
        object_type="account", name="region", label="Region", field_type="text"
    )
    body = api_as(admin_user).get(f"/sources/{billing.pk}/targets").json()
    keys = [t["key"] for t in body["targets"]]
    assert keys[:3] == ["source_key", "contact.full_name", "contact.prefix"]
    assert "account.domain" not in keys
    assert body["targets"][-1] == {
        "key": "custom.tier",
        "label": "Tier",
        "kind": "choice",
        "group": "Custom fields",
        "max_length": None,
    }
    assert {"key": "last_first", "label": 'Split "Last, First"'} in body["transforms"]
    assert body["date_formats"][0] == {"key": "auto", "label": "Detect"}
    assert {"key": "%d.%m.%Y", "label": "31.12.2024"} in body["date_formats"]


# --- bulk upsert -------------------------------------------------------------------------------


def _item(key: str, first: str, last: str = "Ash", **extra: Any) -> dict[str, Any]:
    return {"source_key": key, "contact.first_name": first, "contact.last_name": last, **extra}


def test_bulk_upsert_reports_each_item(api_as, admin_user, billing):
    api = api_as(admin_user)
    items = [
        _item("k1", "Ann", email="ann@example.com"),
        _item("k2", "", ""),
        _item("k3", "Bea", "Birch", email="not-an-email"),
    ]
    response = post(api, f"/sources/{billing.pk}/records/bulk", {"items": items})
    assert response.status_code == 200, response.json()
    body = response.json()
    ann = Contact.objects.get(first_name="Ann")
    bea = Contact.objects.get(first_name="Bea")
    assert body["results"] == [
        {
            "index": 0,
            "source_key": "k1",
            "status": "created",
            "record_id": ann.pk,
            "problems": [],
            "reason": "",
            "message": "",
        },
        {
            "index": 1,
            "source_key": "",
            "status": "quarantined",
            "record_id": None,
            "problems": [],
            "reason": "no_name",
            "message": "The row has no name (first or last).",
        },
        {
            "index": 2,
            "source_key": "k3",
            "status": "created",
            "record_id": bea.pk,
            "problems": [
                {
                    "column": "email",
                    "field": "email",
                    "code": "invalid_email",
                    "message": body["results"][2]["problems"][0]["message"],
                    "value": "not-an-email",
                }
            ],
            "reason": "",
            "message": "",
        },
    ]
    assert body["counts"] == {
        "created": 2,
        "updated": 0,
        "unchanged": 0,
        "quarantined": 1,
        "flagged": 1,
    }
    run = ImportRun.objects.get(pk=body["run_id"])
    assert (run.kind, run.status, run.source_id) == ("api", "completed", billing.pk)

    again = post(api, f"/sources/{billing.pk}/records/bulk", {"items": items}).json()
    assert [(r["status"], r["record_id"]) for r in again["results"]] == [
        ("unchanged", ann.pk),
        ("quarantined", None),
        ("unchanged", bea.pk),
    ]

    items[0]["contact.first_name"] = "Anne"
    third = post(api, f"/sources/{billing.pk}/records/bulk", {"items": items}).json()
    assert [(r["status"], r["record_id"]) for r in third["results"]] == [
        ("updated", ann.pk),
        ("quarantined", None),
        ("unchanged", bea.pk),
    ]
    ann.refresh_from_db()
    assert ann.first_name == "Anne"
    assert Contact.objects.count() == 2


def test_bulk_with_a_column_mapping(api_as, admin_user, billing):
    api = api_as(admin_user)
    columns = [
        {"column": "id", "target": "source_key"},
        {"column": "given", "target": "contact.first_name"},
        {"column": "family", "target": "contact.last_name"},
        {"column": "mail", "target": "email"},
    ]
    body = {
        "items": [{"id": 7, "given": "Cy", "family": "Cole", "mail": "cy@example.com"}],
        "columns": columns,
        "match_by": "none",
    }
    response = post(api, f"/sources/{billing.pk}/records/bulk", body)
    assert response.status_code == 200, response.json()
    result = response.json()["results"][0]
    assert (result["status"], result["source_key"]) == ("created", "7")
    assert EmailAddress.objects.get(contact_id=result["record_id"]).email == "cy@example.com"
    record = SourceRecord.objects.get(source=billing, source_key="7")
    assert record.payload == {"id": "7", "given": "Cy", "family": "Cole", "mail": "cy@example.com"}


def test_bulk_refuses_unknown_targets_and_too_many_items(api_as, admin_user, billing):
    api = api_as(admin_user)
    url = f"/sources/{billing.pk}/records/bulk"

    response = post(api, url, {"items": [_item("k1", "Ann", shoe_size="44")]})
    assert response.status_code == 400
    assert response.json()["errors"] == [
        {"field": "items", "message": "'shoe_size' is not a field of this source."}
    ]

    columns = [
        {"column": "id", "target": "source_key"},
        {"column": "first", "target": "contact.first_name"},
        {"column": "shoe", "target": "contact.shoe_size"},
    ]
    response = post(api, url, {"items": [{"id": "1", "first": "Ann"}], "columns": columns})
    assert response.status_code == 400
    assert response.json()["errors"] == [
        {
            "field": "columns.2.target",
            "message": "'contact.shoe_size' is not a field of this source.",
        }
    ]

    response = post(api, url, {"items": [_item(f"k{i}", "Ann") for i in range(1001)]})
    assert response.status_code == 422
    assert response.json()["errors"][0]["field"] == "items"

    response = post(api, url, {"items": [{"source_key": "k1", "contact.tags": ["a"]}]})
    assert response.status_code == 422
    response = post(api, url, {"items": []})
    assert response.status_code == 422
    response = post(api, url, {"items": [_item("k1", "Ann")], "match_by": "phone"})
    assert response.status_code == 422

    assert ImportRun.objects.count() == 0
    assert Contact.objects.count() == 0


# --- lineage -----------------------------------------------------------------------------------


def test_source_records_of_a_contact(api_as, admin_user, billing):
    api = api_as(admin_user)
    shop = services.source_create(actor=admin_user, data={"name": "Shop"})
    first = post(
        api, f"/sources/{billing.pk}/records/bulk", {"items": [_item("B1", "Ann", email="a@x.io")]}
    ).json()
    contact_id = first["results"][0]["record_id"]
    post(api, f"/sources/{shop.pk}/records/bulk", {"items": [_item("S9", "Ann", email="a@x.io")]})
    post(api, f"/sources/{shop.pk}/records/bulk", {"items": [_item("S10", "Cy", "Cole")]})

    page = api.get("/source-records", {"contact": contact_id}).json()
    assert [(r["source"]["name"], r["source_key"]) for r in page["results"]] == [
        ("Shop", "S9"),
        ("Billing", "B1"),
    ]
    billing_record = page["results"][1]
    record = SourceRecord.objects.get(source=billing, source_key="B1")
    assert billing_record == {
        "id": record.pk,
        "source": {"id": billing.pk, "name": "Billing"},
        "source_key": "B1",
        "payload": {
            "source_key": "B1",
            "contact.first_name": "Ann",
            "contact.last_name": "Ash",
            "email": "a@x.io",
        },
        "normalised": record.normalised,
        "problems": [],
        "line": 1,
        "first_seen_at": billing_record["first_seen_at"],
        "last_seen_at": billing_record["last_seen_at"],
        "last_run_id": first["run_id"],
        "contact_id": contact_id,
        "account_id": None,
    }
    assert record.normalised["emails"] == [{"email": "a@x.io", "kind": "work"}]

    keys = api.get("/source-records", {"source": shop.pk, "source_key": "S10"}).json()
    assert [r["source_key"] for r in keys["results"]] == ["S10"]

    response = api.get("/source-records", {"contact": 999_999})
    assert response.status_code == 400
    assert response.json()["errors"] == [
        {"field": "contact", "message": "There is no contact with id 999999."}
    ]
    assert api.get("/source-records", {"person": 1}).status_code == 400


def test_source_record_list_queries_do_not_grow_with_rows(api_as, admin_user, billing):
    api = api_as(admin_user)
    url = f"/sources/{billing.pk}/records/bulk"
    post(api, url, {"items": [_item("k0", "Ann")]})

    def queries() -> int:
        with CaptureQueriesContext(connection) as captured:
            assert len(api.get("/source-records").json()["results"]) == SourceRecord.objects.count()
        return len(captured)

    few = queries()
    shop = services.source_create(actor=admin_user, data={"name": "Shop"})
    post(
        api, f"/sources/{shop.pk}/records/bulk", {"items": [_item(f"s{i}", "Bo") for i in range(5)]}
    )
    assert queries() == few


# --- idempotency keys --------------------------------------------------------------------------


def test_a_replayed_key_answers_without_writing_again(api_as, admin_user, billing):
    api = api_as(admin_user)
    url = f"/sources/{billing.pk}/records/bulk"
    body = {"items": [_item("k1", "Ann")]}

    first = post(api, url, body, key="bulk-0001")
    assert first.status_code == 200
    assert "Idempotent-Replayed" not in first
    events = AuditEvent.objects.count()

    # The same content with other spacing and key order is the same request.
    again = api.client.post(
        "/api" + url,
        data='{"items":[{"contact.last_name":"Ash","contact.first_name":"Ann","source_key":"k1"}]}',
        content_type="application/json",
        headers={"Idempotency-Key": "bulk-0001"},
    )
    assert again.status_code == 200
    assert again["Idempotent-Replayed"] == "true"
    assert again.json() == first.json()
    assert ImportRun.objects.count() == 1
    assert AuditEvent.objects.count() == events

    stored = IdempotencyKey.objects.get()
    assert (stored.user_id, stored.key, stored.method, stored.path, stored.response_status) == (
        admin_user.pk,
        "bulk-0001",
        "POST",
        f"/api{url}",
        200,
    )


def test_a_key_reused_for_another_request_is_refused(api_as, admin_user, billing):
    api = api_as(admin_user)
    url = f"/sources/{billing.pk}/records/bulk"
    assert post(api, url, {"items": [_item("k1", "Ann")]}, key="k-1").status_code == 200

    response = post(api, url, {"items": [_item("k1", "Bea")]}, key="k-1")
    assert response.status_code == 422
    assert response.json() == {
        "detail": "This Idempotency-Key was used with a different request body; use a new "
        "key for a different request.",
        "errors": [
            {
                "field": "Idempotency-Key",
                "message": "This Idempotency-Key was used with a different request body; use "
                "a new key for a different request.",
            }
        ],
    }
    response = post(api, "/sources", {"name": "Shop"}, key="k-1")
    assert response.status_code == 422
    assert response.json()["detail"] == (
        f"This Idempotency-Key was used for POST /api{url}; use a new key for another request."
    )
    assert ImportRun.objects.count() == 1
    assert Contact.objects.get().first_name == "Ann"
    assert not Source.objects.filter(name="Shop").exists()


def test_keys_belong_to_their_user_and_expire(api_as, admin_user, manager_north):
    assert post(api_as(admin_user), "/sources", {"name": "A"}, key="same").status_code == 201
    response = post(api_as(manager_north), "/sources", {"name": "B"}, key="same")
    assert response.status_code == 201
    assert "Idempotent-Replayed" not in response

    IdempotencyKey.objects.filter(user=admin_user).update(
        created_at=timezone.now() - datetime.timedelta(hours=25)
    )
    response = post(api_as(admin_user), "/sources", {"name": "A"}, key="same")
    assert response.status_code == 400  # done again: the name is taken now
    assert "Idempotent-Replayed" not in response
    assert IdempotencyKey.objects.filter(user=admin_user).get().response_status == 400


def test_refusals_are_replayed_and_bad_keys_refused(api_as, admin_user, billing):
    api = api_as(admin_user)
    first = post(api, "/sources", {"name": "Billing"}, key="dup")
    assert first.status_code == 400
    Source.objects.filter(pk=billing.pk).update(name="Renamed")
    again = post(api, "/sources", {"name": "Billing"}, key="dup")
    assert (again.status_code, again["Idempotent-Replayed"]) == (400, "true")
    assert again.json() == first.json()

    response = post(api, "/sources", {"name": "New"}, key="x" * 256)
    assert response.status_code == 400
    assert response.json()["errors"] == [
        {
            "field": "Idempotency-Key",
            "message": "The Idempotency-Key header must be 1 to 255 printable ASCII characters.",
        }
    ]
    # Refused by the schema: nothing is claimed, the key stays free.
    assert post(api, "/sources", {"name": ""}, key="fresh").status_code == 422
    assert post(api, "/sources", {"name": "New"}, key='"fresh"').status_code == 201
    assert set(Source.objects.values_list("name", flat=True)) == {"Renamed", "New"}


def test_a_json_body_labelled_multipart_is_fingerprinted_as_sent(api_as, admin_user):
    api = api_as(admin_user)
    responses = [
        api.client.post(
            "/api/sources",
            data=json.dumps({"name": "Shop"}),
            content_type="multipart/form-data",
            headers={"Idempotency-Key": "odd"},
        )
        for _ in range(2)
    ]
    assert [r.status_code for r in responses] == [201, 201]
    assert responses[1]["Idempotent-Replayed"] == "true"
    assert Source.objects.get().name == "Shop"


def test_a_key_still_being_answered_is_refused(api_as, admin_user):
    api = api_as(admin_user)
    IdempotencyKey.objects.create(
        user=admin_user,
        key="busy",
        method="POST",
        path="/api/sources",
        fingerprint="0" * 64,
    )
    body = {"name": "Shop"}
    response = post(api, "/sources", body, key="busy")
    assert response.status_code == 422  # another body than the one being answered
    IdempotencyKey.objects.filter(key="busy").update(
        fingerprint=_fingerprint_of(body), created_at=timezone.now()
    )
    response = post(api, "/sources", body, key="busy")
    assert response.status_code == 409
    assert response.json()["errors"][0]["field"] == "Idempotency-Key"
    assert not Source.objects.exists()

    # A claim left by a process that died is taken over after a while.
    IdempotencyKey.objects.filter(key="busy").update(
        created_at=timezone.now() - datetime.timedelta(minutes=11)
    )
    assert post(api, "/sources", body, key="busy").status_code == 201


def test_a_failure_after_the_write_undoes_it_with_the_claim(api_as, admin_user, monkeypatch):
    """The write and its stored answer commit together: a 5xx after the write leaves neither,
    so the retry with the same key does the write once."""
    api = api_as(admin_user)
    create = services.source_create

    def create_then_fail(**kwargs: Any) -> Source:
        create(**kwargs)
        raise RuntimeError("the answer could not be rendered")

    monkeypatch.setattr(services, "source_create", create_then_fail)
    failed = post(api, "/sources", {"name": "Shop"}, key="retry-me")
    assert failed.status_code == 500
    assert not Source.objects.exists()
    assert not IdempotencyKey.objects.filter(key="retry-me").exists()

    monkeypatch.setattr(services, "source_create", create)
    first = post(api, "/sources", {"name": "Shop"}, key="retry-me")
    again = post(api, "/sources", {"name": "Shop"}, key="retry-me")
    assert (first.status_code, again.status_code, again["Idempotent-Replayed"]) == (
        201,
        201,
        "true",
    )
    assert again.json()["id"] == first.json()["id"]
    assert Source.objects.count() == 1


def _fingerprint_of(body: dict[str, Any]) -> str:
    import hashlib

    canonical = json.dumps(body, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    return hashlib.sha256(canonical.encode()).hexdigest()


def test_upload_start_and_revert_replay(api_as, admin_user, billing):
    api = api_as(admin_user)
    first = upload(api, billing.pk, "billing.csv", BILLING, key="up-1")
    again = upload(api, billing.pk, "billing.csv", BILLING, key="up-1")
    assert (first.status_code, again.status_code) == (201, 201)
    assert again["Idempotent-Replayed"] == "true"
    assert again.json()["id"] == first.json()["id"]
    assert ImportRun.objects.count() == 1
    other = upload(
        api, billing.pk, "billing.csv", BILLING + b"K9;Zed, Zoe;z@x.io;;\r\n", key="up-1"
    )
    assert other.status_code == 422

    run_id = first.json()["id"]
    api.patch(f"/imports/{run_id}", {"columns": BILLING_COLUMNS})
    assert post(api, f"/imports/{run_id}/start", key="start-1").status_code == 202
    replay = post(api, f"/imports/{run_id}/start", key="start-1")
    assert (replay.status_code, replay["Idempotent-Replayed"]) == (202, "true")

    reverted = post(api, f"/imports/{run_id}/revert", key="revert-1")
    replayed = post(api, f"/imports/{run_id}/revert", key="revert-1")
    assert (reverted.status_code, replayed.status_code) == (200, 200)
    assert replayed.json() == reverted.json()
    assert post(api, f"/imports/{run_id}/revert", key="revert-2").status_code == 400


# --- who may do what ---------------------------------------------------------------------------


def test_read_only_users_see_no_sources_and_cannot_import(
    api_as, admin_user, readonly_user, billing
):
    run_id = drafted(api_as(admin_user), billing)["id"]
    api = api_as(readonly_user)

    assert api.get("/sources").json() == []
    assert api.get(f"/sources/{billing.pk}").status_code == 404
    assert api.get(f"/imports/{run_id}").status_code == 404
    assert api.get("/imports").json()["results"] == []
    assert post(api, f"/imports/{run_id}/start").status_code == 404
    assert api.patch(f"/imports/{run_id}", {"match_by": "none"}).status_code == 404
    assert (
        post(api, f"/sources/{billing.pk}/records/bulk", {"items": [_item("k", "A")]}).status_code
        == 404
    )
    assert upload(api, billing.pk, "b.csv", BILLING).status_code == 404
    assert post(api, "/sources", {"name": "Mine"}).status_code == 403
    assert api.get(f"/imports/{run_id}/errors.csv").status_code == 404
    assert api.get("/source-records").json()["results"] == []

    run = ImportRun.objects.get(pk=run_id)
    assert (run.status, run.match_by) == ("draft", "email")
    assert ImportRun.objects.count() == 1
    assert Source.objects.count() == 1


def test_who_may_see_a_source_may_not_change_it(api_as, admin_user, source_viewer, billing):
    run_id = drafted(api_as(admin_user), billing)["id"]
    api = api_as(source_viewer)

    assert api.get(f"/imports/{run_id}").status_code == 200
    assert api.get(f"/imports/{run_id}/preview").status_code == 200
    response = post(api, f"/imports/{run_id}/start")
    assert response.status_code == 403
    assert response.json() == {"detail": "You may not import into this source.", "errors": []}
    assert api.patch(f"/imports/{run_id}", {"match_by": "none"}).status_code == 403
    assert post(api, f"/imports/{run_id}/cancel").status_code == 403
    assert upload(api, billing.pk, "b.csv", BILLING).status_code == 403
    response = post(api, f"/sources/{billing.pk}/records/bulk", {"items": [_item("k", "A")]})
    assert response.status_code == 403
    assert api.patch(f"/sources/{billing.pk}", {"version": 1, "trust_rank": 1}).status_code == 403
    assert api.delete(f"/sources/{billing.pk}").status_code == 403

    run = ImportRun.objects.get(pk=run_id)
    assert (run.status, run.match_by) == ("draft", "email")
    assert ImportRun.objects.count() == 1
    assert Source.objects.get().trust_rank == 50
    assert Contact.objects.count() == 0


def test_a_denied_write_keeps_its_key_answer(api_as, source_viewer, admin_user, billing):
    run_id = drafted(api_as(admin_user), billing)["id"]
    api = api_as(source_viewer)
    assert post(api, f"/imports/{run_id}/start", key="try").status_code == 403
    replay = post(api, f"/imports/{run_id}/start", key="try")
    assert (replay.status_code, replay["Idempotent-Replayed"]) == (403, "true")
    assert ImportRun.objects.get(pk=run_id).status == "draft"


# --- what the writer refuses, row by row -----------------------------------------------------


def test_a_row_may_not_change_a_customer_the_user_may_not_change(
    api_as, admin_user, manager_north, rep_south, set_visibility, billing
):
    """Keyed to a customer now owned in another team, the row is refused: the customer stays
    as it was and its id is not told; the user's other rows are written."""
    set_visibility("private")
    post(api_as(admin_user), f"/sources/{billing.pk}/records/bulk", {"items": [_item("k1", "Ann")]})
    ann = Contact.objects.get(first_name="Ann")
    Contact.objects.filter(pk=ann.pk).update(owner=rep_south, team=rep_south.team)

    items = [_item("k1", "Hacked"), _item("k2", "Bea")]
    response = post(api_as(manager_north), f"/sources/{billing.pk}/records/bulk", {"items": items})
    assert response.status_code == 200, response.json()
    results = response.json()["results"]
    assert [(r["status"], r["record_id"], r["reason"]) for r in results] == [
        ("quarantined", None, "forbidden"),
        ("created", Contact.objects.get(first_name="Bea").pk, ""),
    ]
    ann.refresh_from_db()
    assert ann.first_name == "Ann"
    assert (
        SourceRecord.objects.get(source=billing, source_key="k1").normalised["contact.first_name"]
        == "Ann"
    )

    # Sent again unchanged by the same user: seen, but the customer's id is still not told.
    same = post(
        api_as(admin_user), f"/sources/{billing.pk}/records/bulk", {"items": [_item("k1", "Ann")]}
    )
    assert same.json()["results"][0]["status"] == "unchanged"
    hidden = post(
        api_as(manager_north),
        f"/sources/{billing.pk}/records/bulk",
        {"items": [_item("k1", "Ann")]},
    )
    assert [(r["status"], r["record_id"]) for r in hidden.json()["results"]] == [
        ("unchanged", None)
    ]

    # Someone who may change it re-sends the row: now it updates.
    again = post(api_as(admin_user), f"/sources/{billing.pk}/records/bulk", {"items": items[:1]})
    assert again.json()["results"][0]["status"] == "updated"
    ann.refresh_from_db()
    assert ann.first_name == "Hacked"


def test_values_the_database_cannot_hold_are_refused_or_flagged(api_as, admin_user, billing):
    api = api_as(admin_user)
    items = [
        _item("x" * 300, "Long"),
        _item("k2", "A\ud800b"),
        _item("k3", "Fine"),
    ]
    response = post(api, f"/sources/{billing.pk}/records/bulk", {"items": items})
    assert response.status_code == 200, response.content
    results = response.json()["results"]
    assert [(r["status"], r["reason"]) for r in results] == [
        ("quarantined", "key_too_long"),
        ("quarantined", "undecodable"),
        ("created", ""),
    ]
    assert "300 characters" in results[0]["message"]
    assert Contact.objects.get().first_name == "Fine"

    accounts = services.source_create(actor=admin_user, data={"name": "ERP", "entity": "account"})
    items = [
        {"source_key": "a1", "account.name": "Huge", "account.employee_count": "1e20"},
        {"source_key": "a2", "account.name": "Rich", "account.annual_revenue": "1e30"},
        {"source_key": "a3", "account.name": "Exact", "account.annual_revenue": "1234.567"},
    ]
    response = post(api, f"/sources/{accounts.pk}/records/bulk", {"items": items})
    assert response.status_code == 200, response.content
    results = response.json()["results"]
    assert [r["status"] for r in results] == ["created"] * 3
    assert [[p["code"] for p in r["problems"]] for r in results] == [
        ["out_of_range"],
        ["out_of_range"],
        [],
    ]
    from patron.customers.models import Account

    assert Account.objects.get(name="Huge").employee_count is None
    assert Account.objects.get(name="Rich").annual_revenue is None
    assert str(Account.objects.get(name="Exact").annual_revenue) == "1234.57"
    assert SourceRecord.objects.get(source_key="a3").normalised["account.annual_revenue"] == (
        "1234.57"
    )
    # What was stored reads back through the API.
    assert (
        api.client.get(
            f"/api/accounts/{Account.objects.get(name='Exact').pk}", headers=api.headers
        ).status_code
        == 200
    )


@pytest.mark.skipif(connection.vendor != "postgresql", reason="COPY is PostgreSQL's")
def test_a_value_the_database_refuses_quarantines_its_row_only(api_as, admin_user, monkeypatch):
    """A value the checks let through but PostgreSQL refuses (an integer out of range) fails
    COPY: the batch is written again row by row and only that row is quarantined."""
    from patron.integration import fields

    monkeypatch.setattr(fields, "MAX_EMPLOYEES", 10**30)
    accounts = services.source_create(actor=admin_user, data={"name": "ERP", "entity": "account"})
    items = [
        {"source_key": "a1", "account.name": "Huge", "account.employee_count": "1e20"},
        {"source_key": "a2", "account.name": "Fine", "account.employee_count": "12"},
    ]
    response = post(api_as(admin_user), f"/sources/{accounts.pk}/records/bulk", {"items": items})
    assert response.status_code == 200, response.content
    results = response.json()["results"]
    assert [(r["status"], r["reason"]) for r in results] == [
        ("quarantined", "database"),
        ("created", ""),
    ]


def test_bulk_keys_are_the_same_whatever_json_type_carries_them(api_as, admin_user, billing):
    api = api_as(admin_user)
    post(api, f"/sources/{billing.pk}/records/bulk", {"items": [_item(7, "Ann")]})
    again = post(api, f"/sources/{billing.pk}/records/bulk", {"items": [_item(7.0, "Ann")]})
    assert again.json()["results"][0]["status"] == "unchanged"
    assert Contact.objects.count() == 1
    assert SourceRecord.objects.get().source_key == "7"


def test_saved_reading_options_give_way_to_what_the_file_shows(api_as, admin_user, billing):
    """The source's last file was Windows-1252 with semicolons: a file that is plainly UTF-8
    (a BOM, or UTF-8 beyond ASCII) or has no semicolon in its header is read as detected."""
    api = api_as(admin_user)
    run_id = drafted(api, billing)["id"]
    api.patch(f"/imports/{run_id}", {"columns": BILLING_COLUMNS})
    post(api, f"/imports/{run_id}/start")
    assert ImportRun.objects.get(pk=run_id).mapping.options["encoding"] == "cp1252"

    same = upload(api, billing.pk, "b.csv", BILLING).json()
    assert (same["options"]["encoding"], same["options"]["delimiter"]) == ("cp1252", ";")
    as_utf8 = BILLING.decode("cp1252").encode("utf-8")
    plain = upload(api, billing.pk, "b.csv", as_utf8).json()
    assert plain["options"]["encoding"] == "utf-8"
    marked = upload(api, billing.pk, "b.csv", b"\xef\xbb\xbf" + as_utf8).json()
    assert marked["options"]["encoding"] == "utf-8-sig"
    commas = upload(api, billing.pk, "b.csv", as_utf8.replace(b";", b",")).json()
    assert commas["options"]["delimiter"] == ","
    preview = api.client.get(f"/api/imports/{plain['id']}/preview", headers=api.headers).json()
    assert "Müller, Anna" in json.dumps(preview, ensure_ascii=False)
