"""The performance API: forecast, categories, quotas, attainment, statements, validation."""

import datetime
from decimal import Decimal

import pytest

from patron.performance.models import CommissionPlan, CommissionTier, Quota

from .factories import closed_deal, open_deal
from .test_selectors import assign

pytestmark = pytest.mark.django_db


@pytest.fixture
def deals(rep_north, rep_south, account):
    return {
        "north": open_deal(
            rep_north,
            account,
            stage_name="Negotiation",
            amount="2000",
            close=datetime.date(2026, 11, 20),
        ),
        "south": open_deal(
            rep_south,
            account,
            stage_name="Proposal",
            amount="1000",
            close=datetime.date(2026, 11, 20),
        ),
        "won": closed_deal(
            rep_north,
            account,
            won=True,
            through=None,
            closed=datetime.date(2026, 10, 2),
            amount="500",
        ),
    }


def test_forecast_endpoint(api_as, admin_user, rep_north, deals):
    response = api_as(admin_user).get("/forecast", {"period": "2026-Q4"})
    assert response.status_code == 200, response.content
    body = response.json()
    assert (body["period"], body["start"], body["end"], body["currency"]) == (
        "2026-Q4",
        "2026-10-01",
        "2026-12-31",
        "EUR",
    )
    total = body["total"]
    assert Decimal(total["closed_won"]) == Decimal("500")
    assert Decimal(total["commit"]) == Decimal("2500")
    assert Decimal(total["best_case"]) == Decimal("3500")
    assert Decimal(total["pipeline"]) == Decimal("3000")
    assert Decimal(total["weighted"]) == Decimal("2000")
    assert {t["team"]["name"] for t in body["teams"]} == {"North", "South"}
    assert Decimal(body["history"]["expected"]) >= Decimal("500")
    assert body["history"]["fallback"] is True
    mine = api_as(rep_north).get("/forecast", {"period": "2026-Q4", "owner": "me"}).json()
    assert Decimal(mine["total"]["pipeline"]) == Decimal("2000")


@pytest.mark.parametrize(
    "params",
    [
        {},
        {"period": "2026-Q5"},
        {"period": "2026-13"},
        {"period": "nonsense"},
        {"period": "0999"},
        {"period": "2026", "owner": "x"},
        {"period": "2026", "team": "0"},
    ],
)
def test_forecast_refuses_bad_parameters(api_as, admin_user, params):
    response = api_as(admin_user).get("/forecast", params)
    assert response.status_code in (400, 422)
    assert response.json()["detail"]


def test_forecast_unknown_owner_is_a_400(api_as, admin_user):
    response = api_as(admin_user).get("/forecast", {"period": "2026", "owner": "999999"})
    assert response.status_code == 400
    assert response.json()["errors"][0]["field"] == "owner"


def test_forecast_needs_the_permission(api_as, db):
    from patron.core.tests.factories import UserFactory, role

    marketer = UserFactory(username="mk", role=role("marketer"))
    assert api_as(marketer).get("/forecast", {"period": "2026"}).status_code == 403


def test_set_forecast_category(api_as, rep_north, rep_south, deals):
    url = f"/forecast/categories/{deals['north'].pk}"
    response = api_as(rep_north).client.put(
        "/api" + url, '{"category": "omitted"}', content_type="application/json"
    )
    assert response.status_code == 200, response.content
    assert response.json() == {
        "opportunity_id": deals["north"].pk,
        "category": "omitted",
        "overridden": True,
    }
    response = api_as(rep_north).client.put(
        "/api" + url, '{"category": null}', content_type="application/json"
    )
    assert response.json()["category"] == "commit"
    bad = api_as(rep_north).client.put(
        "/api" + url, '{"category": "maybe"}', content_type="application/json"
    )
    assert bad.status_code == 422
    closed = api_as(rep_north).client.put(
        f"/api/forecast/categories/{deals['won'].pk}",
        '{"category": "commit"}',
        content_type="application/json",
    )
    assert closed.status_code == 400
    other = api_as(rep_south).client.put(
        "/api" + url, '{"category": "commit"}', content_type="application/json"
    )
    assert other.status_code == 404


