import pytest
from django.core.exceptions import ValidationError

from patron.core.tests.factories import UserFactory, role
from patron.leads import services
from patron.leads.models import AssignmentRule

from .factories import make_lead

pytestmark = pytest.mark.django_db


def _rule(**data):
    return services.assignment_rule_create(actor=None, data=data)


def test_territory_by_country_and_region(admin_user, rep_north, rep_south, team_south):
    _rule(
        name="Bavaria",
        kind="territory",
        priority=1,
        countries="de",
        regions="Bavaria",
        owner=rep_south,
    )
    _rule(name="France", kind="territory", priority=2, countries="FR, BE", owner=rep_north)
    french = make_lead(admin_user, country="BE")
    bavarian = make_lead(admin_user, country="DE", region="bavaria")
    berliner = make_lead(admin_user, country="DE", region="Berlin")
    assert french.owner == rep_north and french.team == rep_north.team
    assert french.assignment_reason == (
        "Assigned by rule “France” (country in FR,BE; owner rep_north)"
    ).replace("rep_north", rep_north.display_name)
    assert bavarian.owner == rep_south
    # No rule matched: whoever created it owns it.
    assert berliner.owner == admin_user and berliner.assignment_rule is None


def test_company_size_band(admin_user, rep_north, rep_south):
    _rule(name="SMB", kind="size", priority=1, max_employees=200, owner=rep_north)
    _rule(name="Enterprise", kind="size", priority=2, min_employees=201, owner=rep_south)
    assert make_lead(admin_user, employees=200).owner == rep_north
    assert make_lead(admin_user, employees=201).owner == rep_south
    unknown = make_lead(admin_user)  # no size: neither rule applies
    assert unknown.owner == admin_user


def test_round_robin_rotates_in_id_order_and_persists(admin_user, team_north):
    members = [
        UserFactory(username=f"member{i}", role=role("sales_rep"), team=team_north)
        for i in range(3)
    ]
    UserFactory(username="gone", role=role("sales_rep"), team=team_north, is_active=False)
    rule = _rule(name="Inbound", kind="round_robin", team=team_north, priority=5)
    owners = [make_lead(admin_user, email=f"l{i}@example.com").owner for i in range(7)]
    expected = sorted(members, key=lambda u: u.pk)
    assert owners == [*expected, *expected, expected[0]]
    rule.refresh_from_db()
    assert rule.last_assigned == expected[0]
    lead = make_lead(admin_user, email="next@example.com")
    assert lead.owner == expected[1]
    assert lead.team == team_north
    assert "next in turn in team North" in lead.assignment_reason


def test_priority_order_and_fallback(admin_user, rep_north, rep_south, manager_north):
    _rule(name="Catch-all", kind="fallback", priority=99, owner=manager_north)
    _rule(name="France", kind="territory", priority=10, countries="FR", owner=rep_north)
    _rule(
        name="Inactive",
        kind="territory",
        priority=1,
        countries="FR",
        owner=rep_south,
        is_active=False,
    )
    assert make_lead(admin_user, country="FR").owner == rep_north
    fallback = make_lead(admin_user, country="IT")
    assert fallback.owner == manager_north
    assert fallback.assignment_rule.name == "Catch-all"


def test_an_owner_given_wins_over_rules(admin_user, rep_north, rep_south):
    _rule(name="All", kind="fallback", owner=rep_north)
    lead = make_lead(admin_user, owner=rep_south)
    assert lead.owner == rep_south and lead.assignment_rule is None


@pytest.mark.parametrize(
    ("data", "field"),
    [
        ({"name": "T", "kind": "territory"}, "countries"),
        ({"name": "T", "kind": "territory", "countries": "France"}, "countries"),
        ({"name": "S", "kind": "size"}, "min_employees"),
        ({"name": "S", "kind": "size", "min_employees": 10, "max_employees": 5}, "max_employees"),
        ({"name": "R", "kind": "round_robin"}, "team"),
        ({"name": "F", "kind": "fallback"}, "owner"),
    ],
)
def test_invalid_assignment_rules_refused(admin_user, data, field):
    with pytest.raises(ValidationError) as caught:
        services.assignment_rule_create(actor=admin_user, data=data)
    assert field in caught.value.message_dict
    assert not AssignmentRule.objects.exists()
