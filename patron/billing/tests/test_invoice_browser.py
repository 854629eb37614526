"""Billing in a real browser: draft an invoice with lines, issue it, record a payment that is
too large (refused beside the field) then the right one, and see the account's economics."""

import os

import pytest

from patron.billing.models import Invoice

CHROMIUM = "/usr/bin/chromium"
PASSWORD = "pw-for-tests-1"  # noqa: S105 - the factories' test password
SHOTS = os.environ.get("PATRON_SCREENSHOTS", "")

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


def shot(page, name):
    if SHOTS:
        page.screenshot(path=os.path.join(SHOTS, f"{name}.png"), full_page=True)


def test_draft_issue_and_pay(live_server, page, manager_north, account_north, contact_north):
    from playwright.sync_api import expect

    base = live_server.url
    page.goto(f"{base}/login/")
    page.fill("input[name=username]", "manager_north")
    page.fill("input[name=password]", PASSWORD)
    page.click("button[type=submit]")
    page.wait_for_url(f"{base}/")
    page.click("nav >> text=Invoices")
    page.click("text=New invoice")
    page.wait_for_url(f"{base}/billing/invoices/new/")
    # htmx binds the picker's lookup once the page has loaded; typing earlier is not heard.
    page.wait_for_load_state("networkidle")
    page.fill("#id_account_search", "North")
    page.click(".picker-option >> text=Northwind")
    expect(page.locator("select[name=contact]")).to_contain_text("Nora North")
    page.select_option("select[name=contact]", label="Nora North")
    page.fill("input[name=lines-0-description]", "Consulting day")
    page.fill("input[name=lines-0-quantity]", "2")
    page.fill("input[name=lines-0-unit_price]", "500")
    page.fill("input[name=lines-0-tax_rate]", "20")
    page.fill("input[name=lines-0-unit_cost]", "200")
    page.click("[data-add-line]")
    page.fill("input[name=lines-1-description]", "Travel")
    page.fill("input[name=lines-1-quantity]", "1")
    page.fill("input[name=lines-1-unit_price]", "80")
    page.fill("input[name=lines-1-unit_cost]", "80")
    shot(page, "invoice_form")
    page.click("#invoice-form button[type=submit]")
    expect(page.locator("#invoice-status")).to_have_text("Draft")
    expect(page.locator(".record-sub")).to_contain_text("Nora North")
    expect(page.locator("#gross-total")).to_have_text("1,280.00 EUR")
    page.click("#issue-button")
    expect(page.locator("#invoice-status")).to_have_text("Issued")
    invoice = Invoice.objects.get()
    expect(page.locator("#invoice-title")).to_have_text(f"Invoice {invoice.number_display}")
    page.fill("#payment-form input[name=amount]", "1300")
    page.click("#payment-form button[type=submit]")
    expect(page.locator("#payment-form .field-error")).to_contain_text("overpayments are not")
    page.fill("#payment-form input[name=amount]", "1280")
    page.click("#payment-form button[type=submit]")
    expect(page.locator("#invoice-status")).to_have_text("Paid")
    expect(page.locator("#balance")).to_contain_text("0.00")
    shot(page, "invoice_detail")
    page.goto(f"{base}/accounts/{account_north.pk}/")
    expect(page.locator("#econ-revenue")).to_have_text("1,080.00 EUR")
    expect(page.locator("#econ-margin")).to_have_text("600.00 EUR")
    shot(page, "account_economics")
    page.goto(f"{base}/billing/")
    shot(page, "invoice_list")
