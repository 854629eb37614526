"""Importing a file in a real browser: upload a CSV, map its columns with the live preview,
watch the progress while a worker imports it, then open the report and its error file."""

import csv
import io
import os
import threading
import time
from pathlib import Path

import pytest
from django.db import connections

from patron.customers.models import Contact
from patron.integration import services
from patron.integration.models import ImportRun

ARTIFACTS = Path(__file__).resolve().parents[2] / "test-artifacts"
CHROMIUM = "/usr/bin/chromium"
pytestmark = [
    pytest.mark.browser,
    pytest.mark.django_db(transaction=True, serialized_rollback=True),
    pytest.mark.skipif(not os.path.exists(CHROMIUM), reason="run scripts/ensure-chromium.sh"),
]

ROWS = 120


def billing_csv(path: Path) -> Path:
    lines = ["customer_no;customer_name;email;phone;vip"]
    for i in range(1, ROWS + 1):
        if i == 7:
            lines.append(f"C{i};;nobody{i}@example.com;;N")  # no name: quarantined
        elif i == 11:
            lines.append(f"C{i};Short, Row")  # ragged: quarantined
        elif i == 13:
            lines.append(f"C{i};Bad, Email;not-an-email;030 1234567;J")  # flagged, imported
        else:
            lines.append(f"C{i};Müller{i}, Anna;anna{i}@example.com;030 12345{i:02d};J")
    path.write_bytes(("\r\n".join(lines) + "\r\n").encode("cp1252"))
    return path


def test_upload_map_watch_and_report(
    live_server, browser, sign_in, admin_user, settings, tmp_path, monkeypatch, request
):
    from playwright.sync_api import expect

    settings.VAR_DIR = tmp_path / "var"
    # The run is left queued for the "worker" below, which works it slowly enough to watch.
    monkeypatch.setattr(services, "_enqueue", lambda run_id: None)
    admin_user.set_password("pw-for-tests-1")
    admin_user.save()
    page = browser.new_page(viewport={"width": 1400, "height": 900})
    page.set_default_timeout(15_000)
    base = live_server.url
    try:
        sign_in(page, base, admin_user.username)
        page.click("nav >> text=Imports")
        expect(page.locator("h1")).to_have_text("Imports")
        page.click("text=Import a file")
        page.fill("input[name=new_source]", "Billing")
        page.fill("input[name=default_region]", "DE")
        page.set_input_files("input[name=file]", str(billing_csv(tmp_path / "billing.csv")))
        page.click("button:has-text('Upload and map columns')")

        # The mapping step: detected encoding and delimiter, suggested fields, a preview.
        expect(page.locator("h1")).to_have_text("Map columns")
        expect(page.locator("select[name=encoding]")).to_have_value("cp1252")
        expect(page.locator("select[name=delimiter]")).to_have_value(";")
        expect(page.locator("select[aria-label='Field for customer_name']")).to_have_value(
            "contact.full_name"
        )
        preview = page.locator("#mapping-preview")
        expect(preview).to_contain_text("Müller1")
        # Map "vip" to tags: the preview follows without a reload.
        expect(preview).not_to_contain_text("Tags")
        page.select_option("select[aria-label='Field for vip']", "contact.tags")
        expect(page.locator("#mapping-preview")).to_contain_text("Tags")
        # A date field brings its format choice; another field takes it away again.
        date_format = page.locator("select[aria-label='Date format for vip']")
        expect(date_format).to_be_hidden()
        page.select_option("select[aria-label='Field for vip']", "contact.date_of_birth")
        expect(date_format).to_be_visible()
        page.select_option("select[aria-label='Field for vip']", "")
        expect(date_format).to_be_hidden()
        # No field fits "vip": the administrator makes one, proposed as a yes/no "VIP".
        vip_row = page.locator("tr", has=page.locator("code", has_text="vip"))
        vip_row.locator("summary:has-text('New field')").click()
        expect(vip_row.locator("input[aria-label='Name of a new field for vip']")).to_have_value(
            "VIP"
        )
        expect(vip_row.locator("select[aria-label='Type of the new field for vip']")).to_have_value(
            "boolean"
        )
        vip_row.locator("button:has-text('Create and map')").click()
        expect(page.locator(".toast")).to_contain_text("New field “VIP” created")
        expect(page.locator("select[aria-label='Field for vip']")).to_have_value("custom.vip")
        expect(page.locator("#mapping-preview")).to_contain_text("VIP")
        page.click("button:has-text('Start import')")

        run = ImportRun.objects.get()
        expect(page.locator("h1")).to_have_text(f"Import #{run.pk}")
        expect(page.locator("#run-progress")).to_contain_text("Queued")

        # A worker takes the run; the page shows it moving without being reloaded.
        def slow(_run: ImportRun) -> None:
            time.sleep(0.35)

        def work() -> None:
            try:
                services.import_process(run.pk, progress=slow, batch_size=10)
            finally:
                connections.close_all()  # this thread's connection, before the test database goes

        worker = threading.Thread(target=work)
        worker.start()
        expect(page.locator("#run-progress")).to_contain_text("Running")
        meter = page.locator("#run-progress .meter span")
        expect(meter).not_to_have_attribute("style", "width: 0%")
        worker.join(timeout=60)
        # When the run ends the page reloads itself into the report.
        expect(page.locator("#run-progress")).to_contain_text("Completed")
        expect(page.locator(".counts")).to_contain_text("118")
        assert Contact.objects.get(last_name="Müller1").custom_fields == {"vip": True}
        expect(page.locator("#quarantine")).to_contain_text("The row has no name")
        expect(page.locator("#quarantine")).to_contain_text(
            "The row has 2 fields; the header has 5."
        )
        expect(page.get_by_text("Email addresses that are not valid (kept raw)")).to_be_visible()

        with page.expect_download() as download_info:
            page.click("text=Error file (CSV)")
        content = Path(download_info.value.path()).read_text(encoding="utf-8-sig")
        rows = list(csv.reader(io.StringIO(content)))
        assert rows[0][:5] == ["line", "problem", "column", "message", "value"]
        assert rows[1][:2] == ["8", "no_name"]
        assert rows[2][:2] == ["12", "ragged"]
        assert rows[3][:3] == ["14", "invalid_email", "email"]
    except Exception:
        ARTIFACTS.mkdir(exist_ok=True)
        page.screenshot(path=str(ARTIFACTS / f"{request.node.name}.png"), full_page=True)
        raise
