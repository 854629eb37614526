"""The commerce JSON API: electronic ordering, quotes with their PDF, transitions, catalogue."""

import io
import json
from decimal import Decimal as D

from pypdf import PdfReader

from patron.commerce import documents, services
from patron.commerce.models import Order, Product, Quote
from patron.sales.models import Opportunity
from patron.sales.tests.factories import make_opportunity


def _post(api, path, body, key=None):
    headers = {"Idempotency-Key": key} if key else {}
    return api.client.post(
        "/api" + path, data=json.dumps(body), content_type="application/json", headers=headers
    )


def _order_body(account, **extra):
    return {
        "account_id": account.pk,
        "currency": "EUR",
        "external_reference": "PO-7781",
        "lines": [
            {"sku": "wid-1", "quantity": "120", "expected_unit_price": "8.50"},
            {"sku": "SRV-H", "quantity": "2"},
        ],
        **extra,
    }


def test_electronic_order_is_priced_by_the_list_and_confirmed(
    api_as, rep_north, account_north, eur_list
):
    response = _post(api_as(rep_north), "/orders", _order_body(account_north), key="k-1")
    assert response.status_code == 201, response.content
    body = response.json()
    assert body["status"] == "confirmed"
    assert body["external_reference"] == "PO-7781"
    assert [
        (line["product"]["sku"], line["unit_price"], line["net_amount"]) for line in body["lines"]
    ] == [
        ("WID-1", "8.5000", "1020.00"),  # the volume price from 100 on
        ("SRV-H", "80.0000", "160.00"),
    ]
    assert (body["net_total"], body["tax_total"], body["gross_total"]) == (
        "1180.00",
        "212.80",  # 204.00 + 8.80
        "1392.80",
    )
    assert body["price_list"]["name"] == "Standard EUR"


def test_idempotent_replay_returns_the_same_order_and_creates_one(
    api_as, rep_north, account_north, eur_list
):
    api = api_as(rep_north)
    first = _post(api, "/orders", _order_body(account_north), key="order-abc")
    again = _post(api, "/orders", _order_body(account_north), key="order-abc")
    assert first.status_code == again.status_code == 201
    assert again.headers["Idempotent-Replayed"] == "true"
    assert again.json()["id"] == first.json()["id"]
    assert again.json()["number"] == first.json()["number"]
    assert Order.objects.count() == 1
    other = _post(api, "/orders", _order_body(account_north, notes="x"), key="order-abc")
    assert other.status_code == 422
    assert Order.objects.count() == 1


def test_unknown_or_inactive_sku_is_refused_with_its_line(
    admin_user, api_as, rep_north, account_north, eur_list, widget
):
    services.product_update(
        actor=admin_user, product=widget, expected_version=None, data={"is_active": False}
    )
    body = _order_body(account_north)
    body["lines"].append({"sku": "NOPE-9", "quantity": "1"})
    response = _post(api_as(rep_north), "/orders", body)
    assert response.status_code == 422
    errors = {e["field"]: e["message"] for e in response.json()["errors"]}
    assert errors == {
        "lines.0.sku": "WID-1 is no longer sold.",
        "lines.2.sku": "There is no product with SKU NOPE-9.",
    }
    assert not Order.objects.exists()


def test_expected_price_that_disagrees_is_refused(api_as, rep_north, account_north, eur_list):
    body = _order_body(account_north)
    body["lines"][1]["expected_unit_price"] = "75"
    response = _post(api_as(rep_north), "/orders", body)
    assert response.status_code == 422
    [error] = response.json()["errors"]
    assert error["field"] == "lines.1.expected_unit_price"
    assert "costs 80 EUR, not 75" in error["message"]
    assert not Order.objects.exists()


def test_non_positive_quantity_is_refused(api_as, rep_north, account_north, eur_list):
    body = _order_body(account_north)
    body["lines"][0]["quantity"] = "0"
    response = _post(api_as(rep_north), "/orders", body)
    assert response.status_code == 422
    assert response.json()["errors"][0]["field"] == "lines.0.quantity"
    assert not Order.objects.exists()


def test_price_list_currency_must_match_the_order(
    admin_user, api_as, rep_north, account_north, eur_list
):
    response = _post(
        api_as(rep_north),
        "/orders",
        _order_body(account_north, currency="USD", price_list_id=eur_list.pk),
    )
    assert response.status_code == 422
    assert response.json()["errors"][0]["field"] == "price_list_id"
    no_list = _post(api_as(rep_north), "/orders", _order_body(account_north, currency="JPY"))
    assert no_list.status_code == 422
    assert not Order.objects.exists()


