"""Fixtures for commerce tests: accounts of two teams, a small catalogue with a EUR price list."""

from decimal import Decimal as D

import pytest

from patron.commerce import services
from patron.customers import services as customer_services


def make_account(actor, owner, name):
    return customer_services.account_create(
        actor=actor, data={"name": name, "owner": owner}, emails=[], phones=[], addresses=[]
    )


@pytest.fixture
def account_north(admin_user, rep_north):
    return make_account(admin_user, rep_north, "Northwind")


@pytest.fixture
def account_south(admin_user, rep_south):
    return make_account(admin_user, rep_south, "Southwind")


@pytest.fixture
def contact_north(admin_user, rep_north):
    return customer_services.contact_create(
        actor=admin_user,
        data={"first_name": "Zoë", "last_name": "Ångström", "owner": rep_north},
        emails=[],
        phones=[],
        addresses=[],
    )


@pytest.fixture
def vat(admin_user):
    return services.tax_rate_create(actor=admin_user, data={"name": "Standard", "percent": D("20")})


@pytest.fixture
def reduced(admin_user):
    return services.tax_rate_create(actor=admin_user, data={"name": "Reduced", "percent": D("5.5")})


@pytest.fixture
def widget(admin_user, vat):
    return services.product_create(
        actor=admin_user,
        data={
            "sku": "WID-1",
            "name": "Widget",
            "unit": "pcs",
            "unit_cost": D("4.2500"),
            "tax_rate": vat,
        },
    )


@pytest.fixture
def service_hour(admin_user, reduced):
    return services.product_create(
        actor=admin_user,
        data={
            "sku": "SRV-H",
            "name": "Installation hour",
            "unit": "hour",
            "unit_cost": D("30"),
            "tax_rate": reduced,
        },
    )


@pytest.fixture
def eur_list(admin_user, widget, service_hour):
    price_list = services.price_list_create(
        actor=admin_user, data={"name": "Standard EUR", "currency": "EUR", "is_default": True}
    )
    services.price_set(
        actor=admin_user, price_list=price_list, product=widget, unit_price=D("9.99")
    )
    services.price_set(
        actor=admin_user,
        price_list=price_list,
        product=widget,
        unit_price=D("8.50"),
        min_quantity=D("100"),
    )
    services.price_set(
        actor=admin_user, price_list=price_list, product=service_hour, unit_price=D("80")
    )
    return price_list
