import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from patron.core.models import AuditEvent
from patron.sales.models import Opportunity

from .factories import make_opportunity, pipeline, stage

pytestmark = pytest.mark.django_db

NOT_FOUND = {"detail": "Not found", "errors": []}


def test_create_read_update_delete(api_as, manager_north, account_north, contact_north):
    api = api_as(manager_north)
    response = api.post(
        "/opportunities",
        {
            "name": "Big deal",
            "account_id": account_north.pk,
            "primary_contact_id": contact_north.pk,
            "amount": "12345.67",
            "currency": "usd",
            "expected_close_date": "2026-09-30",
        },
    )
    assert response.status_code == 201, response.json()
    body = response.json()
    assert body["amount"] == "12345.67"
    assert body["currency"] == "USD"
    assert body["stage"] == {
        "id": stage("Qualification").pk,
        "name": "Qualification",
        "kind": "open",
        "probability": 10,
    }
    assert body["pipeline"] == {"id": pipeline().pk, "name": "Sales"}
    assert body["account"] == {"id": account_north.pk, "name": "Northwind"}
    assert body["primary_contact"] == {"id": contact_north.pk, "name": "Nora North"}
    assert body["owner"]["id"] == manager_north.pk
    pk = body["id"]

    assert api.get(f"/opportunities/{pk}").json() == body
    patched = api.patch(f"/opportunities/{pk}", {"version": 1, "next_step": "Send quote"})
    assert patched.status_code == 200
    assert (patched.json()["next_step"], patched.json()["version"]) == ("Send quote", 2)

    stale = api.patch(f"/opportunities/{pk}", {"version": 1, "name": "Stale"})
    assert stale.status_code == 409
    assert stale.json()["current_version"] == 2
    assert Opportunity.objects.get(pk=pk).name == "Big deal"

    assert api.delete(f"/opportunities/{pk}").status_code == 204
    assert not Opportunity.objects.filter(pk=pk).exists()


def test_move_won_lost_and_stale(api_as, rep_north, account_north):
    opportunity = make_opportunity(rep_north, account_north)
    api = api_as(rep_north)
    url = f"/opportunities/{opportunity.pk}/move"
    refused = api.post(url, {"version": 1, "stage_id": stage("Lost").pk})
    assert refused.status_code == 400
    assert refused.json()["errors"] == [
        {"field": "reason", "message": "Say why the opportunity was lost."}
    ]
    moved = api.post(url, {"version": 1, "stage_id": stage("Lost").pk, "reason": "Price"})
    assert moved.status_code == 200
    assert (moved.json()["stage"]["name"], moved.json()["close_reason"]) == ("Lost", "Price")
    assert moved.json()["closed_at"] is not None
    stale = api.post(url, {"version": 1, "stage_id": stage("Won").pk})
    assert stale.status_code == 409
    history = api.get(f"/opportunities/{opportunity.pk}/stages").json()
    assert [
        (h["from_stage"] and h["from_stage"]["name"], h["to_stage"]["name"]) for h in history
    ] == [
        (None, "Qualification"),
        ("Qualification", "Lost"),
    ]


def test_move_to_unknown_stage_is_400(api_as, rep_north, account_north):
    opportunity = make_opportunity(rep_north, account_north)
    response = api_as(rep_north).post(
        f"/opportunities/{opportunity.pk}/move", {"version": 1, "stage_id": 999999}
    )
    assert response.status_code == 400
    assert response.json()["errors"][0]["field"] == "stage_id"


def test_other_teams_private_opportunity_is_404_everywhere(
    api_as, rep_north, rep_south, account_north, set_visibility
):
    set_visibility("private")
    opportunity = make_opportunity(rep_north, account_north)
    api = api_as(rep_south)
    before = AuditEvent.objects.count()
    assert api.get(f"/opportunities/{opportunity.pk}").json() == NOT_FOUND
    assert api.get(f"/opportunities/{opportunity.pk}/stages").status_code == 404
    response = api.patch(f"/opportunities/{opportunity.pk}", {"version": 1, "name": "x"})
    assert (response.status_code, response.json()) == (404, NOT_FOUND)
    move = api.post(
        f"/opportunities/{opportunity.pk}/move", {"version": 1, "stage_id": stage("Won").pk}
    )
    assert move.status_code == 404
    assert api.delete(f"/opportunities/{opportunity.pk}").status_code == 404
    listing = api.get("/opportunities").json()
    assert listing == {"results": [], "next_cursor": None, "previous_cursor": None}
    assert api.get("/opportunities", {"account": account_north.pk}).json()["results"] == []
    assert AuditEvent.objects.count() == before
    opportunity.refresh_from_db()
    assert (opportunity.name, opportunity.version) == ("Fleet renewal", 1)


