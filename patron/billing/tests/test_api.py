import datetime
from decimal import Decimal

import pytest

from patron.billing import services
from patron.billing.models import Invoice, Payment

from .factories import make_draft, make_issued

pytestmark = pytest.mark.django_db

LINE = {
    "description": "Widget",
    "quantity": "2",
    "unit_price": "50.00",
    "tax_rate": "20",
    "unit_cost": "30",
}


def test_draft_issue_pay_reverse_flow(api_as, manager_north, account_north, contact_north):
    api = api_as(manager_north)
    created = api.post(
        "/invoices",
        {
            "account_id": account_north.pk,
            "contact_id": contact_north.pk,
            "payment_terms_days": 10,
            "lines": [LINE],
        },
    )
    assert created.status_code == 201, created.json()
    body = created.json()
    assert (body["status"], body["number"], body["gross_total"], body["currency"]) == (
        "draft",
        "",
        "120.00",
        "EUR",
    )
    assert body["lines"][0]["net_amount"] == "100.00"
    assert body["contact"] == {"id": contact_north.pk, "name": "Nora North"}
    pk = body["id"]
    patched = api.patch(f"/invoices/{pk}", {"version": 1, "lines": [{**LINE, "quantity": "3"}]})
    assert patched.status_code == 200 and patched.json()["gross_total"] == "180.00"
    stale = api.patch(f"/invoices/{pk}", {"version": 1, "notes": "x"})
    assert stale.status_code == 409
    issued = api.post(f"/invoices/{pk}/issue", {"issue_date": "2026-02-01"})
    assert issued.status_code == 200
    assert (issued.json()["number"], issued.json()["due_date"]) == (
        "INV-2026-00001",
        "2026-02-11",
    )
    refused = api.patch(f"/invoices/{pk}", {"version": issued.json()["version"], "notes": "x"})
    assert refused.status_code == 400
    assert refused.json()["errors"][0]["message"] == services.IMMUTABLE
    assert api.delete(f"/invoices/{pk}").status_code == 400

    over = api.post(f"/invoices/{pk}/payments", {"amount": "180.01", "paid_on": "2026-02-05"})
    assert over.status_code == 400
    assert "overpayments are not recorded" in over.json()["errors"][0]["message"]
    paid = api.post(
        f"/invoices/{pk}/payments",
        {"amount": "80.00", "paid_on": "2026-02-05", "method": "card", "reference": "X"},
    )
    assert paid.status_code == 201 and paid.json()["amount"] == "80.00"
    detail = api.get(f"/invoices/{pk}").json()
    assert (detail["status"], detail["balance"], len(detail["payments"])) == (
        "partially_paid",
        "100.00",
        1,
    )
    reversed_ = api.post(f"/payments/{paid.json()['id']}/reverse", {"reason": "Bounced"})
    assert reversed_.status_code == 200 and reversed_.json()["reversal_reason"] == "Bounced"
    assert api.get(f"/invoices/{pk}").json()["status"] == "issued"
    pdf = api.get(f"/invoices/{pk}/pdf")
    assert pdf.status_code == 200 and pdf.content.startswith(b"%PDF")


def test_credit_notes_and_void(api_as, manager_north, account_north):
    invoice = make_issued(manager_north, account_north)
    line = invoice.lines.get()
    api = api_as(manager_north)
    too_many = api.post(
        f"/invoices/{invoice.pk}/credit-notes",
        {"reason": "Broken", "lines": [{"line_id": line.pk, "quantity": "3"}]},
    )
    assert too_many.status_code == 400
    partial = api.post(
        f"/invoices/{invoice.pk}/credit-notes",
        {"reason": "Broken", "lines": [{"line_id": line.pk, "quantity": "1"}]},
    )
    assert partial.status_code == 201
    note = partial.json()
    assert (note["kind"], note["number"], note["gross_total"]) == (
        "credit_note",
        f"CN-{datetime.date.today().year}-00001",
        "-60.00",
    )
    assert note["credit_of"] == {"id": invoice.pk, "number": invoice.number_display}
    voided = api.post(f"/invoices/{invoice.pk}/void", {"reason": "Cancelled"})
    assert voided.status_code == 200
    assert (voided.json()["status"], voided.json()["balance"]) == ("void", "0.00")
    assert len(voided.json()["credit_notes"]) == 2


def test_list_filters(api_as, manager_north, account_north):
    old = make_issued(manager_north, account_north, issue_date=datetime.date(2020, 1, 1))
    make_issued(manager_north, account_north)
    draft = make_draft(manager_north, account_north)
    api = api_as(manager_north)
    overdue = api.get("/invoices", {"overdue": "true"}).json()["results"]
    assert [r["id"] for r in overdue] == [old.pk] and overdue[0]["overdue"] is True
    drafts = api.get("/invoices", {"status": "draft"}).json()["results"]
    assert [r["id"] for r in drafts] == [draft.pk]
    assert len(api.get("/invoices", {"account": account_north.pk}).json()["results"]) == 3
    page = api.get("/invoices", {"limit": 2}).json()
    assert len(page["results"]) == 2 and page["next_cursor"]
    rest = api.get("/invoices", {"limit": 2, "cursor": page["next_cursor"]}).json()
    assert len(rest["results"]) == 1
    assert api.get("/invoices", {"colour": "red"}).status_code == 400
    assert api.get("/invoices", {"status": "lost"}).status_code == 422
    assert api.get("/invoices", {"cursor": "garbage"}).status_code == 400


