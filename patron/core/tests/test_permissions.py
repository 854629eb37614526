"""The chokepoint: who sees and changes which records, under each visibility setting."""

import pytest

from patron.customers import services
from patron.customers.models import Contact, EmailAddress, TimelineEntry

pytestmark = pytest.mark.django_db


@pytest.fixture
def records(rep_north, rep_north_2, rep_south, admin_user):
    def make(owner, name):
        contact = services.contact_create(
            actor=admin_user,
            data={"first_name": name, "owner": owner, "team": owner.team},
            emails=[{"email": f"{name.lower()}@example.com"}],
        )
        services.timeline_entry_create(
            actor=admin_user, kind="note", contact=contact, body=f"note on {name}"
        )
        return contact

    return {
        "north1": make(rep_north, "North1"),
        "north2": make(rep_north_2, "North2"),
        "south": make(rep_south, "South"),
    }


def names(qs):
    return sorted(c.first_name for c in qs)


@pytest.mark.parametrize(
    "visibility, user, action, expected",
    [
        ("private", "rep_north", "view", ["North1"]),
        ("private", "manager_north", "view", ["North1", "North2"]),
        ("private", "admin_user", "view", ["North1", "North2", "South"]),
        ("team", "rep_north", "view", ["North1", "North2"]),
        ("team", "rep_south", "view", ["South"]),
        ("team", "rep_north", "change", ["North1", "North2"]),
        ("public_read", "rep_north", "view", ["North1", "North2", "South"]),
        ("public_read", "rep_north", "change", ["North1"]),
        ("public_read", "manager_north", "change", ["North1", "North2"]),
        ("public_read_write", "rep_north", "change", ["North1", "North2", "South"]),
        ("team", "rep_north", "delete", []),  # reps may not delete at all
        ("team", "manager_north", "delete", ["North1", "North2"]),
        ("public_read", "readonly_user", "view", ["North1", "North2", "South"]),
        ("public_read", "readonly_user", "change", []),
    ],
)
def test_contact_visibility(request, records, set_visibility, visibility, user, action, expected):
    set_visibility(visibility)
    actor = request.getfixturevalue(user)
    assert names(Contact.objects.restrict(actor, action)) == expected


def test_children_follow_their_parent(records, rep_north, set_visibility):
    set_visibility("private")
    assert sorted(EmailAddress.objects.restrict(rep_north).values_list("email", flat=True)) == [
        "north1@example.com"
    ]
    assert [e.body for e in TimelineEntry.objects.restrict(rep_north)] == ["note on North1"]


def test_anonymous_and_inactive_users_see_nothing(records, rep_north):
    from django.contrib.auth.models import AnonymousUser

    assert not Contact.objects.restrict(AnonymousUser()).exists()
    assert not Contact.objects.restrict(None).exists()
    rep_north.is_active = False
    assert not Contact.objects.restrict(rep_north).exists()
    assert not EmailAddress.objects.restrict(rep_north).exists()


@pytest.mark.parametrize("visibility", ["private", "team", "public_read", "public_read_write"])
@pytest.mark.parametrize(
    "user", ["rep_north", "rep_south", "manager_north", "admin_user", "readonly_user"]
)
def test_may_each_answers_as_may(request, records, set_visibility, visibility, user):
    from patron.core.permissions import ACTIONS, may, may_each

    set_visibility(visibility)
    actor = request.getfixturevalue(user)
    for record in [*records.values(), EmailAddress.objects.first()]:
        expected = {action: may(actor, record, action) for action in ACTIONS}
        assert may_each(actor, record, ACTIONS) == expected
        if isinstance(record, Contact):
            # Read with its owner, as a record page does: answered without the database.
            loaded = Contact.objects.select_related("owner").get(pk=record.pk)
            assert may_each(actor, loaded, ACTIONS) == expected


