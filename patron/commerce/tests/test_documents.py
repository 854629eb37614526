"""Quotes and orders through the services: numbering, totals, acceptance, life-cycle, credit."""

import datetime
from decimal import Decimal as D

import pytest
from django.core.exceptions import ValidationError
from django.utils import timezone

from patron.commerce import documents, selectors, services
from patron.commerce.models import Order, Quote
from patron.core.exceptions import PermissionDeniedError
from patron.core.models import AuditEvent
from patron.customers.models import TimelineEntry
from patron.sales.models import Opportunity
from patron.sales.tests.factories import make_opportunity


def _quote(actor, account, widget, service_hour, **extra):
    return documents.quote_create(
        actor=actor,
        data={"account": account, **extra},
        lines=[
            {"product": widget, "quantity": D("3"), "discount_percent": D("10")},
            {"product": service_hour, "quantity": D("1.5")},
            {"description": "Travel", "quantity": D("1"), "unit_price": D("45.555")},
        ],
    )


def test_quote_prices_taxes_and_totals(rep_north, account_north, widget, service_hour, eur_list):
    quote = _quote(rep_north, account_north, widget, service_hour)
    lines = list(quote.lines.all())
    assert [
        (line.unit_price, line.tax_rate, line.net_amount, line.tax_amount) for line in lines
    ] == [
        (D("9.9900"), D("20.000"), D("26.97"), D("5.39")),  # 3 × 9.99 − 10 % = 26.973
        (D("80.0000"), D("5.500"), D("120.00"), D("6.60")),
        (D("45.5550"), D("0.000"), D("45.56"), D("0.00")),  # free text, no tax
    ]
    assert [line.unit_cost for line in lines] == [D("4.2500"), D("30.0000"), None]
    assert [line.unit for line in lines] == ["pcs", "hour", ""]
    assert (quote.net_total, quote.tax_total, quote.gross_total) == (
        D("192.53"),
        D("11.99"),
        D("204.52"),
    )
    assert quote.currency == "EUR"
    assert quote.price_list == eur_list
    assert quote.status == "draft"
    assert quote.owner == rep_north
    assert quote.valid_until == timezone.localdate() + datetime.timedelta(days=30)


def test_quote_numbers_follow_a_per_year_sequence(
    rep_north, account_north, widget, service_hour, eur_list
):
    year = timezone.localdate().year
    first = _quote(rep_north, account_north, widget, service_hour)
    second = _quote(rep_north, account_north, widget, service_hour)
    assert first.number == f"Q-{year}-00001"
    assert second.number == f"Q-{year}-00002"
    assert documents.next_number("Q", today=datetime.date(1999, 1, 1)) == "Q-1999-00001"


def test_document_discount_in_totals(rep_north, account_north, widget, service_hour, eur_list):
    quote = _quote(rep_north, account_north, widget, service_hour, discount_percent=D("10"))
    # per rate: 20 %: 26.97 → 24.27, tax 4.85; 5.5 %: 120 → 108.00, tax 5.94; 0 %: 45.56 → 41.00
    assert quote.net_total == D("173.27")
    assert quote.tax_total == D("10.79")
    assert quote.gross_total == D("184.06")


def test_quote_lines_are_checked_one_by_one(rep_north, account_north, widget, eur_list):
    with pytest.raises(ValidationError) as caught:
        documents.quote_create(
            actor=rep_north,
            data={"account": account_north},
            lines=[
                {"product": widget, "quantity": D("1")},
                {"description": "", "quantity": D("1"), "unit_price": D("1")},
                {"product": widget, "quantity": D("0")},
                {"product": widget, "quantity": D("1"), "discount_percent": D("150")},
            ],
        )
    assert set(caught.value.message_dict) == {
        "lines.1.description",
        "lines.2.quantity",
        "lines.3.discount_percent",
    }
    assert not Quote.objects.exists()


def test_price_list_currency_must_match(admin_user, rep_north, account_north, widget, eur_list):
    with pytest.raises(ValidationError) as caught:
        documents.quote_create(
            actor=rep_north,
            data={"account": account_north, "currency": "USD", "price_list": eur_list},
            lines=[{"product": widget, "quantity": D("1")}],
        )
    assert "price_list" in caught.value.message_dict


def test_quote_only_editable_in_draft(rep_north, account_north, widget, service_hour, eur_list):
    quote = _quote(rep_north, account_north, widget, service_hour)
    documents.quote_update(
        actor=rep_north,
        quote=quote,
        expected_version=quote.version,
        data={"terms": "Net 30"},
        lines=[{"product": widget, "quantity": D("2")}],
    )
    quote.refresh_from_db()
    assert quote.gross_total == D("23.98")  # 19.98 + 4.00 tax
    assert quote.lines.count() == 1
    documents.quote_send(actor=rep_north, quote=quote)
    with pytest.raises(ValidationError):
        documents.quote_update(
            actor=rep_north, quote=quote, expected_version=None, data={"terms": "Changed"}
        )
    quote.refresh_from_db()
    assert quote.terms == "Net 30"
    assert quote.status == "sent"


