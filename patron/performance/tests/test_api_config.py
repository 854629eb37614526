"""The performance configuration API: commission plans with their tiers, commission
assignments, exchange rates and stage forecast categories."""

import datetime
from decimal import Decimal

import pytest

from patron.core.models import AuditEvent
from patron.performance.models import (
    CommissionAssignment,
    CommissionPlan,
    CommissionTier,
    ExchangeRate,
    StageForecastCategory,
)
from patron.sales.models import Stage

from .factories import closed_deal, open_deal, stage

pytestmark = pytest.mark.django_db

PLAN = {
    "name": "Standard",
    "method": "marginal",
    "basis": "won_deals",
    "description": "Reps, 2026.",
    "tiers": [
        {"from_attainment": "0", "rate": "2"},
        {"from_attainment": "25", "rate": "10"},
    ],
}


def put(api, path, body):
    import json

    return api.client.put(
        "/api" + path, json.dumps(body), content_type="application/json", headers=api.headers
    )


def fields(response):
    return {e["field"] for e in response.json()["errors"]}


# --- commission plans ---------------------------------------------------------------------


def test_plan_crud(api_as, admin_user):
    api = api_as(admin_user)
    created = api.post("/commission-plans", PLAN)
    assert created.status_code == 201, created.content
    plan = created.json()
    assert (plan["name"], plan["method"], plan["basis"]) == ("Standard", "marginal", "won_deals")
    assert plan["tiers"] == [
        {"from_attainment": "0.00", "rate": "2.000"},
        {"from_attainment": "25.00", "rate": "10.000"},
    ]
    url = f"/commission-plans/{plan['id']}"
    assert api.get(url).json() == plan
    assert [p["id"] for p in api.get("/commission-plans").json()["results"]] == [plan["id"]]

    patched = api.patch(url, {"method": "flat", "description": "Flat from 2027."})
    assert patched.status_code == 200, patched.content
    assert (patched.json()["method"], len(patched.json()["tiers"])) == ("flat", 2)

    replaced = put(
        api,
        url,
        {
            "name": "Accelerated",
            "tiers": [
                {"from_attainment": "0", "rate": "3"},
                {"from_attainment": "100", "rate": "12.5"},
            ],
        },
    )
    assert replaced.status_code == 200, replaced.content
    body = replaced.json()
    assert (body["name"], body["method"], body["description"]) == ("Accelerated", "marginal", "")
    assert [t["from_attainment"] for t in body["tiers"]] == ["0.00", "100.00"]
    assert CommissionTier.objects.filter(plan_id=plan["id"]).count() == 2

    actions = list(
        AuditEvent.objects.filter(
            content_type__model="commissionplan", object_id=plan["id"]
        ).values_list("action", flat=True)
    )
    assert actions.count("create") == 1 and actions.count("update") == 2

    duplicate = api.post("/commission-plans", {**PLAN, "name": "Accelerated"})
    assert duplicate.status_code == 400 and fields(duplicate) == {"name"}

    assert api.delete(url).status_code == 204
    assert not CommissionPlan.objects.exists() and not CommissionTier.objects.exists()
    assert api.get(url).status_code == 404
    assert api.patch(url, {"name": "Gone"}).status_code == 404
    assert api.delete(url).status_code == 404


def test_a_rep_reads_plans_but_may_not_write_them(api_as, admin_user, rep_north, readonly_user):
    plan = api_as(admin_user).post("/commission-plans", PLAN).json()
    rep = api_as(rep_north)
    assert rep.get(f"/commission-plans/{plan['id']}").status_code == 200
    assert rep.get("/commission-plans").status_code == 200
    assert rep.post("/commission-plans", {**PLAN, "name": "Mine"}).status_code == 403
    assert rep.patch(f"/commission-plans/{plan['id']}", {"name": "Mine"}).status_code == 403
    assert put(rep, f"/commission-plans/{plan['id']}", PLAN).status_code == 403
    assert rep.delete(f"/commission-plans/{plan['id']}").status_code == 403
    assert CommissionPlan.objects.get().name == "Standard"
    # Read-only holds no commission permission at all.
    assert api_as(readonly_user).get("/commission-plans").status_code == 403
    assert api_as(readonly_user).get(f"/commission-plans/{plan['id']}").status_code == 404


