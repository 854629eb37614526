"""Odd requests on a real opportunity answer 4xx, never 5xx, and change nothing."""

import pytest

from patron.sales.models import Opportunity

from .factories import make_opportunity, stage

pytestmark = pytest.mark.django_db

HUGE = 2**63


@pytest.fixture
def deal(rep_north, account_north):
    return make_opportunity(rep_north, account_north)


@pytest.mark.parametrize(
    "body",
    [
        {"version": 1, "account_id": HUGE},
        {"version": 1, "account_id": 2**63 - 1},
        {"version": 1, "primary_contact_id": 2**62},
        {"version": 1, "owner_id": 2**62},
        {"version": 1, "amount": "1e20"},
        {"version": 1, "amount": "-0.01"},
        {"version": 1, "amount": "NaN"},
        {"version": 1, "currency": "12€"},
        {"version": 1, "name": None},
        {"version": 1, "name": ""},
        {"version": 1, "expected_close_date": "0000-01-01"},
        {"version": 2**40, "name": "x"},
        {"version": 1, "name": "x\x00"},
        {"version": 1, "stage_id": 1},
    ],
)
def test_bad_patches(api_as, rep_north, deal, body):
    response = api_as(rep_north).patch(f"/opportunities/{deal.pk}", body)
    assert 400 <= response.status_code < 500, response.content
    deal.refresh_from_db()
    assert (deal.name, deal.version) == ("Fleet renewal", 1)


@pytest.mark.parametrize(
    "path",
    [f"/opportunities/{HUGE}", f"/opportunities/{2**63 - 1}/stages", f"/pipelines/{HUGE}"],
)
def test_huge_ids_are_404(api_as, rep_north, path):
    assert api_as(rep_north).get(path).status_code in (400, 404, 422)


@pytest.mark.parametrize(
    "body",
    [
        {"version": 1, "stage_id": HUGE},
        {"version": 1, "stage_id": 2**63 - 1},
        {"version": 1, "stage_id": 0},
        {"version": 1},
        {"version": 1, "stage_id": "won"},
    ],
)
def test_bad_moves(api_as, rep_north, deal, body):
    response = api_as(rep_north).post(f"/opportunities/{deal.pk}/move", body)
    assert 400 <= response.status_code < 500
    assert Opportunity.objects.get(pk=deal.pk).stage == stage("Qualification")


@pytest.mark.parametrize(
    "params",
    [
        {"owner": "9" * 30},
        {"owner": "-1"},
        {"close_after": "9999-99-99"},
        {"stage": str(HUGE)},
        {"account": "x"},
        {"limit": "0"},
        {"ordering": "secret"},
        {"status": "maybe"},
    ],
)
def test_bad_list_params(api_as, rep_north, deal, params):
    assert 400 <= api_as(rep_north).get("/opportunities", params).status_code < 500


def test_big_amount_within_limits_is_exact(api_as, rep_north, account_north):
    response = api_as(rep_north).post(
        "/opportunities",
        {"name": "Huge", "account_id": account_north.pk, "amount": "999999999999.99"},
    )
    assert response.status_code == 201
    assert response.json()["amount"] == "999999999999.99"