def test_create_on_invisible_account_is_400(api_as, rep_south, account_north, set_visibility):
    set_visibility("private")
    response = api_as(rep_south).post(
        "/opportunities", {"name": "Poach", "account_id": account_north.pk}
    )
    assert response.status_code == 400
    assert response.json()["errors"] == [
        {"field": "account_id", "message": f"There is no account with id {account_north.pk}."}
    ]
    assert Opportunity.objects.count() == 0


def test_readonly_may_read_but_not_write(api_as, readonly_user, rep_north, account_north):
    opportunity = make_opportunity(rep_north, account_north)
    api = api_as(readonly_user)
    assert api.get(f"/opportunities/{opportunity.pk}").status_code == 200
    assert (
        api.post("/opportunities", {"name": "x", "account_id": account_north.pk}).status_code == 403
    )
    move = api.post(
        f"/opportunities/{opportunity.pk}/move", {"version": 1, "stage_id": stage("Won").pk}
    )
    assert move.status_code == 403
    assert Opportunity.objects.get(pk=opportunity.pk).stage == stage("Qualification")


def test_list_filters_and_cursor_pagination(
    api_as, rep_north, account_north, django_assert_max_num_queries
):
    for i in range(5):
        make_opportunity(
            rep_north,
            account_north,
            name=f"Deal {i}",
            expected_close_date=f"2026-0{i + 1}-15",
            amount=f"{i + 1}00.00",
        )
    api = api_as(rep_north)
    with django_assert_max_num_queries(12):
        first = api.get("/opportunities", {"ordering": "close_date", "limit": 2}).json()
    assert [r["name"] for r in first["results"]] == ["Deal 0", "Deal 1"]
    second = api.get(
        "/opportunities", {"ordering": "close_date", "limit": 2, "cursor": first["next_cursor"]}
    ).json()
    assert [r["name"] for r in second["results"]] == ["Deal 2", "Deal 3"]
    ranged = api.get(
        "/opportunities",
        {"close_after": "2026-02-01", "close_before": "2026-03-31", "ordering": "name"},
    ).json()
    assert [r["name"] for r in ranged["results"]] == ["Deal 1", "Deal 2"]
    assert (
        api.get("/opportunities", {"owner": "me"}).json()["results"][0]["owner"]["id"]
        == rep_north.pk
    )
    assert api.get("/opportunities", {"status": "won"}).json()["results"] == []
    bad = api.get("/opportunities", {"close_after": "yesterday"})
    assert bad.status_code in (400, 422)
    assert api.get("/opportunities", {"colour": "red"}).status_code == 400
    assert api.get("/opportunities", {"cursor": "nonsense"}).status_code == 400


def test_list_query_count_is_fixed(
    api_as, rep_north, account_north, contact_north, django_assert_num_queries
):
    make_opportunity(rep_north, account_north, primary_contact=contact_north)
    api = api_as(rep_north)
    api.get("/opportunities")  # warm the session and content types
    with CaptureQueriesContext(connection) as few:
        api.get("/opportunities")
    for i in range(10):
        make_opportunity(rep_north, account_north, name=f"More {i}", primary_contact=contact_north)
    with django_assert_num_queries(len(few.captured_queries)):
        assert len(api.get("/opportunities").json()["results"]) == 11


def test_pipelines_with_stages(api_as, readonly_user):
    body = api_as(readonly_user).get("/pipelines").json()
    assert [(p["name"], p["is_default"]) for p in body] == [("Sales", True)]
    assert [(s["name"], s["probability"], s["kind"]) for s in body[0]["stages"]][-2:] == [
        ("Won", 100, "won"),
        ("Lost", 0, "lost"),
    ]
    assert api_as(readonly_user).get(f"/pipelines/{pipeline().pk}").status_code == 200
    assert api_as(readonly_user).get("/pipelines/999999").status_code == 404
