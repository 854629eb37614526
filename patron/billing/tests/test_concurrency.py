"""Gap-free numbering under concurrent issues, on PostgreSQL: threads, each with its own
database connection, issue drafts at the same time through the service."""

import threading
from decimal import Decimal

import pytest
from django.db import connection

from patron.billing import services
from patron.billing.models import Invoice, InvoiceSeries
from patron.core.tests.factories import UserFactory, role
from patron.customers import services as customer_services

pytestmark = [
    pytest.mark.skipif(
        connection.vendor != "postgresql",
        reason="Needs PostgreSQL: SQLite has no row locks (SELECT ... FOR UPDATE is ignored) "
        "and lets one writer at a time, so parallel issues there test nothing.",
    ),
    pytest.mark.django_db(transaction=True, serialized_rollback=True),
]

THREADS = 8
PER_THREAD = 5
LINE = {"description": "Service", "quantity": Decimal("1"), "unit_price": Decimal("10")}


@pytest.fixture
def drafts():
    admin = UserFactory(username="billing_admin", role=role("admin"))
    account = customer_services.account_create(actor=admin, data={"name": "Parallel Ltd"})
    made = [
        services.invoice_create(actor=admin, data={"account": account}, lines=[LINE])
        for _ in range(THREADS * PER_THREAD)
    ]
    return admin, made


def _issue_in_threads(admin, invoices):
    """Issue `invoices` from THREADS threads started together; returns the errors raised."""
    barrier = threading.Barrier(THREADS)
    errors: list[BaseException] = []
    lock = threading.Lock()
    chunks = [invoices[i::THREADS] for i in range(THREADS)]

    def work(chunk):
        try:
            barrier.wait()
            for invoice in chunk:
                try:
                    services.invoice_issue(actor=admin, invoice=invoice)
                except RuntimeError as exc:
                    with lock:
                        errors.append(exc)
        finally:
            connection.close()  # each thread had its own connection

    threads = [threading.Thread(target=work, args=(chunk,)) for chunk in chunks]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=120)
    assert not any(t.is_alive() for t in threads)
    return errors


def test_parallel_issues_take_every_number_once(drafts):
    admin, invoices = drafts
    errors = _issue_in_threads(admin, invoices)
    assert errors == []
    numbers = sorted(Invoice.objects.values_list("number", flat=True))
    assert numbers == list(range(1, THREADS * PER_THREAD + 1))
    assert InvoiceSeries.objects.get(code="INV").next_number == THREADS * PER_THREAD + 1


def test_failed_issues_leave_no_gap(drafts, monkeypatch):
    admin, invoices = drafts
    fail_ids = {invoice.pk for invoice in invoices[::4]}
    real_timeline = services._timeline

    def timeline_failing_for_some(**kwargs):
        # Fails after the number was taken, inside the issuing transaction.
        assert kwargs["invoice"].number is not None
        if kwargs["invoice"].pk in fail_ids:
            raise RuntimeError("failure after numbering")
        return real_timeline(**kwargs)

    monkeypatch.setattr(services, "_timeline", timeline_failing_for_some)
    errors = _issue_in_threads(admin, invoices)
    assert len(errors) == len(fail_ids)
    issued = Invoice.objects.exclude(status="draft")
    expected = THREADS * PER_THREAD - len(fail_ids)
    assert sorted(issued.values_list("number", flat=True)) == list(range(1, expected + 1))
    assert set(Invoice.objects.filter(status="draft").values_list("pk", flat=True)) == fail_ids
    assert not Invoice.objects.filter(status="draft", number__isnull=False).exists()
    assert InvoiceSeries.objects.get(code="INV").next_number == expected + 1
