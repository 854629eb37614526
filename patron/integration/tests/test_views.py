"""The import screens through the Django test client: upload, mapping with preview, start,
progress, report, error file, revert and the permission checks."""

from __future__ import annotations

import csv
import io

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse

from patron.core.models import CustomFieldDefinition
from patron.core.tests.factories import UserFactory, role
from patron.customers.models import Contact
from patron.integration.models import ImportRun, Source

pytestmark = pytest.mark.django_db

CSV = (
    "id;name;email;phone;since\r\n"
    "1;Müller, Anna;anna@example.com;030 1234567;31.12.2020\r\n"
    "2;;nobody@example.com;;\r\n"
    '3;Smith, John;=HYPERLINK("http://x");;\r\n'
).encode("cp1252")


@pytest.fixture(autouse=True)
def var_dir(settings, tmp_path, monkeypatch):
    settings.VAR_DIR = tmp_path / "var"
    monkeypatch.setattr(
        "django.db.transaction.on_commit", lambda func, using=None, robust=False: func()
    )


def upload(client, **extra):
    data = {
        "new_source": "Billing",
        "entity": "contact",
        "default_region": "DE",
        "file": SimpleUploadedFile("billing.csv", CSV, content_type="text/csv"),
        **extra,
    }
    return client.post(reverse("import_upload"), data)


def test_upload_map_start_and_report(client, admin_user):
    client.force_login(admin_user)
    response = upload(client)
    run = ImportRun.objects.get()
    assert response.status_code == 302
    assert response["Location"] == reverse("import_map", args=[run.pk])
    assert Source.objects.get().default_region == "DE"

    page = client.get(reverse("import_map", args=[run.pk]))
    assert page.status_code == 200
    html = page.content.decode()
    assert "Map columns" in html
    assert "line 2" in html and "Anna" in html and "Müller" in html
    assert "Quarantined: The row has no name (first or last)." in html
    # The suggested mapping is preselected.
    assert '<option value="source_key" data-kind="text" selected>' in html
    assert '<option value="contact.full_name" data-kind="name" selected>' in html

    # Changing a column re-renders the preview (htmx partial).
    columns = run.columns
    post = {"action": "preview", "match_by": "email"}
    for i, c in enumerate(columns):
        post[f"target-{i}"] = c["target"]
        post[f"transform-{i}"] = c["transform"]
    post[f"target-{[c['column'] for c in columns].index('since')}"] = ""
    partial = client.post(reverse("import_map", args=[run.pk]), post, HTTP_HX_REQUEST="true")
    assert partial.status_code == 200
    assert 'id="mapping-preview"' in partial.content.decode()
    assert "<html" not in partial.content.decode()

    post["action"] = "start"
    started = client.post(reverse("import_map", args=[run.pk]), post)
    assert started.status_code == 302
    run.refresh_from_db()
    assert run.status == "completed"
    assert (run.created_count, run.quarantined_count, run.flagged_count) == (2, 1, 1)
    assert Contact.objects.filter(last_name="Müller").exists()

    report = client.get(reverse("import_detail", args=[run.pk])).content.decode()
    assert "Top problems" in report and "no_name" in report and "invalid_email" in report
    assert "The row has no name (first or last)." in report

    errors = client.get(reverse("import_errors", args=[run.pk]))
    body = b"".join(errors.streaming_content).decode()
    rows = list(csv.reader(io.StringIO(body.lstrip("\ufeff"))))
    assert rows[0][:5] == ["line", "problem", "column", "message", "value"]
    assert rows[1][:4] == ["3", "no_name", "", "The row has no name (first or last)."]
    # A formula-looking value is neutralised in the error file.
    assert rows[2][:3] == ["4", "invalid_email", "email"]
    assert rows[2][4].startswith("'=HYPERLINK")

    progress = client.get(
        reverse("import_detail", args=[run.pk]) + "?part=progress", HTTP_HX_REQUEST="true"
    )
    assert progress["HX-Refresh"] == "true"

    reverted = client.post(reverse("import_action", args=[run.pk, "revert"]))
    assert reverted.status_code == 302
    assert Contact.objects.count() == 0


def test_second_file_reuses_the_saved_mapping(client, admin_user):
    client.force_login(admin_user)
    upload(client)
    first = ImportRun.objects.get()
    columns = [dict(c) for c in first.columns]
    post = {"action": "start", "match_by": "none"}
    for i, c in enumerate(columns):
        post[f"target-{i}"] = "" if c["column"] == "phone" else c["target"]
        post[f"transform-{i}"] = c["transform"]
    client.post(reverse("import_map", args=[first.pk]), post)
    source = Source.objects.get()
    client.post(
        reverse("import_upload"),
        {"source": source.pk, "file": SimpleUploadedFile("b.csv", CSV)},
    )
    second = ImportRun.objects.exclude(pk=first.pk).get()
    assert next(c for c in second.columns if c["column"] == "phone")["target"] == ""
    assert second.match_by == "none"


