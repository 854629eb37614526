import factory
from factory.django import DjangoModelFactory

from patron.customers.models import Account, Contact


class ContactFactory(DjangoModelFactory):
    """A contact written straight to the table; use services in tests of behaviour."""

    class Meta:
        model = Contact

    first_name = factory.Faker("first_name")
    last_name = factory.Faker("last_name")
    search_document = factory.LazyAttribute(lambda c: f"{c.first_name} {c.last_name}".lower())


class AccountFactory(DjangoModelFactory):
    class Meta:
        model = Account

    name = factory.Faker("company")
    search_document = factory.LazyAttribute(lambda a: a.name.lower())
