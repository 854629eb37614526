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