def test_pages_render(client, admin_user):
    client.force_login(admin_user)
    upload(client)
    source = Source.objects.get()
    for url in [
        reverse("imports_home"),
        reverse("import_upload"),
        reverse("source_create"),
        reverse("source_detail", args=[source.pk]),
        reverse("source_edit", args=[source.pk]),
    ]:
        assert client.get(url).status_code == 200, url


def test_upload_needs_a_source(client, admin_user):
    client.force_login(admin_user)
    response = client.post(reverse("import_upload"), {"file": SimpleUploadedFile("b.csv", CSV)})
    assert response.status_code == 200
    assert "Choose a source, or name a new one." in response.content.decode()
    assert not ImportRun.objects.exists()


def test_read_only_users_cannot_import(client, readonly_user, admin_user):
    client.force_login(admin_user)
    upload(client)
    run = ImportRun.objects.get()
    client.force_login(readonly_user)
    assert client.get(reverse("imports_home")).status_code == 403
    assert client.get(reverse("import_upload")).status_code == 403
    assert client.get(reverse("import_map", args=[run.pk])).status_code == 404
    assert client.post(reverse("import_action", args=[run.pk, "revert"])).status_code == 404
    assert upload(client).status_code == 403
    assert ImportRun.objects.count() == 1


def test_contact_page_shows_where_its_values_came_from(client, admin_user, rep_south):
    client.force_login(admin_user)
    upload(client)
    run = ImportRun.objects.get()
    post = {"action": "start", "match_by": "email"}
    for i, c in enumerate(run.columns):
        post[f"target-{i}"] = c["target"]
        post[f"transform-{i}"] = c["transform"]
    client.post(reverse("import_map", args=[run.pk]), post)
    anna = Contact.objects.get(last_name="Müller")
    page = client.get(reverse("contact_detail", args=[anna.pk])).content.decode()
    panel_url = reverse("record_lineage", args=["contact", anna.pk])
    assert f'hx-get="{panel_url}"' in page
    panel = client.get(panel_url).content.decode()
    assert "Billing" in panel and "<dt>email</dt><dd>anna@example.com</dd>" in panel
    assert "line 2" in panel and f"import #{run.pk}" in panel
    # Someone who cannot see the contact cannot see its sources either.
    client.force_login(rep_south)
    assert client.get(panel_url).status_code == 404


def _mapping_post(run, action):
    post = {"action": action, "match_by": "email"}
    for i, c in enumerate(run.columns):
        post[f"target-{i}"] = c["target"]
        post[f"transform-{i}"] = c["transform"]
    return post


def test_a_column_gets_a_new_custom_field_from_the_mapping_step(client, admin_user):
    """An administrator makes a field for a column no field fits, right in the mapping: its
    name and type are proposed from the column, the column is mapped to it with the date
    format its values use, and the import fills it."""
    client.force_login(admin_user)
    upload(client)
    run = ImportRun.objects.get()
    since = [c["column"] for c in run.columns].index("since")
    html = client.get(reverse("import_map", args=[run.pk])).content.decode()
    assert f'name="newfield-label-{since}" value="Since"' in html
    assert '<option value="date" selected>Date</option>' in html
    # The date-format choice is there for every column, shown only for a date field.
    hidden = 'aria-label="Date format for since" data-for-kind="date" hidden disabled'
    assert f'name="format-{since}" {hidden}' in html

    post = _mapping_post(run, f"newfield-{since}")
    post[f"target-{[c['column'] for c in run.columns].index('phone')}"] = ""  # kept
    post[f"newfield-label-{since}"] = "Customer since"
    post[f"newfield-type-{since}"] = "date"
    response = client.post(reverse("import_map", args=[run.pk]), post)
    assert response.status_code == 200
    definition = CustomFieldDefinition.objects.get(object_type="contact", name="customer_since")
    assert (definition.label, definition.field_type) == ("Customer since", "date")
    run.refresh_from_db()
    spec = run.columns[since]
    assert spec["target"] == "custom.customer_since"
    assert spec["options"] == {"format": "%d.%m.%Y"}
    # The user's other choice in the same form was kept.
    assert run.columns[[c["column"] for c in run.columns].index("phone")]["target"] == ""
    html = response.content.decode()
    assert "New field “Customer since” created for column “since”." in html
    assert f'name="format-{since}" aria-label="Date format for since" data-for-kind="date">' in html
    assert "Customer since" in html and "2020-12-31" in html  # the preview shows it by label

    client.post(reverse("import_map", args=[run.pk]), _mapping_post(run, "start"))
    anna = Contact.objects.get(last_name="Müller")
    assert anna.custom_fields == {"customer_since": "2020-12-31"}


