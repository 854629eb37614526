"""The commerce pages: lists, the quote builder, status actions, panels, escaping, permissions."""

from decimal import Decimal as D

import pytest
from django.test import Client
from django.urls import reverse

from patron.commerce import documents, services
from patron.commerce.models import Order, Product, Quote
from patron.sales.tests.factories import make_opportunity


def client_for(user):
    client = Client()
    client.force_login(user)
    return client


@pytest.fixture
def quote(rep_north, account_north, widget, eur_list):
    return documents.quote_create(
        actor=rep_north,
        data={"account": account_north, "terms": "<script>alert('terms')</script>"},
        lines=[
            {"product": widget, "quantity": D("2")},
            {"description": "<b>Custom</b> & co", "quantity": D("1"), "unit_price": D("5")},
        ],
    )


def test_pages_render_for_a_rep(rep_north, quote, eur_list, widget):
    client = client_for(rep_north)
    for url in (
        reverse("product_list"),
        reverse("product_detail", args=[widget.pk]),
        reverse("price_list_list"),
        reverse("price_list_detail", args=[eur_list.pk]),
        reverse("quote_list"),
        reverse("quote_create"),
        reverse("quote_detail", args=[quote.pk]),
        reverse("quote_edit", args=[quote.pk]),
        reverse("order_list"),
    ):
        response = client.get(url)
        assert response.status_code == 200, url


def test_user_text_is_escaped(rep_north, quote, account_north):
    client = client_for(rep_north)
    page = client.get(reverse("quote_detail", args=[quote.pk])).content.decode()
    assert "<script>alert('terms')</script>" not in page
    assert "&lt;script&gt;alert(&#x27;terms&#x27;)&lt;/script&gt;" in page
    assert "&lt;b&gt;Custom&lt;/b&gt; &amp; co" in page
    assert "<b>Custom</b>" not in page


def test_product_names_are_escaped_in_lists(admin_user, rep_north):
    services.product_create(
        actor=admin_user, data={"sku": "XSS-1", "name": "<img src=x onerror=alert(1)>"}
    )
    page = client_for(rep_north).get(reverse("product_list")).content.decode()
    assert "<img src=x" not in page
    assert "&lt;img src=x onerror=alert(1)&gt;" in page


def test_quote_of_another_team_is_not_found(rep_south, quote):
    client = client_for(rep_south)
    assert client.get(reverse("quote_detail", args=[quote.pk])).status_code == 404
    assert client.get(reverse("quote_pdf", args=[quote.pk])).status_code == 404
    assert client.post(reverse("quote_action", args=[quote.pk, "send"])).status_code == 404
    assert quote.number not in client.get(reverse("quote_list")).content.decode()
    assert Quote.objects.get().status == "draft"


def test_quote_builder_creates_a_quote_with_its_lines(rep_north, account_north, widget, eur_list):
    client = client_for(rep_north)
    response = client.post(
        reverse("quote_create"),
        {
            "account": account_north.pk,
            "discount_percent": "0",
            "lines-TOTAL_FORMS": "3",
            "lines-INITIAL_FORMS": "0",
            "lines-0-product": widget.pk,
            "lines-0-quantity": "3",
            "lines-0-discount_percent": "0",
            "lines-1-description": "Delivery",
            "lines-1-quantity": "1",
            "lines-1-unit_price": "15",
            "lines-1-tax_rate": "20",
            "lines-2-description": "Dropped",
            "lines-2-quantity": "1",
            "lines-2-unit_price": "99",
            "lines-2-DELETE": "on",
        },
    )
    assert response.status_code == 302, response.content.decode()[:2000]
    quote = Quote.objects.get()
    assert response["Location"] == reverse("quote_detail", args=[quote.pk])
    assert [(line.description, line.net_amount) for line in quote.lines.all()] == [
        ("Widget", D("29.97")),
        ("Delivery", D("15.00")),
    ]
    assert quote.gross_total == D("53.96")  # 44.97 + 5.99 + 3.00


