"""The web form in a real browser: the embed snippet pasted into a page fetches its token,
a person fills it in and lands on the thank-you page; the rep then finds the lead, scored and
assigned, and converts it."""

import os

import pytest
from django.test import override_settings

from patron.leads import capture, services
from patron.leads.models import Lead

CHROMIUM = "/usr/bin/chromium"
PASSWORD = "pw-for-tests-1"  # noqa: S105 - the factories' test password

pytestmark = [
    pytest.mark.browser,
    pytest.mark.django_db(transaction=True, serialized_rollback=True),
    pytest.mark.skipif(not os.path.exists(CHROMIUM), reason="run scripts/ensure-chromium.sh"),
]


@pytest.fixture
def page(live_server):
    os.environ["DJANGO_ALLOW_ASYNC_UNSAFE"] = "true"
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(
            executable_path=CHROMIUM,
            args=["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking"],
        )
        page = browser.new_page(viewport={"width": 1400, "height": 900})
        page.set_default_timeout(10_000)
        yield page
        browser.close()


@override_settings(PATRON_LEADS_MIN_FILL_SECONDS=0)
def test_snippet_to_conversion(live_server, page, web_form, rep_north):
    from playwright.sync_api import expect

    services.scoring_rule_create(
        actor=None,
        data={
            "kind": "fit",
            "field": "job_title",
            "operator": "contains",
            "value": "CTO",
            "points": 25,
        },
    )
    base = live_server.url
    snippet = capture.embed_snippet(web_form, base)
    # The snippet on a page of the website (same host as Patron here, any host in real life).
    page.route(
        lambda url: "/site/" in url,
        lambda route: route.fulfill(
            status=200, content_type="text/html", body=f"<html><body>{snippet}</body></html>"
        ),
    )
    page.goto(f"{base}/site/?utm_source=newsletter")
    expect(page.locator("input[name=_ts]")).not_to_have_value("")
    page.fill("input[name=first_name]", "Grace")
    page.fill("input[name=last_name]", "Hopper")
    page.fill("input[name=email]", "grace@example.com")
    page.fill("input[name=company]", "Cobol Inc")
    page.fill("input[name=job_title]", "CTO")
    page.click("button[type=submit]")
    expect(page.locator("h1")).to_have_text("Thank you")
    lead = Lead.objects.get()
    assert (lead.utm_source, lead.owner, lead.score) == ("newsletter", rep_north, 25)

    page.goto(f"{base}/login/")
    page.fill("input[name=username]", "rep_north")
    page.fill("input[name=password]", PASSWORD)
    page.click("button[type=submit]")
    page.wait_for_url(f"{base}/")
    page.click("nav >> text=Leads")
    page.click("text=Grace Hopper")
    expect(page.locator("#score-card")).to_contain_text("+25 job title contains 'CTO'")
    page.click("#convert-button")
    page.check("input[name=create_opportunity]")
    page.click("button:has-text('Convert')")
    expect(page.locator("h1")).to_contain_text("Grace Hopper")
    lead.refresh_from_db()
    assert lead.status == "converted"
    assert lead.converted_account.name == "Cobol Inc"
    assert lead.converted_opportunity.name == "Cobol Inc: new business"