@pytest.mark.parametrize(
    ("tiers", "field"),
    [
        (
            [{"from_attainment": "0", "rate": "2"}, {"from_attainment": "0", "rate": "5"}],
            "tiers.1.from_attainment",
        ),
        (
            [
                {"from_attainment": "0", "rate": "2"},
                {"from_attainment": "80", "rate": "5"},
                {"from_attainment": "50", "rate": "8"},
            ],
            "tiers.2.from_attainment",
        ),
        ([{"from_attainment": "10", "rate": "2"}], "tiers.0.from_attainment"),
    ],
)
def test_plan_tiers_go_up_from_zero(api_as, admin_user, tiers, field):
    response = api_as(admin_user).post("/commission-plans", {**PLAN, "tiers": tiers})
    assert response.status_code == 400, response.content
    assert field in fields(response)
    assert not CommissionPlan.objects.exists()


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({**PLAN, "tiers": [{"from_attainment": "0", "rate": "100.5"}]}, "tiers.0.rate"),
        ({**PLAN, "tiers": [{"from_attainment": "0", "rate": "-1"}]}, "tiers.0.rate"),
        ({**PLAN, "tiers": [{"from_attainment": "0", "rate": "2.0001"}]}, "tiers.0.rate"),
        ({**PLAN, "tiers": [{"from_attainment": "0", "rate": "NaN"}]}, "tiers.0.rate"),
        ({**PLAN, "tiers": []}, "tiers"),
        ({**PLAN, "name": ""}, "name"),
        ({**PLAN, "name": "x" * 101}, "name"),
        ({**PLAN, "method": "bonus"}, "method"),
        ({**PLAN, "extra": 1}, "extra"),
    ],
)
def test_plan_refuses_bad_input(api_as, admin_user, body, field):
    response = api_as(admin_user).post("/commission-plans", body)
    assert response.status_code == 422, response.content
    assert field in fields(response)


def test_plan_patch_refuses_null_and_bad_tiers(api_as, admin_user):
    api = api_as(admin_user)
    plan = api.post("/commission-plans", PLAN).json()
    url = f"/commission-plans/{plan['id']}"
    assert fields(api.patch(url, {"name": None})) == {"name"}
    assert fields(api.patch(url, {"tiers": None})) == {"tiers"}
    response = api.patch(url, {"tiers": [{"from_attainment": "5", "rate": "1"}]})
    assert response.status_code == 400 and fields(response) == {"tiers.0.from_attainment"}
    assert api.patch(url, {"name": "   "}).status_code == 400
    assert len(api.get(url).json()["tiers"]) == 2


def test_an_assigned_plan_is_not_deleted(api_as, admin_user, rep_north):
    api = api_as(admin_user)
    plan = api.post("/commission-plans", PLAN).json()
    api.post(
        "/commission-assignments",
        {"plan_id": plan["id"], "owner_id": rep_north.pk, "period": "2026-Q4"},
    )
    response = api.delete(f"/commission-plans/{plan['id']}")
    assert response.status_code == 400 and fields(response) == {"plan"}
    assert CommissionPlan.objects.exists()


def test_a_plan_made_through_the_api_pays_the_expected_commission(
    api_as, admin_user, rep_north, account
):
    """Quota 1,000; won 500 (50 %): 250 up to 25 % at 2 % (5.00) + 250 at 10 % (25.00)."""
    closed_deal(
        rep_north,
        account,
        won=True,
        through=None,
        closed=datetime.date(2026, 10, 2),
        amount="500",
    )
    api = api_as(admin_user)
    assert (
        api.post(
            "/quotas", {"owner_id": rep_north.pk, "period": "2026-Q4", "amount": "1000"}
        ).status_code
        == 201
    )
    plan = api.post("/commission-plans", PLAN).json()
    assignment = api.post(
        "/commission-assignments",
        {"plan_id": plan["id"], "owner_id": rep_north.pk, "period": "2026-Q4"},
    ).json()
    statement = api_as(rep_north).get(f"/commission-statements/{assignment['id']}").json()
    assert (statement["revenue"], statement["attainment_percent"], statement["total"]) == (
        "500.00",
        "50.0",
        "30.00",
    )
    # Flat: the band reached (10 %) on all of it.
    api.patch(f"/commission-plans/{plan['id']}", {"method": "flat"})
    statement = api_as(rep_north).get(f"/commission-statements/{assignment['id']}").json()
    assert statement["total"] == "50.00"


# --- commission assignments ---------------------------------------------------------------


@pytest.fixture
def plans(admin_user):
    standard = CommissionPlan.objects.create(name="Standard")
    senior = CommissionPlan.objects.create(name="Senior")
    for plan in (standard, senior):
        CommissionTier.objects.create(plan=plan, from_attainment=Decimal("0"), rate=Decimal("5"))
    return standard, senior