def test_quota_crud(api_as, manager_north, rep_north, rep_south):
    api = api_as(manager_north)
    response = api.post(
        "/quotas", {"owner_id": rep_north.pk, "period": "2026-Q4", "amount": "10000.00"}
    )
    assert response.status_code == 201, response.content
    quota = response.json()
    assert (quota["period"], quota["period_end"], quota["currency"], quota["amount"]) == (
        "2026-Q4",
        "2026-12-31",
        "EUR",
        "10000.00",
    )
    again = api.post("/quotas", {"owner_id": rep_north.pk, "period": "2026-Q4", "amount": "1.00"})
    assert again.status_code == 400 and again.json()["errors"][0]["field"] == "period"
    other_team = api.post(
        "/quotas", {"owner_id": rep_south.pk, "period": "2026-Q4", "amount": "1.00"}
    )
    assert other_team.status_code == 400 and other_team.json()["errors"][0]["field"] == "owner_id"
    assert api.post("/quotas", {"period": "2026-Q4", "amount": "1.00"}).status_code == 400
    assert (
        api.post(
            "/quotas", {"owner_id": rep_north.pk, "period": "2026-Q9", "amount": "1"}
        ).status_code
        == 422
    )
    assert (
        api.post(
            "/quotas", {"owner_id": rep_north.pk, "period": "2026", "amount": "-1"}
        ).status_code
        == 422
    )
    patched = api.patch(f"/quotas/{quota['id']}", {"version": 1, "amount": "12000.00"})
    assert patched.status_code == 200 and patched.json()["amount"] == "12000.00"
    stale = api.patch(f"/quotas/{quota['id']}", {"version": 1, "amount": "1.00"})
    assert stale.status_code == 409
    listed = api.get("/quotas", {"period": "2026-Q4"}).json()
    assert [q["id"] for q in listed["results"]] == [quota["id"]]
    assert api_as(rep_north).get(f"/quotas/{quota['id']}").status_code == 200
    assert api_as(rep_south).get(f"/quotas/{quota['id']}").status_code == 404
    assert api_as(rep_north).delete(f"/quotas/{quota['id']}").status_code == 403
    assert api.delete(f"/quotas/{quota['id']}").status_code == 204
    assert not Quota.objects.exists()


def test_attainment_endpoint(api_as, admin_user, rep_north, deals):
    api_as(admin_user).post(
        "/quotas", {"owner_id": rep_north.pk, "period": "2026-Q4", "amount": "1000"}
    )
    [row] = api_as(admin_user).get("/attainment", {"period": "2026-Q4"}).json()
    assert row["quota"]["owner"]["id"] == rep_north.pk
    assert (row["closed_won"], row["attainment_percent"], row["remaining"]) == (
        "500.00",
        "50.0",
        "500.00",
    )
    assert (row["pipeline"], row["coverage"], row["forecast"]) == ("2000.00", "4.00", "2500.00")
    assert api_as(admin_user).get("/attainment", {"period": "Q4"}).status_code == 422


def test_statements_endpoint(api_as, admin_user, rep_north, rep_north_2, deals):
    plan = CommissionPlan.objects.create(name="Standard")
    CommissionTier.objects.create(plan=plan, from_attainment=Decimal("0"), rate=Decimal("10"))
    assignment = assign(admin_user, plan, rep_north)
    listed = api_as(rep_north).get("/commission-statements", {"period": "2026-Q4"}).json()
    assert [a["id"] for a in listed] == [assignment.pk]
    body = api_as(rep_north).get(f"/commission-statements/{assignment.pk}").json()
    assert (body["total"], body["revenue"], body["basis"]) == ("50.00", "500.00", "won_deals")
    assert [line["opportunity_id"] for line in body["lines"]] == [deals["won"].pk]
    assert api_as(rep_north_2).get("/commission-statements").json() == []
    assert api_as(rep_north_2).get(f"/commission-statements/{assignment.pk}").status_code == 404


def test_quota_create_is_idempotent_with_a_key(api_as, manager_north, rep_north):
    api = api_as(manager_north)
    api.headers["Idempotency-Key"] = "quota-q4-north"
    body = {"owner_id": rep_north.pk, "period": "2026-Q4", "amount": "100.00"}
    first = api.post("/quotas", body)
    again = api.post("/quotas", body)
    assert (first.status_code, again.status_code) == (201, 201)
    assert again.json()["id"] == first.json()["id"]
    assert again.headers["Idempotent-Replayed"] == "true"
    assert Quota.objects.count() == 1


def test_quota_list_query_count(
    api_as, admin_user, rep_north, rep_south, django_assert_max_num_queries
):
    api = api_as(admin_user)
    for period in ("2026-Q1", "2026-Q2", "2026-Q3", "2026-Q4"):
        for rep in (rep_north, rep_south):
            api.post("/quotas", {"owner_id": rep.pk, "period": period, "amount": "1"})
    with django_assert_max_num_queries(6):
        assert len(api.get("/quotas").json()["results"]) == 8
