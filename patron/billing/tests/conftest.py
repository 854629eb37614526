import pytest

from patron.customers import services as customer_services


@pytest.fixture
def account_north(admin_user, rep_north):
    return customer_services.account_create(
        actor=admin_user,
        data={"name": "Northwind", "owner": rep_north},
        emails=[],
        phones=[],
        addresses=[],
    )


@pytest.fixture
def contact_north(admin_user, rep_north, account_north):
    contact = customer_services.contact_create(
        actor=admin_user,
        data={"first_name": "Nora", "last_name": "North", "owner": rep_north},
        emails=[],
        phones=[],
        addresses=[],
    )
    customer_services.relationship_add(actor=admin_user, contact=contact, account=account_north)
    return contact


@pytest.fixture
def account_south(admin_user, rep_south):
    return customer_services.account_create(
        actor=admin_user,
        data={"name": "Southwind", "owner": rep_south},
        emails=[],
        phones=[],
        addresses=[],
    )