def test_quote_from_opportunity_copies_its_products(
    rep_north, account_north, widget, service_hour, eur_list
):
    opportunity = make_opportunity(rep_north, account_north, amount=D("0"))
    services.opportunity_product_add(
        actor=rep_north, opportunity=opportunity, data={"product": widget, "quantity": D("10")}
    )
    services.opportunity_product_add(
        actor=rep_north,
        opportunity=opportunity,
        data={"product": service_hour, "quantity": D("2"), "unit_price": D("75")},
    )
    opportunity.refresh_from_db()
    assert opportunity.amount == D("249.90")  # 99.90 + 150.00: the amount follows the lines
    quote = documents.quote_create(
        actor=rep_north, data={"account": account_north, "opportunity": opportunity}
    )
    assert [(line.product, line.quantity, line.unit_price) for line in quote.lines.all()] == [
        (widget, D("10.000"), D("9.9900")),
        (service_hour, D("2.000"), D("75.0000")),
    ]
    assert quote.net_total == D("249.90")


def test_accepting_a_quote_creates_the_order_and_wins_the_opportunity(
    rep_north, account_north, contact_north, widget, service_hour, eur_list
):
    opportunity = make_opportunity(rep_north, account_north)
    quote = _quote(
        rep_north,
        account_north,
        widget,
        service_hour,
        opportunity=opportunity,
        contact=contact_north,
    )
    documents.quote_send(actor=rep_north, quote=quote)
    services.product_update(
        actor=None, product=widget, expected_version=None, data={"unit_cost": D("99")}
    )
    order = documents.quote_accept(actor=rep_north, quote=quote)

    quote.refresh_from_db()
    assert quote.status == "accepted"
    assert order.quote == quote
    assert order.status == "draft"
    assert order.number == f"SO-{timezone.localdate().year}-00001"
    assert (order.net_total, order.tax_total, order.gross_total) == (
        quote.net_total,
        quote.tax_total,
        quote.gross_total,
    )
    copied = [
        (line.description, line.quantity, line.unit_price, line.discount_percent, line.unit_cost)
        for line in order.lines.all()
    ]
    assert copied == [
        (line.description, line.quantity, line.unit_price, line.discount_percent, line.unit_cost)
        for line in quote.lines.all()
    ]
    assert copied[0][4] == D("4.2500")  # the cost when quoted, not today's 99
    opportunity.refresh_from_db()
    assert opportunity.stage.kind == "won"
    assert opportunity.close_reason == f"Quote {quote.number} accepted"
    kinds = list(
        TimelineEntry.objects.filter(account=account_north, kind__in=["quote", "order"])
        .order_by("id")
        .values_list("kind", "data__event")
    )
    assert kinds == [("quote", "sent"), ("quote", "accepted"), ("order", "created")]
    assert AuditEvent.objects.filter(
        object_id=order.pk, action="create", object_repr=order.number
    ).exists()


def test_accept_is_all_or_nothing(
    rep_north, account_north, widget, service_hour, eur_list, monkeypatch
):
    quote = _quote(rep_north, account_north, widget, service_hour)
    documents.quote_send(actor=rep_north, quote=quote)

    def broken(*args, **kwargs):
        raise RuntimeError("timeline down")

    monkeypatch.setattr(documents.customer_services, "timeline_entry_create", broken)
    with pytest.raises(RuntimeError):
        documents.quote_accept(actor=rep_north, quote=quote)
    quote.refresh_from_db()
    assert quote.status == "sent"
    assert not Order.objects.exists()


def test_expired_quote_cannot_be_accepted(rep_north, account_north, widget, service_hour, eur_list):
    quote = _quote(rep_north, account_north, widget, service_hour)
    documents.quote_send(actor=rep_north, quote=quote)
    Quote.objects.filter(pk=quote.pk).update(valid_until=datetime.date(2000, 1, 1))
    quote.refresh_from_db()
    assert quote.display_status == "expired"
    assert list(selectors.quote_filter(Quote.objects.all(), "expired")) == [quote]
    with pytest.raises(ValidationError):
        documents.quote_accept(actor=rep_north, quote=quote)
    assert not Order.objects.exists()
    documents.quote_decline(actor=rep_north, quote=quote, reason="Too late")
    quote.refresh_from_db()
    assert (quote.status, quote.decline_reason) == ("declined", "Too late")


def test_draft_quote_cannot_be_accepted(rep_north, account_north, widget, service_hour, eur_list):
    quote = _quote(rep_north, account_north, widget, service_hour)
    with pytest.raises(ValidationError):
        documents.quote_accept(actor=rep_north, quote=quote)
    assert Quote.objects.get().status == "draft"


def _order(actor, account, widget, **kwargs):
    return documents.order_create(
        actor=actor,
        data={"account": account},
        lines=[{"product": widget, "quantity": D("10")}],
        prices_from_list=True,
        **kwargs,
    )


