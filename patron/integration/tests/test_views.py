"""The import screens through the Django test client: upload, mapping with preview, start,
progress, report, error file, revert and the permission checks."""

from __future__ import annotations

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse

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
    assert '<option value="source_key" selected>' in html
    assert '<option value="contact.full_name" selected>' in html

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
    lines = body.lstrip("\ufeff").splitlines()
    assert lines[0].startswith("line,problem,column,message,value")
    assert lines[1].startswith("3,no_name,,The row has no name (first or last).,")
    # A formula-looking value is neutralised in the error file.
    assert lines[2].startswith("4,invalid_email,email,")
    assert "'=HYPERLINK" in lines[2]

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
