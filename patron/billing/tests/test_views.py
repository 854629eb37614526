import datetime
from decimal import Decimal

import pytest
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from patron.billing import services
from patron.billing.models import Invoice, Payment
from patron.customers import services as customer_services

from .factories import make_draft, make_issued

pytestmark = pytest.mark.django_db


def client_for(user) -> Client:
    client = Client()
    client.force_login(user)
    return client


def test_list_filters_and_overdue_badge(manager_north, account_north, account_south, admin_user):
    old = make_issued(manager_north, account_north, issue_date=datetime.date(2020, 1, 1))
    fresh = make_issued(manager_north, account_north)
    draft = make_draft(manager_north, account_north)
    south = make_issued(admin_user, account_south)
    client = client_for(manager_north)
    page = client.get(reverse("invoice_list")).content.decode()
    assert f"invoice-{old.pk}" in page and f"invoice-{draft.pk}" in page
    assert f"invoice-{south.pk}" not in page  # another team's account
    assert 'id="overdue-badge"' in page and "1 overdue" in page
    overdue = client.get(reverse("invoice_list"), {"overdue": "true"}).content.decode()
    assert f"invoice-{old.pk}" in overdue and f"invoice-{fresh.pk}" not in overdue
    drafts = client.get(reverse("invoice_list"), {"status": "draft"}).content.decode()
    assert f"invoice-{draft.pk}" in drafts and f"invoice-{old.pk}" not in drafts
    by_account = client.get(reverse("invoice_list"), {"account": account_north.pk})
    assert f"invoice-{fresh.pk}" in by_account.content.decode()
    partial = client.get(
        reverse("invoice_list"),
        {"status": "issued"},
        headers={"HX-Request": "true", "HX-Target": "list-results"},
    )
    assert partial.content.decode().startswith('<div id="list-results">')
    bad = client.get(reverse("invoice_list"), {"status": "nonsense"})
    assert bad.status_code == 200 and "Select a valid choice" in bad.content.decode()


def test_list_query_count_does_not_grow(manager_north, account_north):
    for _ in range(3):
        make_issued(manager_north, account_north)
    client = client_for(manager_north)
    with CaptureQueriesContext(connection) as few:
        client.get(reverse("invoice_list"))
    for _ in range(5):
        make_issued(manager_north, account_north)
    with CaptureQueriesContext(connection) as more:
        client.get(reverse("invoice_list"))
    assert len(more.captured_queries) == len(few.captured_queries)


def test_create_issue_pay_and_pdf_through_the_ui(manager_north, account_north):
    client = client_for(manager_north)
    assert client.get(reverse("invoice_create")).status_code == 200
    response = client.post(
        reverse("invoice_create"),
        {
            "account": account_north.pk,
            "currency": "eur",
            "payment_terms_days": "14",
            "notes": "",
            "lines-TOTAL_FORMS": "2",
            "lines-INITIAL_FORMS": "0",
            "lines-0-description": "Setup",
            "lines-0-quantity": "1",
            "lines-0-unit_price": "200",
            "lines-0-tax_rate": "10",
            "lines-1-description": "",
        },
    )
    invoice = Invoice.objects.get()
    assert response.status_code == 302 and response["Location"] == reverse(
        "invoice_detail", args=[invoice.pk]
    )
    assert (invoice.gross_total, invoice.currency, invoice.status) == (
        Decimal("220.00"),
        "EUR",
        "draft",
    )
    client.post(reverse("invoice_issue", args=[invoice.pk]), {"version": invoice.version})
    invoice.refresh_from_db()
    assert invoice.status == "issued" and invoice.number == 1
    over = client.post(
        reverse("payment_create", args=[invoice.pk]),
        {"amount": "300", "paid_on": "2026-03-01", "method": "card", "reference": ""},
    )
    assert over.status_code == 400
    assert "overpayments are not recorded" in over.content.decode()
    assert Payment.objects.count() == 0
    client.post(
        reverse("payment_create", args=[invoice.pk]),
        {"amount": "220", "paid_on": "2026-03-01", "method": "card", "reference": "R1"},
    )
    invoice.refresh_from_db()
    assert invoice.status == "paid"
    page = client.get(reverse("invoice_detail", args=[invoice.pk])).content.decode()
    assert "Paid" in page and 'id="pdf-link"' in page
    pdf = client.get(reverse("invoice_pdf", args=[invoice.pk]))
    assert pdf["Content-Type"] == "application/pdf" and pdf.content.startswith(b"%PDF")
    assert invoice.number_display in pdf["Content-Disposition"]


def test_edit_is_refused_once_issued(manager_north, account_north):
    invoice = make_issued(manager_north, account_north)
    client = client_for(manager_north)
    response = client.get(reverse("invoice_edit", args=[invoice.pk]))
    assert response.status_code == 302
    follow = client.get(response["Location"]).content.decode()
    assert "cannot be changed" in follow