def test_quote_builder_shows_line_errors_beside_the_line(
    rep_north, account_north, widget, eur_list
):
    response = client_for(rep_north).post(
        reverse("quote_create"),
        {
            "account": account_north.pk,
            "discount_percent": "0",
            "lines-TOTAL_FORMS": "1",
            "lines-INITIAL_FORMS": "0",
            "lines-0-description": "",
            "lines-0-quantity": "1",
        },
    )
    assert response.status_code == 400
    assert "Choose a product or describe the line." in response.content.decode()
    assert not Quote.objects.exists()


def test_add_line_row_raises_the_form_count(rep_north, widget):
    response = client_for(rep_north).get(
        reverse("quote_line_row"), {"lines-TOTAL_FORMS": "2"}, headers={"HX-Request": "true"}
    )
    body = response.content.decode()
    assert 'name="lines-2-quantity"' in body
    assert 'name="lines-TOTAL_FORMS" value="3"' in body
    assert "WID-1" in body


def test_quote_send_accept_from_the_page(rep_north, quote):
    client = client_for(rep_north)
    client.post(reverse("quote_action", args=[quote.pk, "send"]))
    quote.refresh_from_db()
    assert quote.status == "sent"
    response = client.post(reverse("quote_action", args=[quote.pk, "accept"]))
    order = Order.objects.get()
    assert response["Location"] == reverse("order_detail", args=[order.pk])
    page = client.get(reverse("order_detail", args=[order.pk])).content.decode()
    assert order.number in page and 'id="confirm-order"' in page
    client.post(reverse("order_action", args=[order.pk, "confirm"]))
    client.post(reverse("order_action", args=[order.pk, "fulfil"]))
    order.refresh_from_db()
    assert order.status == "fulfilled"
    client.post(reverse("order_action", args=[order.pk, "cancel"]))  # refused: already fulfilled
    order.refresh_from_db()
    assert order.status == "fulfilled"


def test_quote_pdf_link_answers_a_pdf(rep_north, quote):
    client = client_for(rep_north)
    page = client.get(reverse("quote_detail", args=[quote.pk])).content.decode()
    assert reverse("quote_pdf", args=[quote.pk]) in page
    response = client.get(reverse("quote_pdf", args=[quote.pk]))
    assert response["Content-Type"] == "application/pdf"
    assert response.content.startswith(b"%PDF")


def test_account_panel_lists_quotes_and_orders(rep_north, rep_south, account_north, quote):
    url = reverse("commerce_account_panel", args=["account", account_north.pk])
    body = client_for(rep_north).get(url).content.decode()
    assert quote.number in body
    assert client_for(rep_south).get(url).status_code == 404


def test_rep_cannot_open_the_product_form(rep_north):
    assert client_for(rep_north).get(reverse("product_create")).status_code == 403
    assert not Product.objects.exists()


def test_manager_creates_a_product_and_sees_sku_clash(manager_north, widget):
    client = client_for(manager_north)
    response = client.post(
        reverse("product_create"),
        {"sku": "wid-1", "name": "Clash", "unit": "pcs", "unit_cost": "1", "is_active": "on"},
    )
    assert response.status_code == 400
    assert "Another product has this SKU." in response.content.decode()
    response = client.post(
        reverse("product_create"),
        {"sku": "NEW-1", "name": "New", "unit": "pcs", "unit_cost": "1", "is_active": "on"},
    )
    assert response.status_code == 302
    assert Product.objects.filter(sku="NEW-1").exists()


def test_opportunity_products_page_and_quote_from_it(rep_north, account_north, widget, eur_list):
    opportunity = make_opportunity(rep_north, account_north, amount=D("0"))
    client = client_for(rep_north)
    url = reverse("opportunity_products", args=[opportunity.pk])
    response = client.post(url, {"product": widget.pk, "quantity": "4", "discount_percent": "0"})
    assert response.status_code == 302
    assert "39.96" in client.get(url).content.decode()
    response = client.post(reverse("quote_from_opportunity", args=[opportunity.pk]))
    quote = Quote.objects.get()
    assert response["Location"] == reverse("quote_edit", args=[quote.pk])
    assert quote.opportunity == opportunity
    assert quote.net_total == D("39.96")