def test_may_each_asks_the_database_at_most_once_for_the_writing_actions(
    records, rep_north, manager_north, admin_user, set_visibility, django_assert_num_queries
):
    from patron.core import context
    from patron.core.permissions import may_each, organisation_settings

    set_visibility("team")
    contact = records["north2"]
    manager = manager_north
    with context.bind(origin="ui"):
        organisation_settings()  # read once per request
        assert admin_user.sees_all_records  # the role, read with the user in a request
        with django_assert_num_queries(0):  # the record is in the manager's team
            assert may_each(manager, contact, ("change", "delete")) == {
                "change": True,
                "delete": True,
            }
        assert may_each(rep_north, contact, ("change", "delete"))["delete"] is False
        with django_assert_num_queries(0):
            assert may_each(admin_user, contact, ("change", "delete")) == {
                "change": True,
                "delete": True,
            }


def test_may_each_needs_no_query_for_a_record_read_with_its_owner(
    records,
    rep_north,
    rep_north_2,
    rep_south,
    manager_north,
    admin_user,
    set_visibility,
    django_assert_num_queries,
):
    from patron.core import context
    from patron.core.permissions import ACTIONS, may, may_each, organisation_settings

    # Owned by a northern rep but in no team: only the owner's team makes it the team's.
    records["teamless"] = services.contact_create(
        actor=admin_user, data={"first_name": "Teamless", "owner": rep_north_2, "team": None}
    )
    Contact.objects.filter(pk=records["teamless"].pk).update(team=None)
    for visibility in ("private", "team"):
        set_visibility(visibility)
        with context.bind(origin="ui"):
            organisation_settings()
            for user in (rep_north, rep_south, manager_north):
                user.sees_all_records  # noqa: B018 - the role, read with the user in a request
                for record in records.values():
                    loaded = Contact.objects.select_related("owner").get(pk=record.pk)
                    with django_assert_num_queries(0):
                        answers = may_each(user, loaded, ACTIONS)
                    assert answers == {a: may(user, loaded, a) for a in ACTIONS}


@pytest.mark.parametrize("visibility", ["private", "team", "public_read", "public_read_write"])
def test_contact_get_answers_as_restrict(
    request, records, rep_north_2, admin_user, set_visibility, visibility
):
    """The record page reads the contact by id and asks `permits`; it must let through
    exactly the contacts `restrict` lets through, for every user, action and visibility."""
    from django.contrib.auth.models import AnonymousUser

    from patron.core import context
    from patron.core.permissions import ACTIONS
    from patron.customers import selectors

    records["teamless"] = services.contact_create(
        actor=admin_user, data={"first_name": "Teamless", "owner": rep_north_2, "team": None}
    )
    Contact.objects.filter(pk=records["teamless"].pk).update(team=None)
    records["ownerless"] = services.contact_create(
        actor=admin_user, data={"first_name": "Ownerless", "owner": None, "team": None}
    )
    Contact.objects.filter(pk=records["ownerless"].pk).update(owner=None, team=None)
    set_visibility(visibility)
    users = [
        request.getfixturevalue(name)
        for name in ("rep_north", "rep_south", "manager_north", "admin_user", "readonly_user")
    ]
    inactive = request.getfixturevalue("rep_north_2")
    inactive.is_active = False
    for user in [*users, inactive, AnonymousUser()]:
        for action in ACTIONS:
            with context.bind(origin="ui"):
                allowed = set(Contact.objects.restrict(user, action).values_list("pk", flat=True))
                for record in records.values():
                    try:
                        got = selectors.contact_get(user=user, pk=record.pk, action=action)
                    except Contact.DoesNotExist:
                        assert record.pk not in allowed, (user, action, record)
                    else:
                        assert record.pk in allowed, (user, action, record)
                        assert got.owner_id == record.owner_id or record.pk in (
                            records["teamless"].pk,
                            records["ownerless"].pk,
                        )
            with pytest.raises(Contact.DoesNotExist):
                selectors.contact_get(user=user, pk=10**9, action=action)
