"""The foundation's main flow in a real browser: sign in, create a contact with two phones,
log a call, hit an edit conflict, and check that another team cannot open the contact."""

import os
from pathlib import Path

import pytest

from patron.customers import services
from patron.customers.models import Contact

ARTIFACTS = Path(__file__).resolve().parents[2] / "test-artifacts"
CHROMIUM = "/usr/bin/chromium"

pytestmark = [
    pytest.mark.browser,
    pytest.mark.django_db(transaction=True, serialized_rollback=True),
    pytest.mark.skipif(not os.path.exists(CHROMIUM), reason="run scripts/ensure-chromium.sh"),
]


def test_foundation_flow(
    live_server, browser, sign_in, rep_north, rep_south, set_visibility, request
):
    from playwright.sync_api import expect

    set_visibility("private")
    page = browser.new_page(viewport={"width": 1400, "height": 900})
    page.set_default_timeout(10_000)
    base = live_server.url
    try:
        sign_in(page, base, "rep_north")
        expect(page.locator("h1")).to_contain_text("Good to see you")

        # Create a contact with two phones ("add another phone" row via htmx).
        page.click("text=New contact")
        page.wait_for_url(f"{base}/contacts/new/")
        page.fill("input[name=first_name]", "Ada")
        page.fill("input[name=last_name]", "Lovelace")
        page.fill("input[name=email]", "ada@example.com")
        page.locator("input[name=phone]").nth(0).fill("+44 20 7946 0018")
        page.click("text=Add another phone")
        expect(page.locator("input[name=phone]")).to_have_count(2)
        page.locator("input[name=phone]").nth(1).fill("07700 900123")
        page.locator("select[name=phone_kind]").nth(1).select_option("work")
        page.click("button:has-text('Create contact')")
        expect(page.locator("h1")).to_have_text("Ada Lovelace")
        contact = Contact.objects.get(last_name="Lovelace")
        assert page.url == f"{base}/contacts/{contact.pk}/"
        phones_card = page.locator("#card-phone")
        expect(phones_card).to_contain_text("+44 20 7946 0018")
        expect(phones_card).to_contain_text("+44 7700 900123")

        # Log a call: it appears at the top of the timeline without a reload.
        page.click("button:has-text('Log a call')")
        page.fill("#activity-form input[name=subject]", "Discovery call")
        page.select_option("#activity-form select[name=outcome]", "left_voicemail")
        page.fill("#activity-form input[name=duration_minutes]", "7")
        page.click("#activity-form button:has-text('Save')")
        first_entry = page.locator("#timeline-entries > li").first
        expect(first_entry).to_contain_text("Discovery call")
        expect(first_entry).to_contain_text("Left voicemail")
        expect(first_entry).to_contain_text("7m 00s")
        assert page.url == f"{base}/contacts/{contact.pk}/"

        # Edit while someone else changes the record: the stale form is refused.
        page.click("a:has-text('Edit')")
        expect(page.locator("h1")).to_have_text("Edit Ada Lovelace")
        contact.refresh_from_db()
        services.contact_update(
            actor=rep_north,
            contact=contact,
            expected_version=contact.version,
            data={"job_title": "Countess of Lovelace"},
        )
        page.fill("input[name=first_name]", "Augusta")
        page.click("button:has-text('Save changes')")
        expect(page.locator("#conflict")).to_contain_text(
            "This contact was changed by someone else since you opened it"
        )
        expect(page.locator("#conflict a")).to_have_text("Reload latest version")
        contact.refresh_from_db()
        assert (contact.first_name, contact.job_title) == ("Ada", "Countess of Lovelace")
        page.click("#conflict a")
        expect(page.locator("input[name=job_title]")).to_have_value("Countess of Lovelace")

        # Another team's rep, records private: the contact does not exist for them.
        other = browser.new_page()
        sign_in(other, base, "rep_south")
        response = other.goto(f"{base}/contacts/{contact.pk}/")
        assert response.status == 404
        expect(other.locator("h1")).to_have_text("Page not found")
        other.close()
    except Exception:
        ARTIFACTS.mkdir(exist_ok=True)
        page.screenshot(path=str(ARTIFACTS / f"{request.node.name}.png"), full_page=True)
        raise
