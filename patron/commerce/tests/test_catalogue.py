"""Products, tax rates, price lists and prices: validation, permissions, price resolution."""

import datetime
from decimal import Decimal as D

import pytest
from django.core.exceptions import ValidationError

from patron.commerce import selectors, services
from patron.commerce.models import PriceList, Product
from patron.core.exceptions import PermissionDeniedError
from patron.core.models import AuditEvent


def test_product_sku_is_unique_whatever_its_case(admin_user, widget):
    with pytest.raises(ValidationError) as caught:
        services.product_create(actor=admin_user, data={"sku": "wid-1", "name": "Copy"})
    assert "sku" in caught.value.message_dict
    assert Product.objects.count() == 1


def test_product_sku_format_and_cost_validated(admin_user):
    with pytest.raises(ValidationError) as caught:
        services.product_create(
            actor=admin_user, data={"sku": "has space", "name": "X", "unit_cost": D("-1")}
        )
    assert set(caught.value.message_dict) == {"sku", "unit_cost"}
    assert not Product.objects.exists()


def test_product_create_is_audited(admin_user, widget):
    from django.contrib.contenttypes.models import ContentType

    event = AuditEvent.objects.get(
        action="create",
        object_id=widget.pk,
        content_type=ContentType.objects.get_for_model(Product),
    )
    assert event.changes["sku"] == [None, "WID-1"]
    assert event.changes["unit_cost"] == [None, "4.2500"]


def test_rep_may_not_add_products(rep_north):
    with pytest.raises(PermissionDeniedError):
        services.product_create(actor=rep_north, data={"sku": "X1", "name": "X"})
    assert not Product.objects.exists()


def test_product_update_checks_version(admin_user, widget):
    from patron.core.exceptions import ConflictError

    services.product_update(
        actor=admin_user, product=widget, expected_version=1, data={"name": "Widget v2"}
    )
    assert Product.objects.get().name == "Widget v2"
    with pytest.raises(ConflictError):
        services.product_update(
            actor=admin_user, product=Product.objects.get(), expected_version=1, data={"name": "Z"}
        )
    assert Product.objects.get().name == "Widget v2"


def test_one_default_price_list_per_currency(admin_user, eur_list):
    with pytest.raises(ValidationError):
        services.price_list_create(
            actor=admin_user, data={"name": "Other EUR", "currency": "eur", "is_default": True}
        )
    usd = services.price_list_create(
        actor=admin_user, data={"name": "USD", "currency": "usd", "is_default": True}
    )
    assert usd.currency == "USD"
    assert PriceList.objects.filter(is_default=True).count() == 2


def test_price_list_dates_must_be_in_order(admin_user):
    with pytest.raises(ValidationError) as caught:
        services.price_list_create(
            actor=admin_user,
            data={
                "name": "Promo",
                "currency": "EUR",
                "valid_from": datetime.date(2026, 5, 1),
                "valid_until": datetime.date(2026, 4, 1),
            },
        )
    assert "valid_until" in caught.value.message_dict


def test_volume_price_is_the_highest_minimum_quantity_reached(eur_list, widget):
    assert selectors.unit_price(eur_list, widget, D("1")) == D("9.99")
    assert selectors.unit_price(eur_list, widget, D("99.999")) == D("9.99")
    assert selectors.unit_price(eur_list, widget, D("100")) == D("8.50")
    assert selectors.unit_price(eur_list, widget, D("5000")) == D("8.50")


def test_price_set_replaces_the_price_at_the_same_quantity(admin_user, eur_list, widget):
    services.price_set(actor=admin_user, price_list=eur_list, product=widget, unit_price=D("11"))
    assert selectors.unit_price(eur_list, widget, D("1")) == D("11")
    assert eur_list.items.filter(product=widget).count() == 2


def test_price_list_with_prices_keeps_its_currency(admin_user, eur_list):
    with pytest.raises(ValidationError):
        services.price_list_update(
            actor=admin_user, price_list=eur_list, expected_version=None, data={"currency": "USD"}
        )
    eur_list.refresh_from_db()
    assert eur_list.currency == "EUR"


def test_default_price_list_out_of_its_dates_is_not_used(admin_user, eur_list):
    services.price_list_update(
        actor=admin_user,
        price_list=eur_list,
        expected_version=None,
        data={"valid_until": datetime.date(2000, 1, 1), "valid_from": None},
    )
    assert selectors.default_price_list("EUR") is None


def test_product_prices_follow_price_list_permission(readonly_user, eur_list, widget):
    prices = list(selectors.product_prices(user=readonly_user, product=widget))
    assert [(p.price_list.name, p.unit_price) for p in prices] == [
        ("Standard EUR", D("9.9900")),
        ("Standard EUR", D("8.5000")),
    ]