def test_credit_limit_refuses_the_order(admin_user, api_as, rep_north, account_north, eur_list):
    services.credit_limit_set(
        actor=admin_user, account=account_north, amount=D("2000"), currency="EUR"
    )
    api = api_as(rep_north)
    assert _post(api, "/orders", _order_body(account_north)).status_code == 201  # 1392.80
    refused = _post(api, "/orders", _order_body(account_north))
    assert refused.status_code == 422
    [error] = refused.json()["errors"]
    assert error["field"] == "account_id"
    assert "607.20 EUR of 2,000.00 is available" in error["message"]
    assert Order.objects.count() == 1
    limit = api.get(f"/accounts/{account_north.pk}/credit-limit").json()
    assert limit == {
        "account_id": account_north.pk,
        "amount": "2000.00",
        "currency": "EUR",
        "exposure": "1392.80",
    }


def test_rep_cannot_order_for_an_invisible_account(api_as, rep_south, account_north, eur_list):
    response = _post(api_as(rep_south), "/orders", _order_body(account_north))
    assert response.status_code == 422
    assert response.json()["errors"][0]["field"] == "account_id"
    assert not Order.objects.exists()


def test_order_transitions_through_the_api(api_as, rep_north, account_north, eur_list):
    api = api_as(rep_north)
    order = _post(api, "/orders", _order_body(account_north, confirm=False)).json()
    assert order["status"] == "draft"
    assert api.post(f"/orders/{order['id']}/fulfil").status_code == 422
    confirmed = api.post(f"/orders/{order['id']}/confirm", {"version": order["version"]})
    assert confirmed.status_code == 200
    stale = api.post(f"/orders/{order['id']}/cancel", {"version": order["version"]})
    assert stale.status_code == 409
    cancelled = api.post(f"/orders/{order['id']}/cancel", {"reason": "Duplicate"}).json()
    assert (cancelled["status"], cancelled["cancel_reason"]) == ("cancelled", "Duplicate")
    assert api.post(f"/orders/{order['id']}/confirm").status_code == 422
    listed = api.get("/orders", {"status": "cancelled"}).json()
    assert [o["number"] for o in listed["results"]] == [order["number"]]


def test_quote_flow_through_the_api(
    api_as, rep_north, account_north, contact_north, eur_list, widget
):
    api = api_as(rep_north)
    opportunity = make_opportunity(rep_north, account_north)
    created = api.post(
        "/quotes",
        {
            "account_id": account_north.pk,
            "contact_id": contact_north.pk,
            "opportunity_id": opportunity.pk,
            "terms": "Payment 30 days net.",
            "lines": [
                {"product_id": widget.pk, "quantity": "4", "discount_percent": "5"},
                {"description": "Set-up <fee>", "unit_price": "100", "tax_rate": "20"},
            ],
        },
    )
    assert created.status_code == 201, created.content
    quote = created.json()
    assert quote["status"] == "draft"
    assert quote["gross_total"] == "165.55"  # (37.96 + 100) net + 7.59 + 20 tax
    patched = api.patch(
        f"/quotes/{quote['id']}", {"version": quote["version"], "discount_percent": "10"}
    )
    assert patched.status_code == 200
    assert patched.json()["net_total"] == "124.16"
    sent = api.post(f"/quotes/{quote['id']}/send").json()
    assert sent["status"] == "sent"
    refused = api.patch(f"/quotes/{quote['id']}", {"version": sent["version"], "notes": "x"})
    assert refused.status_code == 422

    pdf = api.get(f"/quotes/{quote['id']}/pdf")
    assert pdf.status_code == 200
    assert pdf["Content-Type"] == "application/pdf"
    text = PdfReader(io.BytesIO(pdf.content)).pages[0].extract_text()
    assert quote["number"] in text
    assert "Northwind" in text
    assert "Zoë Ångström" in text
    assert "Set-up <fee>" in text
    assert "Payment 30 days net." in text
    assert "148.99" in text  # the gross total after the document discount

    order = api.post(f"/quotes/{quote['id']}/accept").json()
    assert order["quote_id"] == quote["id"]
    assert order["gross_total"] == "148.99"
    assert [line["description"] for line in order["lines"]] == ["Widget", "Set-up <fee>"]
    assert Opportunity.objects.get().stage.kind == "won"
    assert api.get(f"/quotes/{quote['id']}").json()["order_id"] == order["id"]


def test_quote_of_another_team_is_not_found(
    api_as, rep_north, rep_south, account_north, eur_list, widget
):
    quote = documents.quote_create(
        actor=rep_north,
        data={"account": account_north},
        lines=[{"product": widget, "quantity": D("1")}],
    )
    api = api_as(rep_south)
    assert api.get(f"/quotes/{quote.pk}").status_code == 404
    assert api.get(f"/quotes/{quote.pk}/pdf").status_code == 404
    assert api.post(f"/quotes/{quote.pk}/send").status_code == 404
    assert api.get("/quotes").json()["results"] == []
    assert Quote.objects.get().status == "draft"


