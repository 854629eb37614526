"""The Data quality page: upload a file, read the report in the page, download it as JSON;
the upload is deleted afterwards, nothing is written, and a role without `source.view` is
refused."""

from __future__ import annotations

import json

import pytest
from django.apps import apps
from django.core.files.uploadedfile import SimpleUploadedFile
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from patron.core.tests.factories import UserFactory, role

pytestmark = pytest.mark.django_db

CSV = (
    "id;name;email;phone;since\r\n"
    "1;Müller, Anna;anna@example.com;030 1234567;31.12.2020\r\n"
    "2;;nobody@example.com;;\r\n"
    "3;Smith, John;not-an-email;;01.02.2021\r\n"
    "4;Lee, Ann;anna@example.com;+49 30 1234568\r\n"
).encode("cp1252")


@pytest.fixture(autouse=True)
def var_dir(settings, tmp_path):
    settings.VAR_DIR = tmp_path / "var"
    return settings.VAR_DIR


def upload(**extra):
    return {"file": SimpleUploadedFile("billing.csv", CSV, content_type="text/csv"), **extra}


def table_counts() -> dict[str, int]:
    return {m._meta.db_table: m._default_manager.count() for m in apps.get_models()}


def test_page_and_nav_link(client, admin_user):
    client.force_login(admin_user)
    page = client.get(reverse("quality_assess"))
    assert page.status_code == 200
    html = page.content.decode()
    assert "Readiness report" in html
    assert f'href="{reverse("quality_dashboard")}"' in html  # the main navigation's link
    assert "Data quality" in html
    dashboard = client.get(reverse("quality_dashboard")).content.decode()
    assert f'href="{reverse("quality_assess")}"' in dashboard


def test_upload_shows_the_report_and_keeps_nothing(client, admin_user, var_dir):
    client.force_login(admin_user)
    before = table_counts()
    with CaptureQueriesContext(connection) as queries:
        response = client.post(reverse("quality_assess"), upload(entity="contact", region="DE"))
    assert response.status_code == 200
    html = response.content.decode()
    assert "billing.csv" in html
    assert "Needs attention" in html
    assert "1 row has no name" in html
    assert "1 row has the wrong number of fields" in html
    assert "<svg" in html
    assert 'download="billing.csv-readiness.json"' in html
    assert "data:application/json;base64," in html
    # The upload was read from a temporary folder under VAR_DIR and removed.
    assert list((var_dir / "quality").iterdir()) == []
    writes = [
        q["sql"]
        for q in queries.captured_queries
        if q["sql"].lstrip().upper().startswith(("INSERT", "UPDATE", "DELETE"))
    ]
    assert writes == []
    assert table_counts() == before


def test_json_download(client, admin_user):
    client.force_login(admin_user)
    response = client.post(reverse("quality_assess"), upload(download="json"))
    assert response.status_code == 200
    assert response["Content-Type"] == "application/json; charset=utf-8"
    assert response["Content-Disposition"] == 'attachment; filename="billing-readiness.json"'
    report = json.loads(response.content)
    file = report["files"][0]
    assert file["file"]["name"] == "billing.csv"
    assert {q["reason"]: q["count"] for q in file["quarantine"]} == {"ragged": 1, "no_name": 1}
    assert file["overlap"]["checked"] is True
    assert report["settings"]["overlap_scope"] == "visible"


def test_roles_with_source_view_may_assess(client, team_north):
    marketer = UserFactory(username="marketer", role=role("marketer"), team=team_north)
    client.force_login(marketer)
    assert client.get(reverse("quality_assess")).status_code == 200


def test_role_without_source_view_is_refused(client, rep_north, var_dir):
    client.force_login(rep_north)
    before = table_counts()
    assert client.get(reverse("quality_assess")).status_code == 403
    assert client.post(reverse("quality_assess"), upload()).status_code == 403
    assert not (var_dir / "quality").exists()
    assert table_counts() == before
    page = client.get(reverse("home"))
    assert reverse("quality_assess") not in page.content.decode()


def test_anonymous_users_are_sent_to_log_in(client):
    response = client.get(reverse("quality_assess"))
    assert response.status_code == 302
    assert "login" in response["Location"]


def test_a_broken_workbook_is_a_form_error(client, admin_user, var_dir):
    client.force_login(admin_user)
    broken = SimpleUploadedFile("calls.xlsx", b"PK\x03\x04 not really a workbook")
    response = client.post(reverse("quality_assess"), {"file": broken})
    assert response.status_code == 200
    assert "The file cannot be read with these options" in response.content.decode()
    assert list((var_dir / "quality").iterdir()) == []


def test_a_missing_file_is_a_form_error(client, admin_user):
    client.force_login(admin_user)
    response = client.post(reverse("quality_assess"), {"entity": "contact"})
    assert response.status_code == 200
    assert "This field is required." in response.content.decode()
