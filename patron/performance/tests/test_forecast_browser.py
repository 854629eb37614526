"""The forecast page in a real browser: switch to a category's tab and move a deal to
another category; the figures follow without a page load."""

import os

import pytest
from django.utils import timezone

from patron.performance import periods
from patron.performance.models import ForecastCategory

from .factories import open_deal

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
        page = browser.new_page(viewport={"width": 1600, "height": 900})
        page.set_default_timeout(10_000)
        yield page
        browser.close()


def test_move_a_deal_between_categories(live_server, page, rep_north, account):
    from playwright.sync_api import expect

    quarter = periods.containing("quarter", timezone.localdate())
    close = max(quarter.start, timezone.localdate())
    deal = open_deal(rep_north, account, stage_name="Negotiation", amount="2000", close=close)
    open_deal(rep_north, account, stage_name="Proposal", amount="500", close=close, name="Other")
    base = live_server.url
    page.goto(f"{base}/login/")
    page.fill("input[name=username]", "rep_north")
    page.fill("input[name=password]", PASSWORD)
    page.click("button[type=submit]")
    page.wait_for_url(f"{base}/")
    page.click("nav >> text=Forecast")
    page.wait_for_url(f"{base}/performance/")

    expect(page.locator('[data-figure="commit"]')).to_have_text("2,000.00")
    expect(page.locator('[data-figure="best_case"]')).to_have_text("2,500.00")
    page.select_option(f"#cat-{deal.pk}", "best_case")
    expect(page.locator('[data-figure="commit"]')).to_have_text("0.00")
    expect(page.locator('[data-figure="best_case"]')).to_have_text("2,500.00")
    assert ForecastCategory.objects.get(opportunity=deal).category == "best_case"

    page.click(".tabs >> text=Best case")
    expect(page.locator(f"#cat-{deal.pk}")).to_have_value("best_case")
    assert "category=best_case" in page.url
