from decimal import Decimal

import pytest
from django.core.exceptions import ValidationError

from patron.billing import services
from patron.billing.models import Invoice
from patron.commerce import documents as commerce_documents
from patron.commerce import selectors as commerce_selectors
from patron.commerce import services as commerce_services
from patron.commerce.models import Order
from patron.core.exceptions import PermissionDeniedError
from patron.core.models import AuditEvent

pytestmark = pytest.mark.django_db

D = Decimal


@pytest.fixture
def widget(admin_user):
    return commerce_services.product_create(
        actor=admin_user,
        data={"sku": "WID-1", "name": "Widget", "unit": "pcs", "unit_cost": D("4.2500")},
    )


def _order(actor, account, widget, *, confirm=True):
    return commerce_documents.order_create(
        actor=actor,
        data={"account": account, "discount_percent": D("10"), "external_reference": "PO-7"},
        lines=[
            {"product": widget, "quantity": D("10"), "unit_price": D("9.99"), "tax_rate": D(20)},
            {
                "description": "Delivery",
                "quantity": D("1"),
                "unit_price": D("15"),
                "tax_rate": D(0),
            },
        ],
        confirm=confirm,
    )


def test_invoice_from_order_copies_lines_and_marks_the_order(manager_north, account_north, widget):
    order = _order(manager_north, account_north, widget)
    invoice = services.invoice_from_order(actor=manager_north, order=order)
    invoice.refresh_from_db()
    order.refresh_from_db()
    assert order.status == Order.Status.INVOICED and order.invoiced_at is not None
    assert (invoice.status, invoice.order_id, invoice.account_id, invoice.currency) == (
        "draft",
        order.pk,
        account_north.pk,
        "EUR",
    )
    assert invoice.notes == f"Order {order.number}, your reference PO-7"
    lines = list(invoice.lines.order_by("position"))
    assert [(x.sku, x.product_id, x.quantity, x.unit_price, x.unit_cost) for x in lines] == [
        ("WID-1", widget.pk, D("10"), D("9.99"), D("4.25")),
        ("", None, D("1"), D("15"), D("0")),
    ]
    assert lines[0].cost_amount == D("42.50")
    # The same money arithmetic: the invoice totals are the order's, document discount included.
    assert (
        invoice.discount_percent,
        invoice.net_total,
        invoice.tax_total,
        invoice.gross_total,
    ) == (
        D("10"),
        order.net_total,
        order.tax_total,
        order.gross_total,
    )
    assert AuditEvent.objects.filter(content_type__model="invoice", object_id=invoice.pk).exists()
    with pytest.raises(ValidationError):
        services.invoice_from_order(actor=manager_north, order=order)
    assert Invoice.objects.count() == 1
    with pytest.raises(ValidationError):
        services.invoice_delete(actor=manager_north, invoice=invoice)


def test_only_confirmed_orders_and_permitted_users(manager_north, rep_north, account_north, widget):
    draft_order = _order(manager_north, account_north, widget, confirm=False)
    with pytest.raises(ValidationError) as caught:
        services.invoice_from_order(actor=manager_north, order=draft_order)
    assert "this one is draft" in str(caught.value)
    confirmed = _order(manager_north, account_north, widget)
    with pytest.raises(PermissionDeniedError):
        services.invoice_from_order(actor=rep_north, order=confirmed)
    confirmed.refresh_from_db()
    assert confirmed.status == "confirmed" and Invoice.objects.count() == 0


def test_unpaid_invoices_count_in_the_credit_exposure(manager_north, account_north, widget):
    order = _order(manager_north, account_north, widget)
    open_orders = commerce_selectors.credit_exposure(account_north, "EUR")
    assert open_orders == order.gross_total
    invoice = services.invoice_from_order(actor=manager_north, order=order)
    assert commerce_selectors.credit_exposure(account_north, "EUR") == D("0.00")  # a draft
    services.invoice_issue(actor=manager_north, invoice=invoice)
    assert commerce_selectors.credit_exposure(account_north, "EUR") == order.gross_total
    services.payment_record(actor=manager_north, invoice=invoice, data={"amount": D("50")})
    assert commerce_selectors.credit_exposure(account_north, "EUR") == order.gross_total - 50


def test_from_order_through_the_api(api_as, manager_north, rep_south, account_north, widget):
    order = _order(manager_north, account_north, widget)
    api = api_as(manager_north)
    assert api_as(rep_south).post("/invoices/from-order", {"order_id": order.pk}).json()[
        "errors"
    ] == [{"field": "order_id", "message": f"There is no order with id {order.pk}."}]
    response = api.post("/invoices/from-order", {"order_id": order.pk})
    assert response.status_code == 201, response.json()
    body = response.json()
    assert body["order"] == {"id": order.pk, "number": order.number}
    assert body["gross_total"] == str(order.gross_total) and len(body["lines"]) == 2
    again = api.post("/invoices/from-order", {"order_id": order.pk})
    assert again.status_code == 400
    assert again.json()["errors"][0]["field"] == "order_id"


def test_from_order_in_one_click(client, manager_north, account_north, widget):
    from django.urls import reverse

    order = _order(manager_north, account_north, widget)
    client.force_login(manager_north)
    page = client.get(reverse("invoice_create"), {"account": account_north.pk}).content.decode()
    assert order.number in page and reverse("invoice_from_order", args=[order.pk]) in page
    response = client.post(reverse("invoice_from_order", args=[order.pk]))
    invoice = Invoice.objects.get(order=order)
    assert response["Location"] == reverse("invoice_detail", args=[invoice.pk])
    page = client.get(reverse("invoice_create"), {"account": account_north.pk}).content.decode()
    assert reverse("invoice_from_order", args=[order.pk]) not in page


def test_the_order_page_invoices_the_order_in_one_click(
    manager_north, rep_north, account_north, widget
):
    from django.test import Client
    from django.urls import reverse

    order = _order(manager_north, account_north, widget)
    page = Client()
    page.force_login(manager_north)
    detail = page.get(reverse("order_detail", args=[order.pk])).content.decode()
    panel_url = reverse("order_invoices_panel", args=["order", order.pk])
    assert panel_url in detail
    panel = page.get(panel_url).content.decode()
    assert "Not invoiced yet." in panel and "Invoice this order" in panel
    # A sales rep sees the order's invoices but may not invoice it.
    rep = Client()
    rep.force_login(rep_north)
    assert "Invoice this order" not in rep.get(panel_url).content.decode()
    response = page.post(reverse("invoice_from_order", args=[order.pk]))
    invoice = Invoice.objects.get(order=order)
    assert response.status_code == 302 and response["Location"].endswith(
        reverse("invoice_detail", args=[invoice.pk])
    )
    panel = page.get(panel_url).content.decode()
    assert str(invoice) in panel and "Invoice this order" not in panel
    assert page.get(reverse("order_invoices_panel", args=["account", order.pk])).status_code == 404
