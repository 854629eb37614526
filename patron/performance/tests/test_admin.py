"""Plans, assignments, exchange rates and forecast categories edited in the Django admin go
through the same services as the API: checked, shown on the form when refused, audited."""

from __future__ import annotations

import datetime

import pytest
from django.contrib.contenttypes.models import ContentType

from patron.core import services as core_services
from patron.core.models import AuditEvent
from patron.core.tests.factories import role
from patron.performance import services
from patron.performance.models import (
    CommissionAssignment,
    CommissionPlan,
    CommissionTier,
    ExchangeRate,
    StageForecastCategory,
)
from patron.sales.tests.factories import stage

pytestmark = pytest.mark.django_db


@pytest.fixture
def superadmin():
    return core_services.user_create(
        actor=None, username="root", password="a-long-pass-phrase-1", role=role("admin")
    )


def _events(model, pk) -> list[tuple[str, dict]]:
    events = AuditEvent.objects.filter(
        content_type=ContentType.objects.get_for_model(model), object_id=pk
    ).order_by("id")
    return [(e.action, e.changes) for e in events]


def _plan_form(name: str, tiers: list[tuple[str, str]], existing: int = 0) -> dict[str, str]:
    data = {"name": name, "method": "marginal", "basis": "won_deals", "description": ""}
    data |= {
        "tiers-TOTAL_FORMS": str(len(tiers)),
        "tiers-INITIAL_FORMS": str(existing),
        "tiers-MIN_NUM_FORMS": "0",
        "tiers-MAX_NUM_FORMS": "1000",
    }
    for i, (start, rate) in enumerate(tiers):
        data[f"tiers-{i}-from_attainment"] = start
        data[f"tiers-{i}-rate"] = rate
    return data


def test_an_exchange_rate_is_added_changed_and_deleted_through_the_services(superadmin, client):
    client.force_login(superadmin)
    form = {"currency": "USD", "rate": "0.9", "valid_from": "2026-01-01"}
    response = client.post("/admin/performance/exchangerate/add/", form)
    assert response.status_code == 302, response.content.decode()[:3000]
    rate = ExchangeRate.objects.get()
    response = client.post(
        f"/admin/performance/exchangerate/{rate.pk}/change/", {**form, "rate": "0.95"}
    )
    assert response.status_code == 302
    response = client.post(f"/admin/performance/exchangerate/{rate.pk}/delete/", {"post": "yes"})
    assert response.status_code == 302
    assert not ExchangeRate.objects.exists()
    events = _events(ExchangeRate, rate.pk)
    assert [action for action, _ in events] == ["create", "update", "delete"]
    assert [float(v) for v in events[1][1]["rate"]] == [0.9, 0.95]


def test_a_rate_the_service_refuses_is_an_error_on_the_form_and_nothing_is_saved(
    superadmin, client, settings
):
    settings.PATRON_DEFAULT_CURRENCY = "EUR"
    client.force_login(superadmin)
    form = {"currency": "EUR", "rate": "1", "valid_from": "2026-01-01"}
    response = client.post("/admin/performance/exchangerate/add/", form)
    assert response.status_code == 200
    assert "the organisation&#x27;s currency" in response.content.decode()
    assert not ExchangeRate.objects.exists()
    assert not AuditEvent.objects.filter(
        content_type=ContentType.objects.get_for_model(ExchangeRate)
    ).exists()


def test_a_plan_and_its_tiers_are_written_by_the_service_and_audited(superadmin, client):
    client.force_login(superadmin)
    assert client.get("/admin/performance/commissionplan/add/").status_code == 200
    response = client.post(
        "/admin/performance/commissionplan/add/",
        _plan_form("Standard", [("0", "5"), ("100", "8")]),
    )
    assert response.status_code == 302, response.content.decode()[:3000]
    plan = CommissionPlan.objects.get()
    tiers = list(plan.tiers.order_by("from_attainment").values_list("from_attainment", "rate"))
    assert [(float(a), float(r)) for a, r in tiers] == [(0, 5), (100, 8)]
    [(action, changes)] = _events(CommissionPlan, plan.pk)
    assert action == "create"
    assert changes["name"] == [None, "Standard"]
    assert [[float(a), float(r)] for a, r in changes["tiers"][1]] == [[0, 5], [100, 8]]

    existing = list(plan.tiers.order_by("from_attainment"))
    form = _plan_form("Standard", [("0", "5"), ("100", "10")], existing=2)
    for i, tier in enumerate(existing):
        form[f"tiers-{i}-id"] = str(tier.pk)
        form[f"tiers-{i}-plan"] = str(plan.pk)
    response = client.post(f"/admin/performance/commissionplan/{plan.pk}/change/", form)
    assert response.status_code == 302, response.content.decode()[:3000]
    rates = plan.tiers.order_by("from_attainment").values_list("rate", flat=True)
    assert [float(r) for r in rates] == [5, 10]
    action, changes = _events(CommissionPlan, plan.pk)[-1]
    assert action == "update"
    assert [[float(a), float(r)] for a, r in changes["tiers"][1]] == [[0, 5], [100, 10]]


