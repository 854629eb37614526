import pytest

from patron.customers import services as customer_services


@pytest.fixture
def account(admin_user):
    return customer_services.account_create(
        actor=admin_user,
        data={"name": "Northwind", "owner": admin_user},
        emails=[],
        phones=[],
        addresses=[],
    )
