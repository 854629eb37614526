import pytest

from patron.customers import selectors, services
from patron.customers.models import Contact

pytestmark = pytest.mark.django_db


@pytest.fixture
def people(admin_user):
    ada = services.contact_create(
        actor=admin_user,
        data={"first_name": "Ada", "last_name": "Lövelace"},
        emails=[{"email": "ada@engines.example"}],
        phones=[{"number": "020 7946 0018"}],
    )
    grace = services.contact_create(
        actor=admin_user,
        data={"first_name": "Grace", "last_name": "Hopper"},
        emails=[{"email": "grace@navy.example"}],
        phones=[{"number": "+1 415 555 2671"}],
    )
    services.account_create(actor=admin_user, data={"name": "Engines Ltd"})
    return ada, grace


@pytest.mark.parametrize(
    "query, expected",
    [
        ("ada", ["Ada"]),
        ("lovelace", ["Ada"]),  # accent-insensitive
        ("LÖVE", ["Ada"]),
        ("ada lovelace", ["Ada"]),
        ("hopper grace", ["Grace"]),
        ("navy.example", ["Grace"]),
        ("020 7946 0018", ["Ada"]),  # national format
        ("+44 20 7946 0018", ["Ada"]),  # international format
        ("0044 20 7946 0018", ["Ada"]),
        ("(415) 555-2671", ["Grace"]),
        ("4155552671", ["Grace"]),
        ("7946", ["Ada"]),  # a fragment of the number
        ("zz", []),
        ("nobody", []),
    ],
)
def test_contact_search(people, admin_user, query, expected):
    found = selectors.global_search(user=admin_user, query=query)["contacts"]
    assert [c.first_name for c in found] == expected


def test_search_finds_accounts_by_name(people, admin_user):
    found = selectors.global_search(user=admin_user, query="engines")
    assert [a.name for a in found["accounts"]] == ["Engines Ltd"]
    assert [c.first_name for c in found["contacts"]] == ["Ada"]  # by email domain


def test_search_index_follows_updates_and_deletes(people, admin_user):
    ada, grace = people
    services.contact_update(
        actor=admin_user, contact=ada, expected_version=ada.version, data={"last_name": "King"}
    )
    assert selectors.global_search(user=admin_user, query="lovelace")["contacts"] == []
    assert [c.pk for c in selectors.global_search(user=admin_user, query="king")["contacts"]] == [
        ada.pk
    ]
    services.contact_delete(actor=admin_user, contact=grace)
    assert selectors.global_search(user=admin_user, query="hopper")["contacts"] == []
    assert Contact.objects.count() == 1