def test_tiers_the_service_refuses_are_errors_on_the_page(superadmin, client):
    client.force_login(superadmin)
    response = client.post(
        "/admin/performance/commissionplan/add/",
        _plan_form("Steep", [("10", "5")]),
    )
    assert response.status_code == 200
    assert "The first tier starts at 0 %" in response.content.decode()
    assert not CommissionPlan.objects.exists()
    assert not CommissionTier.objects.exists()
    assert not AuditEvent.objects.filter(
        content_type=ContentType.objects.get_for_model(CommissionPlan)
    ).exists()


def test_a_plan_in_use_is_not_deleted_from_the_admin(superadmin, client, rep_north):
    plan = services.commission_plan_create(
        actor=None, data={"name": "Used"}, tiers=[{"from_attainment": 0, "rate": 5}]
    )
    services.commission_assignment_create(
        actor=None,
        data={
            "plan": plan,
            "owner": rep_north,
            "period_kind": "quarter",
            "period_start": datetime.date(2026, 1, 1),
        },
    )
    client.force_login(superadmin)
    response = client.post(
        f"/admin/performance/commissionplan/{plan.pk}/delete/", {"post": "yes"}, follow=True
    )
    assert response.status_code == 200
    assert "Cannot delete commission plan" in response.content.decode()
    assert CommissionPlan.objects.filter(pk=plan.pk).exists()
    assert CommissionAssignment.objects.filter(plan=plan).exists()


def test_an_assignment_and_a_forecast_category_are_audited_when_added_in_the_admin(
    superadmin, client, rep_north
):
    plan = services.commission_plan_create(
        actor=None, data={"name": "Std"}, tiers=[{"from_attainment": 0, "rate": 5}]
    )
    client.force_login(superadmin)
    response = client.post(
        "/admin/performance/commissionassignment/add/",
        {
            "plan": str(plan.pk),
            "owner": str(rep_north.pk),
            "period_kind": "quarter",
            "period_start": "2026-04-01",
        },
    )
    assert response.status_code == 302, response.content.decode()[:3000]
    assignment = CommissionAssignment.objects.get()
    assert [a for a, _ in _events(CommissionAssignment, assignment.pk)] == ["create"]

    proposal = stage("Proposal")
    response = client.post(
        "/admin/performance/stageforecastcategory/add/",
        {"stage": str(proposal.pk), "category": "commit"},
    )
    assert response.status_code == 302, response.content.decode()[:3000]
    setting = StageForecastCategory.objects.get()
    assert [a for a, _ in _events(StageForecastCategory, setting.pk)] == ["create"]


def test_a_role_the_service_refuses_gets_a_form_error_and_a_403_not_a_crash(client, rep_north):
    """A staff user given the admin's model permissions, whose Patron role may not change
    forecasts: the service says no, on the form when adding and with 403 when deleting."""
    from django.contrib.auth.models import Permission

    rep_north.is_staff = True
    rep_north.save()
    codenames = ["add_exchangerate", "change_exchangerate", "delete_exchangerate"]
    rep_north.user_permissions.add(*Permission.objects.filter(codename__in=codenames))
    client.force_login(rep_north)
    form = {"currency": "USD", "rate": "0.9", "valid_from": "2026-01-01"}
    response = client.post("/admin/performance/exchangerate/add/", form)
    assert response.status_code == 200
    assert "does not allow" in response.content.decode()
    assert not ExchangeRate.objects.exists()
    rate = services.exchange_rate_create(actor=None, data=form)
    response = client.post(f"/admin/performance/exchangerate/{rate.pk}/delete/", {"post": "yes"})
    assert response.status_code == 403
    assert ExchangeRate.objects.filter(pk=rate.pk).exists()
