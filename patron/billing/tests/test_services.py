import datetime
from decimal import Decimal

import pytest
from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction

from patron.billing import selectors, services
from patron.billing.models import Invoice, InvoiceSeries, Payment
from patron.core.exceptions import PermissionDeniedError
from patron.core.models import AuditEvent
from patron.customers.models import TimelineEntry

from .factories import LINE, make_draft, make_issued

pytestmark = pytest.mark.django_db

D = Decimal
TODAY = datetime.date(2026, 3, 10)


def series(code: str) -> InvoiceSeries:
    return InvoiceSeries.objects.get(code=code)


def test_draft_totals_are_rounded_per_line(manager_north, account_north):
    draft = make_draft(
        manager_north,
        account_north,
        lines=[
            {"description": "A", "quantity": D(3), "unit_price": D("0.3333"), "tax_rate": D(20)},
            {
                "description": "B",
                "quantity": D("1.5"),
                "unit_price": D("10.0000"),
                "discount_percent": D("10"),
                "tax_rate": D("5.5"),
                "unit_cost": D("4.1234"),
            },
        ],
    )
    draft.refresh_from_db()
    assert draft.status == "draft" and draft.number is None and draft.number_display == ""
    lines = list(draft.lines.order_by("position"))
    assert [(x.net_amount, x.tax_amount, x.gross_amount) for x in lines] == [
        (D("1.00"), D("0.20"), D("1.20")),
        (D("13.50"), D("0.74"), D("14.24")),
    ]
    assert lines[1].cost_amount == D("6.19")  # 1.5 × 4.1234 = 6.1851
    assert (draft.net_total, draft.tax_total, draft.gross_total) == (
        D("14.50"),
        D("0.94"),
        D("15.44"),
    )
    created = AuditEvent.objects.filter(content_type__model="invoice", action="create")
    assert created.filter(object_id=draft.pk).count() == 1


def test_issue_numbers_each_series_without_gaps(manager_north, account_north):
    first = make_issued(manager_north, account_north, issue_date=TODAY)
    second = make_issued(manager_north, account_north, issue_date=TODAY)
    assert (first.number, second.number) == (1, 2)
    assert first.number_display == "INV-2026-00001"
    assert second.number_display == "INV-2026-00002"
    assert first.due_date == TODAY + datetime.timedelta(days=30)
    assert first.status == "issued" and first.issued_at is not None
    note = services.credit_note_create(actor=manager_north, invoice=first, reason="Returned")
    assert (note.series.code, note.number, note.number_display) == ("CN", 1, "CN-2026-00001")
    assert series("INV").next_number == 3 and series("CN").next_number == 2
    entry = TimelineEntry.objects.get(kind="invoice", data__event="issued", related_id=first.pk)
    assert entry.account_id == account_north.pk
    assert entry.subject == "Invoice INV-2026-00001 issued: 120.00 EUR"


def test_a_draft_waits_for_its_number_and_an_issue_date_orders_nothing(
    manager_north, account_north
):
    late_draft = make_draft(manager_north, account_north)
    issued = make_issued(manager_north, account_north)
    services.invoice_issue(actor=manager_north, invoice=late_draft)
    late_draft.refresh_from_db()
    assert (issued.number, late_draft.number) == (1, 2)


def test_a_failed_issue_leaves_no_gap(manager_north, account_north, monkeypatch):
    draft = make_draft(manager_north, account_north)
    empty = services.invoice_create(actor=manager_north, data={"account": account_north})
    with pytest.raises(ValidationError) as caught:
        services.invoice_issue(actor=manager_north, invoice=empty)
    assert "Add at least one line" in str(caught.value)

    def fail(**kwargs):
        raise RuntimeError("timeline down")

    monkeypatch.setattr(services, "_timeline", fail)
    with pytest.raises(RuntimeError):
        services.invoice_issue(actor=manager_north, invoice=draft)
    draft.refresh_from_db()
    assert draft.status == "draft" and draft.number is None
    assert series("INV").next_number == 1
    monkeypatch.undo()
    issued = services.invoice_issue(actor=manager_north, invoice=draft)
    assert issued.number == 1


def test_numbers_are_unique_per_series_in_the_database(manager_north, account_north):
    issued = make_issued(manager_north, account_north)
    other = make_draft(manager_north, account_north)
    with pytest.raises(IntegrityError), transaction.atomic():
        Invoice.objects.filter(pk=other.pk).update(status="issued", number=issued.number)