def test_void_and_reverse_through_the_ui(manager_north, account_north):
    invoice = make_issued(manager_north, account_north)
    payment = services.payment_record(
        actor=manager_north, invoice=invoice, data={"amount": Decimal("10")}
    )
    client = client_for(manager_north)
    client.post(reverse("invoice_void", args=[invoice.pk]), {"reason": "Wrong"})
    invoice.refresh_from_db()
    assert invoice.status == "partially_paid"  # refused: a payment was received
    client.post(reverse("payment_reverse", args=[payment.pk]), {"reason": "Bounced"})
    client.post(reverse("invoice_void", args=[invoice.pk]), {"reason": "Wrong"})
    invoice.refresh_from_db()
    assert invoice.status == "void" and invoice.credit_notes.count() == 1


def test_read_only_roles_see_but_do_not_act(rep_north, rep_south, manager_north, account_north):
    invoice = make_issued(manager_north, account_north)
    rep = client_for(rep_north)
    page = rep.get(reverse("invoice_detail", args=[invoice.pk])).content.decode()
    assert "Record a payment" not in page and "Void invoice" not in page
    assert rep.post(reverse("invoice_void", args=[invoice.pk]), {"reason": "x"}).status_code == 403
    assert rep.get(reverse("invoice_create")).status_code == 403
    assert (
        rep.post(reverse("payment_create", args=[invoice.pk]), {"amount": "1"}).status_code == 400
        or Payment.objects.count() == 0
    )
    assert Payment.objects.count() == 0
    other = client_for(rep_south)
    assert other.get(reverse("invoice_detail", args=[invoice.pk])).status_code == 404
    assert other.get(reverse("invoice_pdf", args=[invoice.pk])).status_code == 404


def test_user_text_is_escaped(manager_north, admin_user):
    account = customer_services.account_create(
        actor=admin_user, data={"name": "<script>alert(1)</script>", "owner": manager_north}
    )
    invoice = make_issued(
        manager_north,
        account,
        lines=[{"description": "<b>bold</b>", "quantity": Decimal(1), "unit_price": Decimal(1)}],
    )
    client = client_for(manager_north)
    for url in (reverse("invoice_detail", args=[invoice.pk]), reverse("invoice_list")):
        page = client.get(url).content.decode()
        assert "<script>alert(1)</script>" not in page
        assert "&lt;script&gt;alert(1)&lt;/script&gt;" in page
    detail = client.get(reverse("invoice_detail", args=[invoice.pk])).content.decode()
    assert "&lt;b&gt;bold&lt;/b&gt;" in detail


def test_economics_panel_on_account_and_contact(manager_north, account_north, contact_north):
    make_issued(manager_north, account_north)
    client = client_for(manager_north)
    page = client.get(reverse("economics_panel", args=["account", account_north.pk]))
    assert page.status_code == 200
    html = page.content.decode()
    assert 'id="econ-revenue">100.00 EUR' in html and 'id="econ-margin">40.00 EUR' in html
    contact_page = client.get(reverse("economics_panel", args=["contact", contact_north.pk]))
    assert contact_page.status_code == 200
    assert client.get(reverse("economics_panel", args=["deal", 1])).status_code == 404
    account_page = client.get(reverse("account_detail", args=[account_north.pk])).content.decode()
    assert reverse("economics_panel", args=["account", account_north.pk]) in account_page


def test_partial_credit_note_through_the_ui(manager_north, account_north):
    invoice = make_issued(manager_north, account_north)  # 2 widgets, 120.00
    line = invoice.lines.get()
    client = client_for(manager_north)
    page = client.get(reverse("invoice_detail", args=[invoice.pk])).content.decode()
    assert f'name="credit_{line.pk}"' in page and "up to 2" in page
    client.post(
        reverse("invoice_credit", args=[invoice.pk]), {"reason": "Broken", f"credit_{line.pk}": "1"}
    )
    note = invoice.credit_notes.get()
    assert (note.gross_total, note.lines.get().quantity) == (Decimal("-60.00"), Decimal("-1"))
    refused = client.post(
        reverse("invoice_credit", args=[invoice.pk]),
        {"reason": "Again", f"credit_{line.pk}": "5"},
        follow=True,
    )
    assert "Only 1 left to credit." in refused.content.decode()
    client.post(reverse("invoice_credit", args=[invoice.pk]), {"reason": "Rest"})
    invoice.refresh_from_db()
    assert (invoice.status, invoice.credit_notes.count()) == ("void", 2)


def test_contact_choices_follow_the_account(
    manager_north, account_north, contact_north, admin_user
):
    elsewhere = customer_services.contact_create(
        actor=admin_user, data={"first_name": "Elsa", "owner": manager_north}
    )
    client = client_for(manager_north)
    html = client.get(reverse("invoice_contact_options"), {"account": account_north.pk})
    assert f'value="{contact_north.pk}">Nora North' in html.content.decode()
    assert html.content.decode().count("<option") == 2  # empty, Nora
    assert f'value="{elsewhere.pk}"' not in html.content.decode()
    empty = client.get(reverse("invoice_contact_options"), {"account": "x"}).content.decode()
    assert "Nora" not in empty