def test_assignment_crud(api_as, manager_north, rep_north, rep_north_2, rep_south, plans):
    standard, senior = plans
    api = api_as(manager_north)
    created = api.post(
        "/commission-assignments",
        {"plan_id": standard.pk, "owner_id": rep_north.pk, "period": "2026-Q4"},
    )
    assert created.status_code == 201, created.content
    body = created.json()
    assert (body["plan"]["name"], body["owner"]["id"], body["period"], body["period_end"]) == (
        "Standard",
        rep_north.pk,
        "2026-Q4",
        "2026-12-31",
    )
    url = f"/commission-assignments/{body['id']}"
    again = api.post(
        "/commission-assignments",
        {"plan_id": senior.pk, "owner_id": rep_north.pk, "period": "2026-Q4"},
    )
    assert again.status_code == 400 and fields(again) == {"period"}
    other_team = api.post(
        "/commission-assignments",
        {"plan_id": senior.pk, "owner_id": rep_south.pk, "period": "2026-Q4"},
    )
    assert other_team.status_code == 400 and fields(other_team) == {"owner_id"}
    unknown = api.post(
        "/commission-assignments",
        {"plan_id": 999999, "owner_id": 999999, "period": "2026-Q4"},
    )
    assert unknown.status_code == 400 and fields(unknown) == {"owner_id"}
    unknown_plan = api.post(
        "/commission-assignments",
        {"plan_id": 999999, "owner_id": rep_north.pk, "period": "2026-Q4"},
    )
    assert unknown_plan.status_code == 400 and fields(unknown_plan) == {"plan_id"}
    bad_period = api.post(
        "/commission-assignments",
        {"plan_id": senior.pk, "owner_id": rep_north.pk, "period": "2026-Q5"},
    )
    assert bad_period.status_code == 422 and fields(bad_period) == {"period"}

    patched = api.patch(url, {"plan_id": senior.pk, "period": "2027-01"})
    assert patched.status_code == 200, patched.content
    assert (patched.json()["plan"]["name"], patched.json()["period"]) == ("Senior", "2027-01")
    assert api.patch(url, {"plan_id": None}).status_code == 400

    listed = api.get("/commission-assignments", {"period": "2027-01"}).json()["results"]
    assert [a["id"] for a in listed] == [body["id"]]
    assert api_as(rep_north).get(url).status_code == 200
    assert api_as(rep_north_2).get(url).status_code == 404
    assert api_as(rep_north_2).get("/commission-assignments").json()["results"] == []
    assert api_as(rep_north).patch(url, {"period": "2026"}).status_code == 403
    assert api_as(rep_north).delete(url).status_code == 403
    assert api.delete(url).status_code == 204
    assert not CommissionAssignment.objects.exists()
    assert api.get(url).status_code == 404


# --- exchange rates -----------------------------------------------------------------------


def test_exchange_rate_crud_and_validation(api_as, admin_user, rep_north):
    api = api_as(admin_user)
    created = api.post(
        "/exchange-rates", {"currency": "usd", "rate": "0.9", "valid_from": "2026-01-01"}
    )
    assert created.status_code == 201, created.content
    rate = created.json()
    assert (rate["currency"], rate["rate"], rate["valid_from"]) == (
        "USD",
        "0.90000000",
        "2026-01-01",
    )
    url = f"/exchange-rates/{rate['id']}"
    assert api_as(rep_north).get(url).json() == rate
    assert api_as(rep_north).get("/exchange-rates", {"currency": "USD"}).status_code == 200
    assert api_as(rep_north).patch(url, {"rate": "1"}).status_code == 403
    assert (
        api_as(rep_north)
        .post("/exchange-rates", {"currency": "GBP", "rate": "1.1", "valid_from": "2026-01-01"})
        .status_code
        == 403
    )

    same_day = api.post(
        "/exchange-rates", {"currency": "USD", "rate": "0.8", "valid_from": "2026-01-01"}
    )
    assert same_day.status_code == 400 and fields(same_day) == {"valid_from"}
    own = api.post("/exchange-rates", {"currency": "EUR", "rate": "1", "valid_from": "2026-01-01"})
    assert own.status_code == 400 and fields(own) == {"currency"}
    for body, field in [
        ({"currency": "US", "rate": "1", "valid_from": "2026-01-01"}, "currency"),
        ({"currency": "U$D", "rate": "1", "valid_from": "2026-01-01"}, "currency"),
        ({"currency": "USD", "rate": "0", "valid_from": "2026-01-01"}, "rate"),
        ({"currency": "USD", "rate": "1e20", "valid_from": "2026-01-01"}, "rate"),
        ({"currency": "USD", "rate": "0.123456789", "valid_from": "2026-01-01"}, "rate"),
        ({"currency": "USD", "rate": "1", "valid_from": "2026-02-30"}, "valid_from"),
    ]:
        response = api.post("/exchange-rates", body)
        assert response.status_code == 422, (body, response.content)
        assert fields(response) == {field}

    patched = api.patch(url, {"rate": "0.95", "valid_from": "2026-02-01"})
    assert patched.status_code == 200, patched.content
    assert (patched.json()["rate"], patched.json()["valid_from"]) == ("0.95000000", "2026-02-01")
    assert fields(api.patch(url, {"currency": "X1Z"})) == {"currency"}
    assert fields(api.patch(url, {"rate": None})) == {"rate"}
    assert api.delete(url).status_code == 204
    assert not ExchangeRate.objects.exists()
    assert api.get(url).status_code == 404