def test_issued_invoices_are_immutable(manager_north, account_north, account_south):
    issued = make_issued(manager_north, account_north)
    before = (issued.version, issued.notes, issued.gross_total, issued.lines.count())
    with pytest.raises(ValidationError) as caught:
        services.invoice_update(
            actor=manager_north,
            invoice=issued,
            expected_version=issued.version,
            data={"notes": "changed"},
        )
    assert services.IMMUTABLE in str(caught.value)
    with pytest.raises(ValidationError):
        services.invoice_update(
            actor=manager_north,
            invoice=issued,
            expected_version=None,
            data={},
            lines=[{**LINE, "quantity": D("5")}],
        )
    with pytest.raises(ValidationError):
        services.invoice_delete(actor=manager_north, invoice=issued)
    with pytest.raises(ValidationError):
        services.invoice_issue(actor=manager_north, invoice=issued)
    issued.refresh_from_db()
    assert (issued.version, issued.notes, issued.gross_total, issued.lines.count()) == before


def test_draft_update_replaces_lines_and_totals(manager_north, account_north):
    draft = make_draft(manager_north, account_north)
    updated = services.invoice_update(
        actor=manager_north,
        invoice=draft,
        expected_version=1,
        data={"notes": "Net 14", "payment_terms_days": 14},
        lines=[{"description": "Consulting", "quantity": D("4"), "unit_price": D("100")}],
    )
    assert updated.version == 2
    updated.refresh_from_db()
    assert (updated.gross_total, updated.payment_terms_days) == (D("400.00"), 14)
    assert [line.description for line in updated.lines.all()] == ["Consulting"]
    issued = services.invoice_issue(actor=manager_north, invoice=updated, issue_date=TODAY)
    assert issued.due_date == datetime.date(2026, 3, 24)


def test_line_validation_names_the_line(manager_north, account_north):
    with pytest.raises(ValidationError) as caught:
        make_draft(
            manager_north,
            account_north,
            lines=[
                dict(LINE),
                {**LINE, "quantity": D("-1")},
                {**LINE, "discount_percent": D("150")},
                {**LINE, "colour": "red"},
            ],
        )
    errors = caught.value.message_dict
    assert set(errors) == {"lines.1.quantity", "lines.2.discount_percent", "lines.3.colour"}
    assert Invoice.objects.count() == 0


def test_payments_partial_then_paid_and_reversal(manager_north, account_north):
    invoice = make_issued(manager_north, account_north)  # 120.00
    payment = services.payment_record(
        actor=manager_north,
        invoice=invoice,
        data={"amount": D("20.00"), "paid_on": TODAY, "method": "card", "reference": "T-1"},
    )
    invoice.refresh_from_db()
    assert (invoice.status, invoice.amount_paid, invoice.balance) == (
        "partially_paid",
        D("20.00"),
        D("100.00"),
    )
    services.payment_record(actor=manager_north, invoice=invoice, data={"amount": D("100.00")})
    invoice.refresh_from_db()
    assert (invoice.status, invoice.balance) == ("paid", D("0.00"))
    services.payment_reverse(actor=manager_north, payment=payment, reason="Chargeback")
    invoice.refresh_from_db()
    payment.refresh_from_db()
    assert payment.is_reversed and payment.reversal_reason == "Chargeback"
    assert (invoice.status, invoice.amount_paid, invoice.balance) == (
        "partially_paid",
        D("100.00"),
        D("20.00"),
    )
    with pytest.raises(ValidationError):
        services.payment_reverse(actor=manager_north, payment=payment, reason="Again")
    events = TimelineEntry.objects.filter(kind="invoice", related_id=invoice.pk)
    assert sorted(events.values_list("data__event", flat=True)) == [
        "issued",
        "payment_received",
        "payment_received",
        "payment_reversed",
    ]
    reversal = AuditEvent.objects.get(content_type__model="payment", action="update")
    assert (reversal.object_id, reversal.changes["reason"]) == (payment.pk, [None, "Chargeback"])


def test_overpayment_is_refused_with_a_message(manager_north, account_north):
    invoice = make_issued(manager_north, account_north)
    with pytest.raises(ValidationError) as caught:
        services.payment_record(actor=manager_north, invoice=invoice, data={"amount": D("120.01")})
    number = invoice.number_display
    assert caught.value.message_dict["amount"] == [
        f"This is more than the 120.00 EUR still owed on {number}; overpayments are not recorded."
    ]
    invoice.refresh_from_db()
    assert (invoice.amount_paid, invoice.status, Payment.objects.count()) == (D("0"), "issued", 0)