def test_builder_previews_totals_without_saving(rep_north, widget, eur_list):
    client = client_for(rep_north)
    form = {
        "account": "",
        "discount_percent": "10",
        "lines-TOTAL_FORMS": "2",
        "lines-INITIAL_FORMS": "0",
        "lines-0-product": widget.pk,
        "lines-0-quantity": "3",
        "lines-1-description": "Fee",
        "lines-1-quantity": "1",
        "lines-1-unit_price": "10",
    }
    body = client.post(reverse("quote_preview"), form, headers={"HX-Request": "true"})
    text = body.content.decode()
    # 29.97 + 10.00 = 39.97, less 10 %: 26.97 + 9.00 = 35.97; tax 20 % of 26.97 = 5.39
    assert 'id="preview-net">35.97<' in text
    assert "<strong>41.36</strong>" in text
    form["lines-1-unit_price"] = ""
    text = client.post(reverse("quote_preview"), form).content.decode()
    assert "Give a unit price" in text
    assert not Quote.objects.exists()


def test_account_page_shows_the_panel_and_timeline_entries(rep_north, account_north, quote):
    documents.quote_send(actor=rep_north, quote=quote)
    client = client_for(rep_north)
    page = client.get(reverse("account_detail", args=[account_north.pk])).content.decode()
    assert reverse("commerce_account_panel", args=["account", account_north.pk]) in page
    assert f"Quote {quote.number} sent" in page


def test_opportunity_products_fragment(rep_north, rep_south, account_north, widget, eur_list):
    opportunity = make_opportunity(rep_north, account_north, amount=D("0"))
    services.opportunity_product_add(
        actor=rep_north, opportunity=opportunity, data={"product": widget, "quantity": D("2")}
    )
    url = reverse("opportunity_products_panel", args=["opportunity", opportunity.pk])
    body = client_for(rep_north).get(url).content.decode()
    assert "Widget" in body and "19.98 EUR" in body
    assert client_for(rep_south).get(url).status_code == 404
    wrong = reverse("opportunity_products_panel", args=["account", opportunity.pk])
    assert client_for(rep_north).get(wrong).status_code == 404
    # The opportunity page loads the panel; contact and account pages do not.
    page = client_for(rep_north).get(reverse("opportunity_detail", args=[opportunity.pk]))
    assert url in page.content.decode()
    account_page = client_for(rep_north).get(reverse("account_detail", args=[account_north.pk]))
    assert "/products/" not in account_page.content.decode()


def test_order_typed_in_as_a_draft_then_edited(rep_north, account_north, widget, eur_list):
    client = client_for(rep_north)
    form = {
        "account": account_north.pk,
        "discount_percent": "0",
        "external_reference": "PO <42>",
        "lines-TOTAL_FORMS": "1",
        "lines-INITIAL_FORMS": "0",
        "lines-0-product": widget.pk,
        "lines-0-quantity": "2",
        "lines-0-unit_price": "9.00",
    }
    response = client.post(reverse("order_create"), form)
    order = Order.objects.get()
    assert response["Location"] == reverse("order_detail", args=[order.pk])
    assert order.status == "draft"
    assert (order.external_reference, order.net_total) == ("PO <42>", D("18.00"))
    page = client.get(reverse("order_detail", args=[order.pk])).content.decode()
    assert "PO &lt;42&gt;" in page and reverse("order_edit", args=[order.pk]) in page
    form.update({"version": order.version, "lines-0-quantity": "3"})
    assert client.post(reverse("order_edit", args=[order.pk]), form).status_code == 302
    order.refresh_from_db()
    assert order.net_total == D("27.00")
    documents.order_confirm(actor=rep_north, order=order)
    response = client.get(reverse("order_edit", args=[order.pk]))
    assert response["Location"] == reverse("order_detail", args=[order.pk])