def test_order_life_cycle(rep_north, account_north, widget, eur_list):
    order = _order(rep_north, account_north, widget)
    assert (order.status, order.gross_total) == ("draft", D("119.88"))
    with pytest.raises(ValidationError):
        documents.order_fulfil(actor=rep_north, order=order)
    documents.order_confirm(actor=rep_north, order=order)
    documents.order_fulfil(actor=rep_north, order=order)
    order.refresh_from_db()
    assert order.status == "fulfilled"
    assert order.confirmed_at is not None and order.fulfilled_at is not None
    with pytest.raises(ValidationError):
        documents.order_cancel(actor=rep_north, order=order)
    documents.order_mark_invoiced(actor=None, order=order)
    order.refresh_from_db()
    assert order.status == "invoiced"
    for transition in (documents.order_confirm, documents.order_fulfil, documents.order_cancel):
        with pytest.raises(ValidationError):
            transition(actor=rep_north, order=order)
    assert Order.objects.get().status == "invoiced"
    events = list(
        TimelineEntry.objects.filter(kind="order")
        .order_by("id")
        .values_list("data__event", flat=True)
    )
    assert events == ["created", "confirmed", "fulfilled", "invoiced"]
    entry = TimelineEntry.objects.filter(kind="order").order_by("id").last()
    assert entry.data["number"] == order.number
    assert entry.data["total"] == "119.88"
    assert entry.data["status"] == "invoiced"


def test_order_cancel_from_confirmed_with_reason(rep_north, account_north, widget, eur_list):
    order = _order(rep_north, account_north, widget, confirm=True)
    documents.order_cancel(actor=rep_north, order=order, reason="Customer changed mind")
    order.refresh_from_db()
    assert order.status == "cancelled"
    assert order.cancel_reason == "Customer changed mind"
    assert order.cancelled_at is not None


def test_credit_limit_counts_open_orders(admin_user, rep_north, account_north, widget, eur_list):
    services.credit_limit_set(
        actor=admin_user, account=account_north, amount=D("250"), currency="EUR"
    )
    first = _order(rep_north, account_north, widget, confirm=True)  # 119.88
    assert selectors.credit_exposure(account_north) == D("119.88")
    second = _order(rep_north, account_north, widget, confirm=True)  # 239.76 in all
    with pytest.raises(ValidationError) as caught:
        _order(rep_north, account_north, widget, confirm=True)
    assert "credit limit" in caught.value.message_dict["account"][0]
    assert Order.objects.count() == 2
    draft = _order(rep_north, account_north, widget)  # a draft is not checked yet
    with pytest.raises(ValidationError):
        documents.order_confirm(actor=rep_north, order=draft)
    documents.order_mark_invoiced(actor=None, order=first)  # invoiced: no longer open
    documents.order_confirm(actor=rep_north, order=draft)
    assert selectors.credit_exposure(account_north) == second.gross_total + draft.gross_total


def test_credit_exposure_sources_can_be_registered(
    admin_user, rep_north, account_north, widget, eur_list, monkeypatch
):
    monkeypatch.setattr(selectors, "_exposure_sources", [])
    selectors.register_exposure_source(lambda account, currency: D("200"))
    services.credit_limit_set(
        actor=admin_user, account=account_north, amount=D("250"), currency="EUR"
    )
    with pytest.raises(ValidationError):
        _order(rep_north, account_north, widget, confirm=True)
    assert not Order.objects.exists()


def test_rep_cannot_set_credit_limits(rep_north, account_north):
    with pytest.raises(PermissionDeniedError):
        services.credit_limit_set(actor=rep_north, account=account_north, amount=D("1"))


def test_rep_cannot_quote_for_an_account_they_cannot_see(
    rep_south, account_north, widget, eur_list
):
    with pytest.raises(ValidationError) as caught:
        documents.quote_create(
            actor=rep_south,
            data={"account": account_north},
            lines=[{"product": widget, "quantity": D("1")}],
        )
    assert "account" in caught.value.message_dict
    assert not Quote.objects.exists()


def test_rep_sees_only_quotes_they_may(
    rep_north, rep_south, account_north, widget, service_hour, eur_list
):
    quote = _quote(rep_north, account_north, widget, service_hour)
    assert list(selectors.quotes_visible(user=rep_north)) == [quote]
    assert list(selectors.quotes_visible(user=rep_south)) == []
    with pytest.raises(PermissionDeniedError):
        documents.quote_send(actor=rep_south, quote=quote)
    assert Quote.objects.get().status == "draft"


def test_opportunity_product_removal_updates_amount(rep_north, account_north, widget, eur_list):
    opportunity = make_opportunity(rep_north, account_north, amount=D("0"))
    line = services.opportunity_product_add(
        actor=rep_north, opportunity=opportunity, data={"product": widget, "quantity": D("2")}
    )
    assert Opportunity.objects.get().amount == D("19.98")
    services.opportunity_product_remove(actor=rep_north, line=line)
    assert Opportunity.objects.get().amount == D("0.00")
