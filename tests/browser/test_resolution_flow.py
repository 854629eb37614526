"""Entity resolution in a real browser: import two overlapping systems' exports, run
resolution, review an uncertain pair and accept it, see the golden record with where each value
came from, then unmerge it."""

import csv
import os
import threading
from pathlib import Path
from types import SimpleNamespace

import pytest
from django.db import connections

from patron.customers.models import Contact
from patron.integration import services
from patron.quality import matching, tasks
from patron.quality.models import MatchReview, ResolutionRun
from patron.quality.resolution.synthetic import generate

ARTIFACTS = Path(__file__).resolve().parents[2] / "test-artifacts"
CHROMIUM = "/usr/bin/chromium"
pytestmark = [
    pytest.mark.browser,
    pytest.mark.django_db(transaction=True, serialized_rollback=True),
    pytest.mark.skipif(not os.path.exists(CHROMIUM), reason="run scripts/ensure-chromium.sh"),
]
HEADER = ["id", "first_name", "last_name", "email", "phone", "street", "postcode", "city",
          "country", "date_of_birth"]  # fmt: skip


def export(frame, system: str, path: Path) -> Path:
    with path.open("w", newline="", encoding="utf-8") as out:
        writer = csv.writer(out)
        writer.writerow(HEADER)
        for r in frame[frame["source"] == system].to_dict("records"):
            writer.writerow(
                [r["unique_id"], r["first_name"], r["last_name"], r["email"], r["phone"],
                 r["street"], r["postal_code"], r["city"], r["country"], r["date_of_birth"]]
            )  # fmt: skip
    return path


def in_thread(function, *args) -> None:
    """Work a job as the worker would: in its own thread, with its own connection."""

    def work() -> None:
        try:
            function(*args)
        finally:
            connections.close_all()

    worker = threading.Thread(target=work)
    worker.start()
    worker.join(timeout=120)


def test_import_review_accept_lineage_and_unmerge(
    live_server, browser, sign_in, admin_user, settings, tmp_path, monkeypatch, request
):
    from playwright.sync_api import expect

    settings.VAR_DIR = tmp_path / "var"
    # A cautious organisation: only near-certain pairs merge by themselves, more go to a person.
    settings.PATRON_MATCH_PROBABILITY = "0.9999"
    monkeypatch.setattr(
        services, "_enqueue", lambda run_id: in_thread(services.import_process, run_id)
    )
    monkeypatch.setattr(
        tasks,
        "resolution_task",
        SimpleNamespace(enqueue=lambda run_id: in_thread(matching.resolution_process, run_id)),
    )
    admin_user.set_password("pw-for-tests-1")
    admin_user.save()
    frame = generate(260, seed=21)
    page = browser.new_page(viewport={"width": 1400, "height": 900})
    page.set_default_timeout(20_000)
    page.on("dialog", lambda dialog: dialog.accept())
    base = live_server.url
    try:
        sign_in(page, base, admin_user.username)
        # Two systems' exports that describe many of the same people, differently.
        for system in ("billing", "webshop"):
            page.goto(f"{base}/imports/")
            page.click("text=Import a file")
            page.fill("input[name=new_source]", system.title())
            page.set_input_files(
                "input[name=file]", str(export(frame, system, tmp_path / f"{system}.csv"))
            )
            page.click("button:has-text('Upload and map columns')")
            expect(page.locator("h1")).to_have_text("Map columns")
            expect(page.locator("select[aria-label='Field for id']")).to_have_value("source_key")
            page.select_option("select[name=match_by]", "none")
            page.wait_for_load_state("networkidle")
            page.click("button:has-text('Start import')")
            expect(page.locator("#run-progress")).to_contain_text("Completed")
        customers_before = Contact.objects.count()
        assert customers_before == int(frame["source"].isin(["billing", "webshop"]).sum())

        # Resolution from the review page: the run shows its progress, then the queue fills.
        page.goto(f"{base}/quality/")
        page.click("text=Review duplicates")
        expect(page.locator("h1")).to_have_text("Review possible duplicates")
        page.click("button:has-text('Full re-run')")
        run = ResolutionRun.objects.get()
        page.reload()
        expect(page.locator("table").last).to_contain_text(f"#{run.pk}")
        run.refresh_from_db()
        assert run.status == "completed", run.error
        assert run.merges > 0 and Contact.objects.count() == customers_before - run.merges
        assert run.review_pairs > 0, "the population should leave some pairs for a person"

        # Compare the most likely pair side by side, see why it scored, accept it.
        page.click("a:has-text('Compare') >> nth=0")
        expect(page.locator("h1")).to_have_text("Same customer?")
        expect(page.locator(".explain")).to_contain_text("First name")
        item = MatchReview.objects.filter(status="pending").order_by("-probability", "id").first()
        page.click("button:has-text('Same customer')")
        expect(page.locator("body")).to_contain_text("Merged")
        item.refresh_from_db()
        assert item.status == "accepted"
        survivor = item.merge.survivor_id

        # The golden record says where each value comes from: both systems.
        page.goto(f"{base}/contacts/{survivor}/")
        lineage = page.locator("#lineage-last_name")
        expect(lineage).to_be_visible()
        panel = page.locator(".lineage-row").first.locator("xpath=..")
        expect(panel).to_contain_text("Billing")
        expect(panel).to_contain_text("Webshop")

        # Unmerge: both customers are back, and no later run merges them again.
        merged_away = item.merge.merged_ids[0]
        page.click("button:has-text('Undo merge') >> nth=0")
        expect(page.locator("body")).to_contain_text("Merge undone")
        assert Contact.objects.filter(pk__in=[survivor, merged_away]).count() == 2
    except Exception:
        ARTIFACTS.mkdir(exist_ok=True)
        page.screenshot(path=str(ARTIFACTS / f"{request.node.name}.png"), full_page=True)
        raise