@pytest.mark.parametrize("amount", [D("0"), D("-5"), D("1.001")])
def test_payment_amount_must_be_positive_and_in_cents(manager_north, account_north, amount):
    invoice = make_issued(manager_north, account_north)
    with pytest.raises(ValidationError) as caught:
        services.payment_record(actor=manager_north, invoice=invoice, data={"amount": amount})
    assert "amount" in caught.value.message_dict
    assert Payment.objects.count() == 0


def test_drafts_and_credit_notes_take_no_payments(manager_north, account_north):
    draft = make_draft(manager_north, account_north)
    with pytest.raises(ValidationError):
        services.payment_record(actor=manager_north, invoice=draft, data={"amount": D("1")})
    issued = make_issued(manager_north, account_north)
    note = services.credit_note_create(actor=manager_north, invoice=issued, reason="Oops")
    with pytest.raises(ValidationError):
        services.payment_record(actor=manager_north, invoice=note, data={"amount": D("1")})
    assert Payment.objects.count() == 0


def test_partial_credit_note_reduces_the_balance(manager_north, account_north):
    invoice = make_issued(
        manager_north,
        account_north,
        lines=[LINE, {**LINE, "description": "Gadget", "quantity": D("1"), "unit_price": D("10")}],
    )  # 120.00 + 12.00
    widget = invoice.lines.get(description="Widget")
    note = services.credit_note_create(
        actor=manager_north,
        invoice=invoice,
        reason="One widget broken",
        lines=[{"line": widget, "quantity": D("1")}],
    )
    assert note.kind == "credit_note" and note.credit_of_id == invoice.pk
    line = note.lines.get()
    assert (line.quantity, line.net_amount, line.cost_amount, line.credited_line_id) == (
        D("-1"),
        D("-50.00"),
        D("-30.00"),
        widget.pk,
    )
    assert (note.net_total, note.gross_total, note.status) == (D("-50.00"), D("-60.00"), "issued")
    invoice.refresh_from_db()
    assert (invoice.amount_credited, invoice.balance, invoice.status) == (
        D("60.00"),
        D("72.00"),
        "issued",
    )
    with pytest.raises(ValidationError) as caught:
        services.credit_note_create(
            actor=manager_north,
            invoice=invoice,
            reason="Too much",
            lines=[{"line": widget, "quantity": D("2")}],
        )
    assert caught.value.message_dict == {"lines.0.quantity": ["Only 1 left to credit."]}
    rest = services.credit_note_create(actor=manager_north, invoice=invoice, reason="All back")
    assert rest.gross_total == D("-72.00")
    invoice.refresh_from_db()
    assert (invoice.balance, invoice.status) == (D("0.00"), "void")
    with pytest.raises(ValidationError):
        services.credit_note_create(actor=manager_north, invoice=invoice, reason="Again")


def test_void_issues_a_full_credit_note_and_needs_no_payments(manager_north, account_north):
    invoice = make_issued(manager_north, account_north)
    payment = services.payment_record(
        actor=manager_north, invoice=invoice, data={"amount": D("10")}
    )
    with pytest.raises(ValidationError) as caught:
        services.invoice_void(actor=manager_north, invoice=invoice, reason="Wrong customer")
    assert "reverse them" in str(caught.value)
    services.payment_reverse(actor=manager_north, payment=payment, reason="Refunded")
    with pytest.raises(ValidationError):
        services.invoice_void(actor=manager_north, invoice=invoice, reason="  ")
    voided = services.invoice_void(actor=manager_north, invoice=invoice, reason="Wrong customer")
    assert (voided.status, voided.number, voided.reason) == ("void", 1, "Wrong customer")
    note = voided.credit_notes.get()
    assert (note.gross_total, note.number_display[:3]) == (D("-120.00"), "CN-")
    assert voided.balance == D("0.00")
    with pytest.raises(ValidationError):
        services.payment_record(actor=manager_north, invoice=voided, data={"amount": D("1")})
    assert TimelineEntry.objects.filter(kind="invoice", data__event="voided").count() == 1


