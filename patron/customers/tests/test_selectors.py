"""The list read path's hand-written pieces read the same rows as the ORM querysets they
replace."""

import datetime

import pytest
from django.db.models import OuterRef, Subquery

from patron.customers import selectors
from patron.customers.models import (
    Account,
    AccountRelationship,
    Contact,
    EmailAddress,
    PhoneNumber,
    Tag,
)
from patron.customers.tests.factories import AccountFactory, ContactFactory

pytestmark = pytest.mark.django_db


def orm_primary(model, owner, column):
    return Subquery(
        model._default_manager.filter(**{owner: OuterRef("pk")})
        .order_by("-is_primary", "id")
        .values(column)[:1]
    )


@pytest.fixture
def people():
    """Contacts with no email, one, several with the primary not the oldest, several without
    a primary (the oldest wins); phones with and without E.164."""
    none, one, late_primary, no_primary = (ContactFactory() for _ in range(4))
    EmailAddress.objects.create(contact=one, email="one@example.com", is_primary=True)
    EmailAddress.objects.create(contact=late_primary, email="old@example.com")
    EmailAddress.objects.create(contact=late_primary, email="main@example.com", is_primary=True)
    EmailAddress.objects.create(contact=no_primary, email="first@example.com")
    EmailAddress.objects.create(contact=no_primary, email="second@example.com")
    PhoneNumber.objects.create(contact=one, number="not a number", e164="")
    PhoneNumber.objects.create(contact=late_primary, number="020 7946 0018", e164="+442079460018")
    PhoneNumber.objects.create(
        contact=late_primary, number="020 7946 0019", e164="+442079460019", is_primary=True
    )
    return [none, one, late_primary, no_primary]


def test_primary_points_are_what_the_orm_subquery_reads(people):
    columns = ("primary_email", "primary_phone_e164", "primary_phone_number")
    ours = selectors._with_primary_points(Contact.objects.order_by("id"), "contact")
    orm = Contact.objects.order_by("id").annotate(
        primary_email=orm_primary(EmailAddress, "contact", "email"),
        primary_phone_e164=orm_primary(PhoneNumber, "contact", "e164"),
        primary_phone_number=orm_primary(PhoneNumber, "contact", "number"),
    )

    assert list(ours.values_list(*columns)) == list(orm.values_list(*columns))
    assert list(ours.values_list(*columns)) == [
        (None, None, None),
        ("one@example.com", "", "not a number"),
        ("main@example.com", "+442079460019", "020 7946 0019"),
        ("first@example.com", None, None),
    ]


def test_primary_points_inside_a_subquery_follow_the_relabelled_table(people):
    """Used in an inner query, the outer table gets another alias; the expression follows."""
    inner = selectors._with_primary_points(Contact.objects.all(), "contact").filter(
        primary_email="main@example.com"
    )
    assert list(Contact.objects.filter(pk__in=inner.values("pk"))) == [people[2]]

    accounts = selectors._with_primary_points(Account.objects.all(), "account")
    account = AccountFactory()
    EmailAddress.objects.create(account=account, email="billing@example.com")
    assert accounts.get(pk=account.pk).primary_email == "billing@example.com"


def test_list_rows_read_relationships_and_tags_as_the_orm_does(people):
    acme, globex = AccountFactory(name="Acme"), AccountFactory(name="Globex")
    contact = people[1]
    AccountRelationship.objects.create(contact=contact, account=globex, role="Buyer")
    AccountRelationship.objects.create(
        contact=contact,
        account=acme,
        role="CFO",
        is_primary=True,
        started_on=datetime.date(2024, 2, 29),
    )
    contact.tags.set([Tag.objects.create(name="vip"), Tag.objects.create(name="Alpha")])
    acme.tags.set([Tag.objects.get(name="vip")])
    ids = [p.pk for p in people]

    links = selectors._account_links_by_contact(ids)
    expected = [
        {
            "id": r.id,
            "version": r.version,
            "account_id": r.account_id,
            "account": {"id": r.account_id, "name": r.account.name},
            "role": r.role,
            "is_primary": r.is_primary,
            "started_on": r.started_on,
            "ended_on": r.ended_on,
        }
        for r in AccountRelationship.objects.filter(contact=contact)
        .select_related("account")
        .order_by("-is_primary", "id")
    ]
    assert links[contact.pk] == expected
    assert links[contact.pk][0]["account"]["name"] == "Acme"
    assert links[contact.pk][0]["started_on"] == datetime.date(2024, 2, 29)
    assert links[contact.pk][0]["is_primary"] is True
    assert links[people[0].pk] == []

    tags = selectors._tags_by_owner(Contact, ids)
    assert tags[contact.pk] == [
        {"name": t.name, "color": t.color} for t in contact.tags.order_by("name")
    ]
    assert tags[people[0].pk] == []
    assert selectors._tags_by_owner(Account, [acme.pk, globex.pk]) == {
        acme.pk: [{"name": "vip", "color": "#64748b"}],
        globex.pk: [],
    }
    assert selectors._tags_by_owner(Contact, []) == {}


