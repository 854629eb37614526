"""The forecast, quotas and commissions pages."""

import datetime
from decimal import Decimal

import pytest
from django.test import Client
from django.urls import reverse

from patron.performance.models import CommissionPlan, CommissionTier, ForecastCategory, Quota

from .factories import closed_deal, open_deal
from .test_selectors import assign

pytestmark = pytest.mark.django_db


def client_for(user):
    client = Client()
    client.force_login(user)
    return client


@pytest.fixture
def deals(rep_north, account):
    return {
        "commit": open_deal(
            rep_north,
            account,
            stage_name="Negotiation",
            amount="2000",
            close=datetime.date(2026, 11, 20),
            name="Big <b>deal</b>",
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


def test_forecast_page(rep_north, deals):
    response = client_for(rep_north).get(reverse("forecast"), {"period": "2026-Q4"})
    assert response.status_code == 200
    html = response.content.decode()
    assert "Q4 2026" in html
    assert 'data-figure="commit">2,500.00' in html
    assert 'data-figure="closed_won">500.00' in html
    assert "Forecast from history" in html and "range" in html
    assert "Big &lt;b&gt;deal&lt;/b&gt;" in html  # escaped
    assert 'href="/performance/"' in html  # the nav link


def test_forecast_page_bad_period_is_404(rep_north):
    assert client_for(rep_north).get(reverse("forecast"), {"period": "2026-Q7"}).status_code == 404


def test_forecast_page_refused_without_permission(db):
    from patron.core.tests.factories import UserFactory, role

    marketer = UserFactory(username="mk", role=role("marketer"))
    assert client_for(marketer).get(reverse("forecast")).status_code == 403


def test_change_category_by_htmx(rep_north, deals):
    response = client_for(rep_north).post(
        reverse("forecast_category", args=[deals["commit"].pk]),
        {"category": "omitted", "period": "2026-Q4", "category_tab": "omitted"},
        headers={"HX-Request": "true"},
    )
    assert response.status_code == 200
    html = response.content.decode()
    assert "<html" not in html
    assert 'data-figure="commit">500.00' in html
    assert "Big &lt;b&gt;deal&lt;/b&gt;" in html  # listed under Omitted now
    assert ForecastCategory.objects.get().category == "omitted"


def test_change_category_refused_to_a_reader(readonly_user, deals):
    response = client_for(readonly_user).post(
        reverse("forecast_category", args=[deals["commit"].pk]),
        {"category": "omitted", "period": "2026-Q4"},
        headers={"HX-Request": "true"},
    )
    assert response.status_code == 403
    assert not ForecastCategory.objects.exists()


def test_forecast_page_query_count(rep_north, account, deals, django_assert_max_num_queries):
    client = client_for(rep_north)
    client.get(reverse("forecast"), {"period": "2026-Q4"})
    for i in range(15):
        open_deal(rep_north, account, close=datetime.date(2026, 11, 1), name=f"D{i}")
    with django_assert_max_num_queries(16):
        assert (
            client.get(
                reverse("forecast"), {"period": "2026-Q4", "category": "best_case"}
            ).status_code
            == 200
        )


def test_quota_page_sets_and_shows_attainment(manager_north, rep_north, deals):
    client = client_for(manager_north)
    response = client.post(
        reverse("quota_list") + "?period=2026-Q4",
        {
            "holder": f"user:{rep_north.pk}",
            "period": "2026-Q4",
            "amount": "1000",
            "currency": "eur",
        },
    )
    assert response.status_code == 302
    quota = Quota.objects.get()
    assert (quota.owner, quota.amount, quota.currency) == (rep_north, Decimal("1000"), "EUR")
    html = client.get(reverse("quota_list"), {"period": "2026-Q4"}).content.decode()
    assert "50.0 %" in html and 'style="width: 50%"' in html
    bad = client.post(
        reverse("quota_list"),
        {"holder": f"user:{rep_north.pk}", "period": "2026-Q9", "amount": "1", "currency": "EUR"},
    )
    assert bad.status_code == 400 and "quarter (2026-Q4)" in bad.content.decode()
    edit = client.post(
        reverse("quota_edit", args=[quota.pk]), {"amount": "2000", "currency": "EUR", "version": 1}
    )
    assert edit.status_code == 302
    quota.refresh_from_db()
    assert quota.amount == Decimal("2000")


def test_reps_cannot_set_quotas(rep_north):
    response = client_for(rep_north).post(
        reverse("quota_list"),
        {"holder": f"user:{rep_north.pk}", "period": "2026", "amount": "1", "currency": "EUR"},
    )
    assert response.status_code == 403
    assert not Quota.objects.exists()


def test_statement_pages(admin_user, rep_north, rep_north_2, deals):
    plan = CommissionPlan.objects.create(name="Standard")
    CommissionTier.objects.create(plan=plan, from_attainment=Decimal("0"), rate=Decimal("10"))
    assignment = assign(admin_user, plan, rep_north)
    client = client_for(rep_north)
    assert "Standard" in client.get(reverse("commission_list")).content.decode()
    html = client.get(reverse("commission_statement", args=[assignment.pk])).content.decode()
    assert 'data-figure="commission">50.00' in html
    assert "No quota for this period" in html
    assert (
        client_for(rep_north_2)
        .get(reverse("commission_statement", args=[assignment.pk]))
        .status_code
        == 404
    )


def test_quota_page_query_count(
    admin_user, rep_north, rep_south, team_north, deals, django_assert_max_num_queries
):
    from patron.performance import services

    client = client_for(admin_user)
    client.get(reverse("quota_list"), {"period": "2026-Q4"})
    start = datetime.date(2026, 10, 1)
    for holder in ({"owner": rep_north}, {"owner": rep_south}, {"team": team_north}):
        services.quota_create(
            actor=admin_user,
            data={
                **holder,
                "period_kind": "quarter",
                "period_start": start,
                "amount": Decimal("10"),
                "currency": "EUR",
            },
        )
    with django_assert_max_num_queries(14):
        html = client.get(reverse("quota_list"), {"period": "2026-Q4"}).content.decode()
    assert html.count("data-quota=") == 3