def test_overdue_selector_and_daily_job(manager_north, account_north):
    overdue = make_issued(manager_north, account_north, issue_date=datetime.date(2026, 1, 1))
    paid = make_issued(manager_north, account_north, issue_date=datetime.date(2026, 1, 1))
    services.payment_record(actor=manager_north, invoice=paid, data={"amount": D("120")})
    make_issued(manager_north, account_north, issue_date=TODAY)  # not yet due
    make_draft(manager_north, account_north)
    assert list(selectors.invoices_overdue(user=manager_north, today=TODAY)) == [overdue]
    overdue.refresh_from_db()
    assert overdue.is_overdue(TODAY) and not overdue.is_overdue(datetime.date(2026, 1, 31))

    marked = services.invoices_mark_overdue(today=TODAY)
    assert [i.pk for i in marked] == [overdue.pk]
    assert services.invoices_mark_overdue(today=TODAY) == []  # safe to run twice
    overdue.refresh_from_db()
    assert overdue.overdue_since == TODAY
    entry = TimelineEntry.objects.get(kind="invoice", data__event="overdue")
    assert entry.subject == (
        f"Invoice {overdue.number_display} is overdue: 120.00 EUR unpaid since 31 Jan 2026"
    )


def test_overdue_job_runs_as_a_task(manager_north, account_north):
    from patron.billing import tasks

    make_issued(manager_north, account_north, issue_date=datetime.date(2020, 1, 1))
    assert tasks.overdue_task.call() == 1
    assert tasks.overdue_task.call() == 0


def test_permissions(rep_north, rep_south, manager_north, readonly_user, account_north):
    with pytest.raises(PermissionDeniedError):
        make_draft(rep_north, account_north)
    invoice = make_issued(manager_north, account_north)
    with pytest.raises(PermissionDeniedError):
        services.payment_record(actor=rep_north, invoice=invoice, data={"amount": D("1")})
    with pytest.raises(PermissionDeniedError):
        services.invoice_void(actor=readonly_user, invoice=invoice, reason="x")
    assert list(selectors.invoice_visible(user=rep_north)) == [invoice]
    assert list(selectors.invoice_visible(user=rep_south)) == []
    assert list(selectors.invoice_visible(user=readonly_user)) == [invoice]
    invoice.refresh_from_db()
    assert (invoice.status, invoice.amount_paid) == ("issued", D("0"))


def test_references_must_be_visible(manager_north, account_south):
    with pytest.raises(ValidationError) as caught:
        make_draft(manager_north, account_south)
    assert caught.value.message_dict == {"account": ["There is no such account."]}


def test_overdue_command(manager_north, account_north):
    from io import StringIO

    from django.core.management import call_command

    invoice = make_issued(manager_north, account_north, issue_date=datetime.date(2026, 1, 1))
    out = StringIO()
    call_command("invoices_overdue", "--today", "2026-03-10", stdout=out)
    assert out.getvalue().splitlines() == [
        "Marked 1 invoice(s) newly overdue.",
        f"{invoice.number_display}\tNorthwind\tdue 2026-01-31\t120.00 EUR",
    ]
    out = StringIO()
    call_command("invoices_overdue", "--today", "2026-03-10", stdout=out)
    assert out.getvalue().splitlines()[0] == "Marked 0 invoice(s) newly overdue."


def test_a_document_discount_applies_per_tax_rate(manager_north, account_north):
    draft = make_draft(
        manager_north,
        account_north,
        lines=[LINE, {**LINE, "tax_rate": D(0), "quantity": D(1), "unit_price": D("10")}],
    )  # net 100 at 20 %, 10 at 0 %
    updated = services.invoice_update(
        actor=manager_north,
        invoice=draft,
        expected_version=1,
        data={"discount_percent": D("10")},
    )
    updated.refresh_from_db()
    assert (updated.net_total, updated.tax_total, updated.gross_total) == (
        D("99.00"),
        D("18.00"),
        D("117.00"),
    )


def test_the_pdf_shows_the_stored_totals(manager_north, account_north):
    from patron.billing import documents

    invoice = make_issued(manager_north, account_north, discount_percent=D("10"))
    document = documents.invoice_document(invoice)
    assert (document.number, document.totals.net, document.totals.gross) == (
        invoice.number_display,
        invoice.net_total,
        invoice.gross_total,
    )
    assert invoice.net_total == D("90.00")
    assert ("Due date", invoice.due_date.strftime("%d %b %Y")) in document.dates


def test_the_pdf_names_the_seller_with_its_address(manager_north, account_north, settings):
    from patron.billing import documents

    settings.PATRON_SELLER_ADDRESS = "Hafenstraße 1 | 20457 Hamburg"
    invoice = make_issued(manager_north, account_north)
    seller = documents.invoice_document(invoice).seller
    assert seller.lines == ["Hafenstraße 1", "20457 Hamburg"]
    assert seller.name