def test_new_field_errors_are_shown_beside_the_column(client, admin_user):
    client.force_login(admin_user)
    upload(client)
    run = ImportRun.objects.get()
    since = [c["column"] for c in run.columns].index("since")
    post = _mapping_post(run, f"newfield-{since}")
    post[f"newfield-label-{since}"] = "   "
    post[f"newfield-type-{since}"] = "date"
    response = client.post(reverse("import_map", args=[run.pk]), post)
    assert response.status_code == 200
    assert "Give the new field a name." in response.content.decode()
    assert not CustomFieldDefinition.objects.exists()
    post[f"newfield-label-{since}"] = "Since"
    post[f"newfield-type-{since}"] = "spreadsheet"
    response = client.post(reverse("import_map", args=[run.pk]), post)
    assert "Choose one of: text, number, date, boolean." in response.content.decode()
    post["action"] = "newfield-99"
    response = client.post(reverse("import_map", args=[run.pk]), post)
    assert response.status_code == 200
    assert "That column is not in the file." in response.content.decode()
    assert not CustomFieldDefinition.objects.exists()


def test_only_administrators_create_fields_from_the_mapping_step(client, admin_user):
    """Someone who may import but not change settings sees no “New field” and is refused."""
    client.force_login(admin_user)
    upload(client)
    run = ImportRun.objects.get()
    client.force_login(UserFactory(username="marketer", role=role("marketer")))
    since = [c["column"] for c in run.columns].index("since")
    page = client.get(reverse("import_map", args=[run.pk]))
    assert page.status_code == 200 and "Map columns" in page.content.decode()
    assert "newfield-label" not in page.content.decode()
    post = _mapping_post(run, f"newfield-{since}")
    post[f"newfield-label-{since}"] = "Since"
    post[f"newfield-type-{since}"] = "date"
    response = client.post(reverse("import_map", args=[run.pk]), post)
    assert response.status_code == 403
    assert not CustomFieldDefinition.objects.exists()


def test_new_field_names_are_made_from_the_label_and_never_reused(client, admin_user):
    from patron.integration import services

    client.force_login(admin_user)
    upload(client)
    run = ImportRun.objects.get()
    run = services.import_map_to_new_field(
        actor=admin_user, run=run, column="since", label="Kunde seit", field_type="text"
    )
    run = services.import_map_to_new_field(
        actor=admin_user, run=run, column="phone", label="Kunde seit", field_type="text"
    )
    run = services.import_map_to_new_field(
        actor=admin_user, run=run, column="email", label="2. Straße", field_type="text"
    )
    targets = {c["column"]: c["target"] for c in run.columns}
    assert targets["since"] == "custom.kunde_seit"
    assert targets["phone"] == "custom.kunde_seit_2"
    assert targets["email"] == "custom.f_2_strasse"
    # A date column given another type is read as that type, without the date format.
    assert run.columns[[c["column"] for c in run.columns].index("since")]["options"] == {}


def test_quarantined_rows_are_remapped_and_rerun_from_the_browser(client, admin_user):
    """Report → "Fix mapping and re-run": the mapping page shows the quarantined rows, and
    the row without a name imports once a name comes from another column."""
    client.force_login(admin_user)
    upload(client)
    run = ImportRun.objects.get()
    client.post(reverse("import_map", args=[run.pk]), _mapping_post(run, "start"))
    run.refresh_from_db()
    assert run.quarantined_count == 1  # line 3 has no name

    response = client.post(reverse("import_action", args=[run.pk, "rerun"]))
    rerun = ImportRun.objects.get(parent=run)
    assert response["Location"] == reverse("import_map", args=[rerun.pk])
    page = client.get(response["Location"])
    assert page.status_code == 200
    html = page.content.decode()
    assert "nobody@example.com" in html and "line 3" in html

    post = _mapping_post(rerun, "start")
    columns = [c["column"] for c in rerun.columns]
    post[f"target-{columns.index('email')}"] = "contact.last_name"
    started = client.post(reverse("import_map", args=[rerun.pk]), post)
    assert started.status_code == 302
    rerun.refresh_from_db()
    assert (rerun.status, rerun.created_count, rerun.quarantined_count) == ("completed", 1, 0)
    assert Contact.objects.filter(last_name="nobody@example.com").exists()


def test_a_file_that_cannot_be_read_is_a_form_error(client, admin_user):
    client.force_login(admin_user)
    response = client.post(
        reverse("import_upload"),
        {
            "new_source": "Shop",
            "entity": "contact",
            "file": SimpleUploadedFile("export.xlsx", b"not a workbook", content_type="text/csv"),
        },
    )
    assert response.status_code == 200
    assert "The file cannot be read" in response.content.decode()
    assert not Source.objects.exists() and not ImportRun.objects.exists()

    upload(client)
    run = ImportRun.objects.get()
    before = dict(run.options)
    response = client.post(
        reverse("import_map", args=[run.pk]),
        {"action": "options", "format": "xlsx", "encoding": "cp1252", "delimiter": ";"},
    )
    assert response.status_code == 200
    assert "The file cannot be read with these settings" in response.content.decode()
    run.refresh_from_db()
    assert run.options == before