def test_quote_list_filters_and_pages(api_as, rep_north, account_north, eur_list, widget):
    for _ in range(3):
        documents.quote_create(
            actor=rep_north,
            data={"account": account_north},
            lines=[{"product": widget, "quantity": D("1")}],
        )
    api = api_as(rep_north)
    first = api.get("/quotes", {"limit": 2}).json()
    assert len(first["results"]) == 2
    rest = api.get("/quotes", {"limit": 2, "cursor": first["next_cursor"]}).json()
    assert len(rest["results"]) == 1
    assert api.get("/quotes", {"status": "sent"}).json()["results"] == []
    assert api.get("/quotes", {"cursor": "garbage"}).status_code == 400


def test_catalogue_through_the_api(api_as, admin_user, rep_north, vat):
    admin = api_as(admin_user)
    created = admin.post(
        "/products", {"sku": "CAB-2", "name": "Cable", "unit_cost": "1.2345", "tax_rate_id": vat.pk}
    )
    assert created.status_code == 201, created.content
    product = created.json()
    assert product["tax_rate"]["percent"] == "20.000"
    clash = admin.post("/products", {"sku": "cab-2", "name": "Other"})
    assert clash.status_code == 422
    assert clash.json()["errors"][0]["field"] == "sku"
    price_list = admin.post(
        "/price-lists", {"name": "Yen", "currency": "JPY", "is_default": True}
    ).json()
    item = admin.post(
        f"/price-lists/{price_list['id']}/items", {"product_id": product["id"], "unit_price": "500"}
    )
    assert item.status_code == 200
    prices = admin.get(f"/products/{product['id']}/prices").json()
    assert [(p["price_list"]["currency"], p["unit_price"]) for p in prices] == [("JPY", "500.0000")]
    rep = api_as(rep_north)
    assert rep.post("/products", {"sku": "X", "name": "X"}).status_code == 403
    assert rep.get("/products", {"q": "cab"}).json()["results"][0]["sku"] == "CAB-2"
    assert Product.objects.count() == 1


def test_opportunity_products_through_the_api(api_as, rep_north, account_north, eur_list, widget):
    api = api_as(rep_north)
    opportunity = make_opportunity(rep_north, account_north, amount=D("0"))
    added = api.post(
        f"/opportunities/{opportunity.pk}/products", {"product_id": widget.pk, "quantity": "3"}
    )
    assert added.status_code == 201
    assert added.json()["net_amount"] == "29.97"
    assert Opportunity.objects.get().amount == D("29.97")
    assert (
        api.delete(f"/opportunities/{opportunity.pk}/products/{added.json()['id']}").status_code
        == 204
    )
    assert Opportunity.objects.get().amount == D("0")


def test_lists_read_a_fixed_number_of_queries(api_as, rep_north, account_north, eur_list, widget):
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    api = api_as(rep_north)

    def add(count):
        for _ in range(count):
            documents.quote_create(
                actor=rep_north,
                data={"account": account_north},
                lines=[{"product": widget, "quantity": D("1")}],
            )
            assert _post(api, "/orders", _order_body(account_north)).status_code == 201

    def queries(path):
        with CaptureQueriesContext(connection) as captured:
            assert api.get(path).status_code == 200
        return len(captured.captured_queries)

    add(2)
    few = {path: queries(path) for path in ("/quotes", "/orders")}
    add(6)
    assert {path: queries(path) for path in ("/quotes", "/orders")} == few
    assert len(api.get("/orders").json()["results"]) == 8


def test_electronic_order_queries_do_not_grow_with_its_lines(
    api_as, admin_user, rep_north, account_north, eur_list, vat
):
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    products = [
        services.product_create(
            actor=admin_user, data={"sku": f"P-{i}", "name": f"Part {i}", "tax_rate": vat}
        )
        for i in range(12)
    ]
    for product in products:
        services.price_set(
            actor=admin_user, price_list=eur_list, product=product, unit_price=D("3")
        )
    api = api_as(rep_north)

    def queries(count, key):
        body = {
            "account_id": account_north.pk,
            "currency": "EUR",
            "lines": [
                {"sku": p.sku.lower(), "quantity": "2", "expected_unit_price": "3"}
                for p in products[:count]
            ],
        }
        _post(api, "/orders", body, key=f"warm-{key}")  # caches (content types) filled
        with CaptureQueriesContext(connection) as captured:
            assert _post(api, "/orders", body, key=key).status_code == 201
        return len(captured.captured_queries)

    assert queries(12, "twelve") == queries(2, "two")
