"""The quote builder in a real browser: pick an account, add lines with htmx, save, send and
accept the quote, and land on its order."""

import os

import pytest

from patron.commerce.models import Order, Quote

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
        page = browser.new_page(viewport={"width": 1440, "height": 900})
        page.set_default_timeout(10_000)
        yield page
        browser.close()


def _screenshot(page, name):
    """With PATRON_SCREENSHOTS set to a folder, keep a picture of each step there."""
    folder = os.environ.get("PATRON_SCREENSHOTS")
    if folder:
        page.screenshot(path=os.path.join(folder, f"commerce-{name}.png"), full_page=True)


def test_build_send_and_accept_a_quote(
    live_server, page, rep_north, account_north, widget, service_hour, eur_list
):
    from playwright.sync_api import expect

    base = live_server.url
    page.goto(f"{base}/login/")
    page.fill("input[name=username]", "rep_north")
    page.fill("input[name=password]", PASSWORD)
    page.click("button[type=submit]")
    page.wait_for_url(f"{base}/")
    page.click("nav >> text=Orders")
    page.wait_for_url(f"{base}/commerce/orders/")
    page.click(".commerce-tabs >> text=Quotes")
    page.click("a:has-text('New quote')")

    page.select_option("select[name=account]", str(account_north.pk))
    page.select_option("select[name=lines-0-product]", str(widget.pk))
    page.fill("input[name=lines-0-quantity]", "3")
    page.click("#add-line")
    expect(page.locator("select[name=lines-1-product]")).to_be_visible()
    expect(page.locator("#id_lines-TOTAL_FORMS")).to_have_value("2")
    page.select_option("select[name=lines-1-product]", str(service_hour.pk))
    page.fill("input[name=lines-1-quantity]", "2")
    page.click("#add-line")
    page.fill("input[name=lines-2-description]", "Travel")
    page.fill("input[name=lines-2-unit_price]", "40")
    expect(page.locator("#preview-gross")).to_have_text("244.76")
    _screenshot(page, "quote-builder")
    page.wait_for_load_state("networkidle")
    page.click("button:has-text('Create quote')")

    quote = Quote.objects.get()
    page.wait_for_url(f"{base}/commerce/quotes/{quote.pk}/")
    # 29.97 + 160.00 + 40.00 net; 5.99 + 8.80 tax
    expect(page.locator("#gross-total")).to_have_text("244.76")
    _screenshot(page, "quote-detail")
    page.click("#send-quote")
    expect(page.locator("#quote-status")).to_have_text("Sent")
    page.click("#accept-quote")
    order = Order.objects.get()
    page.wait_for_url(f"{base}/commerce/orders/{order.pk}/")
    expect(page.locator("#order-status")).to_have_text("Draft")
    page.click("#confirm-order")
    expect(page.locator("#order-status")).to_have_text("Confirmed")
    _screenshot(page, "order-detail")
    order.refresh_from_db()
    assert order.status == "confirmed"
    assert order.gross_total == quote.gross_total