def test_an_exchange_rate_made_through_the_api_converts_the_forecast(
    api_as, admin_user, rep_north, account
):
    open_deal(
        rep_north,
        account,
        stage_name="Proposal",
        amount="1000",
        currency="USD",
        close=datetime.date(2026, 11, 20),
    )
    api = api_as(admin_user)
    before = api.get("/forecast", {"period": "2026-Q4"}).json()["total"]
    not_converted = {k: Decimal(v) for k, v in before["not_converted"].items()}
    assert (Decimal(before["pipeline"]), not_converted) == (Decimal("0"), {"USD": Decimal("1000")})
    created = api.post(
        "/exchange-rates", {"currency": "USD", "rate": "0.90", "valid_from": "2020-01-01"}
    )
    assert created.status_code == 201
    after = api.get("/forecast", {"period": "2026-Q4"}).json()["total"]
    assert (Decimal(after["pipeline"]), after["not_converted"]) == (Decimal("900"), {})


# --- stage forecast categories ------------------------------------------------------------


def test_stage_category_crud(api_as, admin_user, rep_north, account):
    open_deal(rep_north, account, stage_name="Proposal", close=datetime.date(2026, 11, 20))
    api = api_as(admin_user)
    proposal = stage("Proposal")
    default = api.get("/forecast", {"period": "2026-Q4"}).json()["total"]
    assert Decimal(default["commit"]) == Decimal("0")

    created = api.post(
        "/stage-forecast-categories", {"stage_id": proposal.pk, "category": "commit"}
    )
    assert created.status_code == 201, created.content
    setting = created.json()
    assert (setting["stage"]["name"], setting["stage"]["pipeline"], setting["category"]) == (
        "Proposal",
        "Sales",
        "commit",
    )
    totals = api.get("/forecast", {"period": "2026-Q4"}).json()["total"]
    assert Decimal(totals["commit"]) == Decimal("1000")

    url = f"/stage-forecast-categories/{setting['id']}"
    again = api.post("/stage-forecast-categories", {"stage_id": proposal.pk, "category": "omitted"})
    assert again.status_code == 400 and fields(again) == {"stage_id"}
    won = Stage.objects.filter(pipeline__name="Sales").exclude(kind=Stage.Kind.OPEN).first()
    closed = api.post("/stage-forecast-categories", {"stage_id": won.pk, "category": "commit"})
    assert closed.status_code == 400 and fields(closed) == {"stage_id"}
    missing = api.post("/stage-forecast-categories", {"stage_id": 999999, "category": "commit"})
    assert missing.status_code == 400 and fields(missing) == {"stage_id"}
    bad = api.post("/stage-forecast-categories", {"stage_id": proposal.pk, "category": "maybe"})
    assert bad.status_code == 422 and fields(bad) == {"category"}

    patched = api.patch(url, {"category": "omitted"})
    assert patched.status_code == 200 and patched.json()["category"] == "omitted"
    assert api.get(url).json()["category"] == "omitted"
    assert [s["id"] for s in api.get("/stage-forecast-categories").json()["results"]] == [
        setting["id"]
    ]
    assert api_as(rep_north).get(url).status_code == 200
    assert api_as(rep_north).patch(url, {"category": "commit"}).status_code == 403
    assert api_as(rep_north).delete(url).status_code == 403
    assert api.delete(url).status_code == 204
    assert not StageForecastCategory.objects.exists()
    assert api.get(url).status_code == 404


def test_unknown_ids_and_bad_cursors(api_as, admin_user):
    api = api_as(admin_user)
    for path in (
        "/commission-plans",
        "/commission-assignments",
        "/exchange-rates",
        "/stage-forecast-categories",
    ):
        assert api.get(f"{path}/999999").status_code == 404
        assert api.delete(f"{path}/999999").status_code == 404
        assert api.get(f"{path}/{2**63}").status_code in (404, 422)
        assert api.get(path, {"cursor": "nonsense"}).status_code == 400
