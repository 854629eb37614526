from decimal import Decimal

import pytest
from django.core.exceptions import ValidationError

from patron.leads import scoring, services
from patron.leads.models import Lead, ScoringRule

from .factories import make_lead, make_rule

pytestmark = pytest.mark.django_db


def _matches(rule_data, **lead_data) -> bool:
    rule = ScoringRule(points=1, **rule_data)
    lead = Lead(**lead_data)
    return scoring.rule_matches(rule, lead, scoring.activity_counts(lead))


@pytest.mark.parametrize(
    ("rule", "lead", "expected"),
    [
        ({"field": "country", "operator": "equals", "value": "fr"}, {"country": "FR"}, True),
        ({"field": "country", "operator": "equals", "value": "FR"}, {"country": "BE"}, False),
        ({"field": "employees", "operator": "equals", "value": "50"}, {"employees": 50}, True),
        ({"field": "country", "operator": "in", "value": "FR, BE ,LU"}, {"country": "BE"}, True),
        ({"field": "country", "operator": "in", "value": "FR,BE"}, {"country": "DE"}, False),
        (
            {"field": "job_title", "operator": "contains", "value": "director"},
            {"job_title": "Sales Director EMEA"},
            True,
        ),
        (
            {"field": "job_title", "operator": "contains", "value": "Director"},
            {"job_title": "Sales manager"},
            False,
        ),
        ({"field": "employees", "operator": "gt", "value": "200"}, {"employees": 201}, True),
        ({"field": "employees", "operator": "gt", "value": "200"}, {"employees": 200}, False),
        ({"field": "employees", "operator": "gt", "value": "200"}, {"employees": None}, False),
        (
            {"field": "annual_revenue", "operator": "gt", "value": "1000000"},
            {"annual_revenue": Decimal("1000000.01")},
            True,
        ),
        ({"field": "phone", "operator": "exists", "value": ""}, {"phone": "+33 1 23"}, True),
        ({"field": "phone", "operator": "exists", "value": ""}, {"phone": ""}, False),
        (
            {"field": "email_domain", "operator": "equals", "value": "acme.com"},
            {"email": "jo@acme.com"},
            True,
        ),
    ],
)
def test_each_operator(rule, lead, expected):
    assert _matches(rule, **lead) is expected


def test_score_is_fit_plus_engagement_with_reasons(admin_user):
    make_rule(field="job_title", operator="contains", value="Director", points=20)
    make_rule(field="country", operator="in", value="FR,BE", points=5)
    make_rule(field="employees", operator="gt", value="1000", points=30)  # not matched
    make_rule(kind="engagement", field="page_visited", operator="gt", value="1", points=7)
    lead = make_lead(admin_user, job_title="Director of IT", country="FR")
    assert (lead.score, lead.fit_score, lead.engagement_score) == (25, 25, 0)
    reasons = [(r["points"], r["reason"]) for r in lead.score_breakdown]
    assert reasons == [(20, "job title contains 'Director'"), (5, "country is one of FR,BE")]

    for _ in range(2):
        services.lead_activity_add(actor=admin_user, lead=lead, data={"kind": "page_visited"})
    lead.refresh_from_db()
    assert (lead.score, lead.fit_score, lead.engagement_score) == (32, 25, 7)
    assert lead.score_breakdown[-1] == {
        "rule": lead.score_breakdown[-1]["rule"],
        "kind": "engagement",
        "points": 7,
        "reason": "page visited count is greater than '1'",
    }


def test_rescored_when_lead_changes(admin_user):
    make_rule(field="job_title", operator="contains", value="Director", points=20)
    lead = make_lead(admin_user, job_title="Engineer")
    assert lead.score == 0
    services.lead_update(
        actor=admin_user, lead=lead, expected_version=lead.version, data={"job_title": "Director"}
    )
    lead.refresh_from_db()
    assert lead.score == 20


def test_rule_change_rescores_open_leads(admin_user, django_capture_on_commit_callbacks):
    lead = make_lead(admin_user, country="FR")
    with django_capture_on_commit_callbacks(execute=True):
        rule = services.scoring_rule_create(
            actor=admin_user,
            data={
                "kind": "fit",
                "field": "country",
                "operator": "equals",
                "value": "FR",
                "points": 9,
            },
        )
    lead.refresh_from_db()
    assert lead.score == 9
    with django_capture_on_commit_callbacks(execute=True):
        services.scoring_rule_update(
            actor=admin_user, rule=rule, expected_version=rule.version, data={"points": 4}
        )
    lead.refresh_from_db()
    assert lead.score == 4


@pytest.mark.parametrize(
    ("data", "field"),
    [
        ({"kind": "fit", "field": "page_visited", "operator": "gt", "value": "1"}, "field"),
        ({"kind": "fit", "field": "country", "operator": "equals", "value": ""}, "value"),
        ({"kind": "fit", "field": "employees", "operator": "gt", "value": "many"}, "value"),
        ({"kind": "fit", "field": "country", "operator": "nope", "value": "x"}, "operator"),
    ],
)
def test_invalid_rules_refused(admin_user, data, field):
    with pytest.raises(ValidationError) as caught:
        services.scoring_rule_create(actor=admin_user, data={**data, "points": 5})
    assert field in caught.value.message_dict
    assert not ScoringRule.objects.exists()


def test_rules_need_the_rule_permission(marketer):
    from patron.core.exceptions import PermissionDeniedError

    with pytest.raises(PermissionDeniedError):
        services.scoring_rule_create(
            actor=marketer,
            data={"kind": "fit", "field": "country", "operator": "exists", "points": 1},
        )
    assert not ScoringRule.objects.exists()