def test_the_contact_pages_first_timeline_page_is_the_orm_page(admin_user, rep_north):
    """The contact page's statement for its first timeline page reads the rows, order,
    related objects and cursor of `paginate(timeline_for(...))`."""
    from django.utils import timezone

    from patron.customers import services
    from patron.customers.models import TimelineEntry
    from patron.utils.cursor import first_page, paginate

    contact = ContactFactory()
    other = ContactFactory()
    account = AccountFactory()
    moment = timezone.now()
    for n in range(30):
        services.timeline_entry_create(
            actor=admin_user,
            kind="task" if n % 3 else "note",
            contact=contact,
            subject=f"entry {n}",
            body=f"text {n}",
        )
    services.timeline_entry_create(
        actor=admin_user, kind="note", contact=other, subject="not this one", body="other"
    )
    entries = list(TimelineEntry.objects.filter(contact=contact).order_by("id"))
    # Ties on occurred_at, some with an assignee and an account, one with no author.
    TimelineEntry.objects.filter(pk__in=[e.pk for e in entries[:10]]).update(occurred_at=moment)
    TimelineEntry.objects.filter(pk__in=[e.pk for e in entries[::4]]).update(
        assignee=rep_north, account=account
    )
    TimelineEntry.objects.filter(pk=entries[5].pk).update(author=None)
    ordering = ["-occurred_at", "-id"]
    for limit in (25, 40):
        orm = paginate(
            selectors.timeline_for(user=admin_user, contact=contact, known_visible=True),
            ordering=ordering,
            cursor=None,
            limit=limit,
        )
        fixed = first_page(
            selectors.contact_timeline_head(contact=contact, limit=limit + 1),
            ordering=ordering,
            limit=limit,
        )
        assert [e.pk for e in fixed.items] == [e.pk for e in orm.items]
        assert fixed.next_cursor == orm.next_cursor and fixed.previous_cursor is None
        for mine, theirs in zip(fixed.items, orm.items, strict=True):
            assert mine.__dict__.keys() >= {"subject", "occurred_at", "kind"}
            assert (mine.subject, mine.occurred_at, mine.author, mine.assignee, mine.account) == (
                theirs.subject,
                theirs.occurred_at,
                theirs.author,
                theirs.assignee,
                theirs.account,
            )
            assert mine.contact is contact


def test_the_contact_pages_relationships_are_the_orm_ones(admin_user):
    contact = ContactFactory()
    accounts = [AccountFactory() for _ in range(4)]
    for n, account in enumerate(accounts):
        AccountRelationship.objects.create(
            contact=contact, account=account, role=f"role {n}", is_primary=n == 2
        )
    AccountRelationship.objects.create(contact=ContactFactory(), account=accounts[0])
    got = selectors.contact_get(user=admin_user, pk=contact.pk)
    orm = list(
        AccountRelationship.objects.filter(contact=contact)
        .select_related("account")
        .order_by("-is_primary", "id")
    )
    mine = list(got.relationships.all())
    assert [(r.pk, r.role, r.is_primary, r.account.name) for r in mine] == [
        (r.pk, r.role, r.is_primary, r.account.name) for r in orm
    ]
    assert mine[0].is_primary
