"""Odd input on real records answers 4xx with a message, never a 500."""

from decimal import Decimal as D

import pytest

from patron.commerce import documents
from patron.commerce.models import Order, Quote


@pytest.fixture
def quote(rep_north, account_north, widget, eur_list):
    return documents.quote_create(
        actor=rep_north,
        data={"account": account_north},
        lines=[{"product": widget, "quantity": D("1")}],
    )


def test_amounts_too_large_for_the_database_are_refused(api_as, rep_north, account_north, eur_list):
    response = api_as(rep_north).post(
        "/quotes",
        {
            "account_id": account_north.pk,
            "lines": [
                {
                    "description": "Huge",
                    "quantity": "999999999.999",
                    "unit_price": "9999999999.9999",
                }
            ],
        },
    )
    assert response.status_code == 422
    assert response.json()["errors"][0]["field"].startswith("lines.0")
    assert not Quote.objects.exists()


def test_many_large_lines_overflowing_the_total_are_refused(
    api_as, rep_north, account_north, eur_list
):
    line = {"description": "Big", "quantity": "9999", "unit_price": "9999999.0000"}
    response = api_as(rep_north).post(
        "/quotes", {"account_id": account_north.pk, "lines": [line] * 20}
    )
    assert response.status_code == 422
    assert not Quote.objects.exists()


@pytest.mark.parametrize(
    "body",
    [
        {"version": 1, "lines": None},
        {"version": 1, "currency": None},
        {"version": 1, "lines": []},
        {"version": 1, "price_list_id": 999999},
        {"version": 1, "contact_id": 999999},
        {"version": 1, "discount_percent": "100.01"},
        {"version": 1, "lines": [{"product_id": 1, "sku": "X"}]},
        {"version": 1, "currency": "USD"},
    ],
)
def test_bad_quote_patches_are_refused(api_as, rep_north, quote, body):
    response = api_as(rep_north).patch(f"/quotes/{quote.pk}", body)
    assert 400 <= response.status_code < 500, response.content
    assert response.json()["detail"]
    assert Quote.objects.get().version == 1


def test_replayed_key_on_another_path_is_refused(api_as, rep_north, account_north, eur_list):
    api = api_as(rep_north)
    body = {"account_id": account_north.pk, "lines": [{"sku": "WID-1", "quantity": "1"}]}
    first = api.client.post(
        "/api/orders",
        data=body,
        content_type="application/json",
        headers={"Idempotency-Key": "same"},
    )
    assert first.status_code == 201
    other = api.client.post(
        "/api/tax-rates",
        data={"name": "X", "percent": "1"},
        content_type="application/json",
        headers={"Idempotency-Key": "same"},
    )
    assert other.status_code == 422
    assert Order.objects.count() == 1


def test_transitions_of_accepted_quotes_are_refused(api_as, rep_north, quote):
    api = api_as(rep_north)
    assert api.post(f"/quotes/{quote.pk}/send").status_code == 200
    assert api.post(f"/quotes/{quote.pk}/accept").status_code == 200
    for action in ("send", "accept", "decline"):
        response = api.post(f"/quotes/{quote.pk}/{action}")
        assert response.status_code == 422, action
    assert api.delete(f"/quotes/{quote.pk}").status_code == 403  # reps may not delete
    assert Order.objects.count() == 1


def test_accept_replayed_with_its_key_creates_one_order(api_as, rep_north, quote):
    api = api_as(rep_north)
    assert api.post(f"/quotes/{quote.pk}/send").status_code == 200
    headers = {"Idempotency-Key": "accept-1"}
    path = f"/api/quotes/{quote.pk}/accept"
    first = api.client.post(path, content_type="application/json", headers=headers)
    again = api.client.post(path, content_type="application/json", headers=headers)
    assert first.status_code == again.status_code == 200
    assert again.headers["Idempotent-Replayed"] == "true"
    assert again.json()["number"] == first.json()["number"]
    assert Order.objects.count() == 1
