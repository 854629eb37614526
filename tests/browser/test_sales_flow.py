"""A sale from the board to the invoice in a real browser: a sales rep drags an opportunity to
another stage and wins it, quotes its product line, has the quote accepted and confirms the
order; billing invoices the order and issues the invoice; the account's page then shows the
order and the invoice on its timeline and the margin in its customer economics."""

import os
from decimal import Decimal as D
from pathlib import Path

import pytest

from patron.billing.models import Invoice
from patron.commerce import services as commerce_services
from patron.commerce.models import Order, Quote
from patron.customers import services as customer_services
from patron.sales import services as sales_services
from patron.sales.models import Opportunity, Stage

ARTIFACTS = Path(__file__).resolve().parents[2] / "test-artifacts"
CHROMIUM = "/usr/bin/chromium"

# The deal: 3 trackers sold at 200.00 EUR each (20 % tax), each costing us 120.00.
QUANTITY = D("3")
UNIT_PRICE = D("200.00")
UNIT_COST = D("120.00")
NET = QUANTITY * UNIT_PRICE  # 600.00
GROSS = NET * D("1.2")  # 720.00
MARGIN = NET - QUANTITY * UNIT_COST  # 240.00

pytestmark = [
    pytest.mark.browser,
    pytest.mark.django_db(transaction=True, serialized_rollback=True),
    pytest.mark.skipif(not os.path.exists(CHROMIUM), reason="run scripts/ensure-chromium.sh"),
]


def stage(name: str) -> Stage:
    return Stage.objects.get(pipeline__name="Sales", name=name)


def eur(value: D) -> str:
    return f"{value:,.2f} EUR"


@pytest.fixture
def sale(admin_user, rep_north):
    """An account and its open opportunity owned by the rep; a product priced in the default
    EUR price list."""
    account = customer_services.account_create(
        actor=admin_user,
        data={"name": "Northwind", "owner": rep_north},
        emails=[],
        phones=[],
        addresses=[],
    )
    vat = commerce_services.tax_rate_create(
        actor=admin_user, data={"name": "Standard", "percent": D("20")}
    )
    product = commerce_services.product_create(
        actor=admin_user,
        data={
            "sku": "TRK-1",
            "name": "Fleet tracker",
            "unit": "pcs",
            "unit_cost": UNIT_COST,
            "tax_rate": vat,
        },
    )
    price_list = commerce_services.price_list_create(
        actor=admin_user, data={"name": "Standard EUR", "currency": "EUR", "is_default": True}
    )
    commerce_services.price_set(
        actor=admin_user, price_list=price_list, product=product, unit_price=UNIT_PRICE
    )
    opportunity = sales_services.opportunity_create(
        actor=rep_north,
        data={"name": "Fleet renewal", "account": account, "amount": D("1000.00")},
    )
    return account, product, opportunity