@pytest.mark.parametrize(
    "body",
    [
        {"account_id": 0},
        {"account_id": 1, "lines": [{**LINE, "quantity": "-1"}]},
        {"account_id": 1, "lines": [{**LINE, "unit_price": "1e400"}]},
        {"account_id": 1, "lines": [{**LINE, "tax_rate": "101"}]},
        {"account_id": 1, "currency": "EURO"},
        {"account_id": 1, "issue_date": "9999-12-31"},
        {"account_id": 1, "surprise": True},
    ],
)
def test_bad_input_is_a_422(api_as, manager_north, body):
    response = api_as(manager_north).post("/invoices", body)
    assert response.status_code == 422, response.json()
    assert response.json()["errors"]
    assert Invoice.objects.count() == 0


def test_bad_payments_are_refused(api_as, manager_north, account_north):
    invoice = make_issued(manager_north, account_north)
    api = api_as(manager_north)
    for amount in ("0", "-1", "1.001", "NaN"):
        response = api.post(f"/invoices/{invoice.pk}/payments", {"amount": amount})
        assert response.status_code == 422, amount
    assert Payment.objects.count() == 0


def test_permissions_and_visibility(api_as, rep_north, rep_south, manager_north, account_north):
    invoice = make_issued(manager_north, account_north)
    rep = api_as(rep_north)
    assert rep.get(f"/invoices/{invoice.pk}").status_code == 200
    assert rep.post("/invoices", {"account_id": account_north.pk}).status_code == 403
    assert rep.post(f"/invoices/{invoice.pk}/payments", {"amount": "1"}).status_code == 403
    assert rep.post(f"/invoices/{invoice.pk}/void", {"reason": "x"}).status_code == 403
    other = api_as(rep_south)
    assert other.get(f"/invoices/{invoice.pk}").status_code == 404
    assert other.get(f"/invoices/{invoice.pk}/pdf").status_code == 404
    assert other.get(f"/accounts/{account_north.pk}/economics").status_code == 404
    assert other.get("/invoices").json()["results"] == []
    invoice.refresh_from_db()
    assert (invoice.status, invoice.amount_paid) == ("issued", Decimal("0"))
    manager = api_as(manager_north)
    assert manager.post("/invoices", {"account_id": 10**12}).json()["errors"] == [
        {"field": "account_id", "message": f"There is no account with id {10**12}."}
    ]


def test_list_query_count_is_fixed(api_as, manager_north, account_north, contact_north):
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    make_issued(manager_north, account_north, contact=contact_north)
    api = api_as(manager_north)
    with CaptureQueriesContext(connection) as few:
        assert len(api.get("/invoices").json()["results"]) == 1
    for _ in range(4):
        invoice = make_issued(manager_north, account_north, contact=contact_north)
        services.credit_note_create(actor=manager_north, invoice=invoice, reason="Back")
    with CaptureQueriesContext(connection) as more:
        assert len(api.get("/invoices").json()["results"]) == 9
    assert len(more.captured_queries) == len(few.captured_queries)


def test_credit_note_and_draft_pdfs(api_as, manager_north, account_north):
    invoice = make_issued(manager_north, account_north)
    note = services.credit_note_create(actor=manager_north, invoice=invoice, reason="Back")
    draft = make_draft(manager_north, account_north)
    api = api_as(manager_north)
    for document, filename in ((note, note.number_display), (draft, f"draft-{draft.pk}")):
        response = api.get(f"/invoices/{document.pk}/pdf")
        assert response.status_code == 200 and response.content.startswith(b"%PDF")
        assert response["Content-Disposition"] == f'inline; filename="{filename}.pdf"'


def test_a_retried_payment_is_recorded_once(api_as, manager_north, account_north):
    invoice = make_issued(manager_north, account_north)
    api = api_as(manager_north)
    api.headers["Idempotency-Key"] = "pay-inv-1"
    first = api.post(f"/invoices/{invoice.pk}/payments", {"amount": "100.00"})
    again = api.post(f"/invoices/{invoice.pk}/payments", {"amount": "100.00"})
    assert (first.status_code, again.status_code) == (201, 201)
    assert again["Idempotent-Replayed"] == "true" and again.json() == first.json()
    assert Payment.objects.count() == 1
    invoice.refresh_from_db()
    assert invoice.amount_paid == Decimal("100.00")