def test_sales_flow(live_server, browser, sign_in, rep_north, manager_north, sale, request):
    from playwright.sync_api import expect

    account, product, opportunity = sale
    base = live_server.url
    page = browser.new_page(viewport={"width": 1600, "height": 900})
    page.set_default_timeout(10_000)
    current = page
    try:
        # --- The rep moves the deal across the board, then wins it. ---------------------------
        sign_in(page, base, "rep_north")
        page.click("nav >> text=Pipeline")
        page.wait_for_url(f"{base}/sales/")
        card = f"#opportunity-{opportunity.pk}"
        qualification = page.locator(f'.board-column[data-stage="{stage("Qualification").pk}"]')
        expect(qualification.locator(card)).to_be_visible()

        proposal = page.locator(f'.board-column[data-stage="{stage("Proposal").pk}"]')
        page.locator(card).drag_to(proposal)
        expect(proposal.locator(card)).to_be_visible()
        expect(proposal.locator(".count")).to_have_text("1")
        assert Opportunity.objects.get(pk=opportunity.pk).stage == stage("Proposal")

        won = page.locator(f'.board-column[data-stage="{stage("Won").pk}"]')
        page.locator(card).drag_to(won)
        dialog = page.locator("#close-dialog")
        expect(dialog).to_be_visible()
        expect(page.locator("#close-dialog-title")).to_have_text("Mark as won: Fleet renewal")
        page.fill("#close-reason", "Best tracking coverage")
        dialog.locator("button[value=confirm]").click()
        expect(won.locator(card)).to_be_visible()
        expect(won.locator(".count")).to_have_text("1")
        opportunity.refresh_from_db()
        assert opportunity.stage == stage("Won")
        assert opportunity.close_reason == "Best tracking coverage"
        assert opportunity.closed_at is not None

        page.click(f"{card} a.board-card-name")
        page.wait_for_url(f"{base}/sales/opportunities/{opportunity.pk}/")
        expect(page.locator("#current-stage")).to_contain_text("Won")
        expect(page.locator("#close-reason")).to_have_text("Best tracking coverage")

        # --- A quote from the opportunity, with a product line. -------------------------------
        # The opportunity page shows its products (commerce's panel); "Manage" opens them.
        products_panel = page.locator("#panel-opportunity_products")
        expect(products_panel).to_contain_text("No products yet.")
        products_panel.locator("a:has-text('Manage')").click()
        page.wait_for_url(f"{base}/commerce/opportunities/{opportunity.pk}/products/")
        expect(page.locator("h1")).to_have_text("Products")
        expect(page.locator("#quote-from-opportunity")).to_be_disabled()  # no lines yet
        page.select_option("#add-product select[name=product]", str(product.pk))
        page.fill("#add-product input[name=quantity]", "3")
        page.click("#add-product button[type=submit]")
        expect(page.locator("table.table tbody tr").first).to_contain_text("Fleet tracker")
        expect(page.locator("table.table tbody tr").first).to_contain_text("600.00")
        page.click("#quote-from-opportunity")

        quote = Quote.objects.get()
        page.wait_for_url(f"{base}/commerce/quotes/{quote.pk}/edit/")
        expect(page.locator("h1")).to_have_text(f"Edit {quote.number}")
        expect(page.locator("select[name=lines-0-product]")).to_have_value(str(product.pk))
        expect(page.locator("#preview-gross")).to_have_text("720.00")
        page.wait_for_load_state("networkidle")
        page.click("#quote-form button[type=submit]")
        page.wait_for_url(f"{base}/commerce/quotes/{quote.pk}/")
        expect(page.locator("h1")).to_have_text(f"Quote {quote.number}")
        expect(page.locator(".record-sub")).to_contain_text("Fleet renewal")
        expect(page.locator("#net-total")).to_have_text("600.00")
        expect(page.locator("#gross-total")).to_have_text("720.00")
        quote.refresh_from_db()
        assert quote.opportunity_id == opportunity.pk
        assert (quote.net_total, quote.gross_total) == (NET, GROSS)

        # --- Sent, accepted: the order it creates, confirmed. ---------------------------------
        page.click("#send-quote")
        expect(page.locator("#quote-status")).to_have_text("Sent")
        page.click("#accept-quote")
        order = Order.objects.get()
        page.wait_for_url(f"{base}/commerce/orders/{order.pk}/")
        expect(page.locator("h1")).to_have_text(f"Order {order.number}")
        expect(page.locator("#order-status")).to_have_text("Draft")
        expect(page.locator(".record-sub")).to_contain_text(quote.number)
        expect(page.locator("#gross-total")).to_have_text("720.00")
        page.click("#confirm-order")
        expect(page.locator("#order-status")).to_have_text("Confirmed")
        order.refresh_from_db()
        assert (order.status, order.quote_id, order.gross_total) == ("confirmed", quote.pk, GROSS)
        page.close()

        # --- Billing invoices the order and issues the invoice. -------------------------------
        # The manager opens the order from the Orders list and invoices it from its page.
        billing = browser.new_page(viewport={"width": 1600, "height": 900})
        billing.set_default_timeout(10_000)
        current = billing
        sign_in(billing, base, "manager_north")
        billing.click("nav >> text=Orders")
        billing.click(f"a:has-text('{order.number}')")
        billing.wait_for_url(f"{base}/commerce/orders/{order.pk}/")
        invoices_panel = billing.locator("#panel-order_invoices")
        expect(invoices_panel).to_contain_text("Not invoiced yet.")
        invoices_panel.locator("button:has-text('Invoice this order')").click()
        invoice = Invoice.objects.get()
        billing.wait_for_url(f"{base}/billing/invoices/{invoice.pk}/")
        expect(billing.locator("#invoice-status")).to_have_text("Draft")
        expect(billing.locator("#gross-total")).to_have_text(eur(GROSS))
        billing.click("#issue-button")
        expect(billing.locator("#invoice-status")).to_have_text("Issued")
        invoice.refresh_from_db()
        expect(billing.locator("#invoice-title")).to_have_text(f"Invoice {invoice.number_display}")
        assert (invoice.order_id, invoice.net_total, invoice.gross_total) == (order.pk, NET, GROSS)
        order.refresh_from_db()
        assert order.status == "invoiced"
        billing.close()

        # --- Back to the rep: the account shows the order, the invoice and the margin. --------
        page = browser.new_page(viewport={"width": 1600, "height": 900})
        page.set_default_timeout(10_000)
        current = page
        sign_in(page, base, "rep_north")
        page.click("nav >> text=Pipeline")
        page.click(f"{card} a.board-card-name")
        page.wait_for_url(f"{base}/sales/opportunities/{opportunity.pk}/")
        page.click(".record-sub a:has-text('Northwind')")
        page.wait_for_url(f"{base}/accounts/{account.pk}/")

        entries = page.locator("#timeline-entries > li")
        expect(entries.filter(has_text=f"Order {order.number} created from quote")).to_have_count(1)
        expect(entries.filter(has_text=f"Invoice {invoice.number_display} issued")).to_have_count(1)
        expect(entries.first).to_contain_text(f"Invoice {invoice.number_display} issued")

        commerce_panel = page.locator("#panel-commerce")
        expect(commerce_panel.locator(f"a:has-text('Order {order.number}')")).to_be_visible()
        expect(commerce_panel.locator(f"a:has-text('Quote {quote.number}')")).to_be_visible()

        # Revenue is the invoice's net; margin is that net less the product's cost x quantity.
        economics = page.locator("#panel-economics")
        expect(economics.locator("#econ-revenue")).to_have_text(eur(invoice.net_total))
        expect(economics.locator("#econ-cogs")).to_have_text(f"{QUANTITY * UNIT_COST:,.2f}")
        expect(economics.locator("#econ-margin")).to_have_text(eur(MARGIN))
        assert invoice.net_total - QUANTITY * product.unit_cost == MARGIN
        page.close()
    except Exception:
        ARTIFACTS.mkdir(exist_ok=True)
        if not current.is_closed():
            current.screenshot(path=str(ARTIFACTS / f"{request.node.name}.png"), full_page=True)
        raise
