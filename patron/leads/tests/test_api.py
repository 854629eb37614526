import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from patron.customers import services as customer_services
from patron.leads.models import Lead

from .factories import make_lead, make_rule

pytestmark = pytest.mark.django_db


def test_create_scores_and_shapes(api_as, rep_north):
    make_rule(field="job_title", operator="contains", value="VP", points=15)
    response = api_as(rep_north).post(
        "/leads",
        {
            "first_name": " Linus ",
            "email": "Linus@Kernel.example",
            "phone": "020 7946 0018",
            "country": "gb",
            "job_title": "VP Engineering",
            "annual_revenue": "2500000.50",
            "utm_campaign": "launch",
        },
    )
    assert response.status_code == 201, response.content
    body = response.json()
    assert body["first_name"] == "Linus" and body["email"] == "Linus@kernel.example"
    assert body["phone_e164"] == "+442079460018" and body["country"] == "GB"
    assert body["source"] == "api" and body["status"] == "new"
    assert body["annual_revenue"] == "2500000.50"
    assert body["owner"]["id"] == rep_north.pk
    assert body["score"] == 15
    assert body["score_breakdown"] == [
        {"kind": "fit", "points": 15, "reason": "job title contains 'VP'"}
    ]
    assert body["predicted_probability"] is None


@pytest.mark.parametrize(
    ("payload", "status", "field"),
    [
        ({"email": "nope"}, 400, "email"),
        ({"first_name": "A", "phone": "12"}, 400, "phone"),
        ({"first_name": "A", "country": "France"}, 422, None),
        ({"first_name": "A", "owner_id": 999999}, 400, "owner_id"),
        ({"first_name": "A", "status": "disqualified"}, 400, "disqualified_reason"),
        ({"first_name": "A", "status": "converted"}, 422, None),
        ({"first_name": "A", "employees": -1}, 422, None),
        ({"first_name": "A", "annual_revenue": "1e30"}, 422, None),
        ({"first_name": "A", "surprise": 1}, 422, None),
        ({}, 400, None),
    ],
)
def test_create_validation_is_4xx(api_as, rep_north, payload, status, field):
    response = api_as(rep_north).post("/leads", payload)
    assert response.status_code == status, response.content
    if field:
        assert field in [e["field"] for e in response.json()["errors"]]
    assert not Lead.objects.exists()


def test_list_filters_sorts_by_score_and_pages(api_as, admin_user, rep_north):
    make_rule(field="country", operator="equals", value="FR", points=10)
    make_rule(field="job_title", operator="contains", value="CEO", points=50)
    low = make_lead(admin_user, email="low@example.com", owner=rep_north)
    mid = make_lead(admin_user, email="mid@example.com", country="FR", owner=rep_north)
    top = make_lead(admin_user, email="top@example.com", country="FR", job_title="CEO")
    client = api_as(admin_user)
    emails = [r["email"] for r in client.get("/leads").json()["results"]]
    assert emails == [top.email, mid.email, low.email]
    assert [r["email"] for r in client.get("/leads", {"min_score": 10}).json()["results"]] == [
        top.email,
        mid.email,
    ]
    mine = client.get("/leads", {"owner": rep_north.pk, "ordering": "score"}).json()["results"]
    assert [r["email"] for r in mine] == [low.email, mid.email]
    first = client.get("/leads", {"limit": 2}).json()
    second = client.get("/leads", {"limit": 2, "cursor": first["next_cursor"]}).json()
    assert [r["email"] for r in second["results"]] == [low.email]
    assert client.get("/leads", {"status": "converted"}).json()["results"] == []
    assert client.get("/leads", {"bogus": "1"}).status_code == 400
    assert client.get("/leads", {"cursor": "garbage"}).status_code == 400
    assert client.get("/leads", {"owner": "someone"}).status_code == 400


def test_list_query_count_is_fixed(api_as, admin_user, rep_north):
    for i in range(3):
        make_lead(admin_user, email=f"a{i}@example.com", owner=rep_north)
    client = api_as(admin_user)
    client.get("/leads")
    with CaptureQueriesContext(connection) as few:
        client.get("/leads")
    for i in range(10):
        make_lead(admin_user, email=f"b{i}@example.com", owner=rep_north)
    with CaptureQueriesContext(connection) as many:
        assert len(client.get("/leads").json()["results"]) == 13
    assert len(many) == len(few)


def test_rep_sees_only_visible_leads(api_as, admin_user, rep_north, rep_south):
    theirs = make_lead(admin_user, owner=rep_south)
    assert api_as(rep_north).get(f"/leads/{theirs.pk}").status_code == 404
    assert api_as(rep_north).get("/leads").json()["results"] == []
    response = api_as(rep_north).patch(f"/leads/{theirs.pk}", {"version": 1, "first_name": "X"})
    assert response.status_code == 404


def test_update_with_version_and_disqualify(api_as, rep_north):
    lead = make_lead(rep_north)
    client = api_as(rep_north)
    stale = client.patch(f"/leads/{lead.pk}", {"version": lead.version + 1, "region": "Kent"})
    assert stale.status_code == 409
    refused = client.patch(f"/leads/{lead.pk}", {"version": lead.version, "status": "disqualified"})
    assert refused.status_code == 400
    ok = client.patch(
        f"/leads/{lead.pk}",
        {"version": lead.version, "status": "disqualified", "disqualified_reason": "No budget"},
    )
    assert ok.status_code == 200
    assert (ok.json()["status"], ok.json()["disqualified_reason"]) == ("disqualified", "No budget")
    assert client.patch(f"/leads/{lead.pk}", {"version": 2, "email": None}).status_code == 422


def test_activities(api_as, rep_north):
    make_rule(kind="engagement", field="meeting_booked", operator="gt", value="0", points=40)
    lead = make_lead(rep_north)
    client = api_as(rep_north)
    response = client.post(
        f"/leads/{lead.pk}/activities",
        {"kind": "meeting_booked", "occurred_at": "2026-03-01T10:00:00Z", "detail": "Demo"},
    )
    assert response.status_code == 201
    assert client.post(f"/leads/{lead.pk}/activities", {"kind": "tweet"}).status_code == 422
    listed = client.get(f"/leads/{lead.pk}/activities").json()
    assert [(a["kind"], a["detail"]) for a in listed] == [("meeting_booked", "Demo")]
    body = client.get(f"/leads/{lead.pk}").json()
    assert body["engagement_score"] == 40
    assert body["last_activity_at"].startswith("2026-03-01T10:00:00")


def test_duplicates_and_convert(api_as, admin_user, rep_north):
    existing = customer_services.contact_create(
        actor=admin_user,
        data={"first_name": "Ada", "last_name": "Lovelace", "owner": rep_north},
    )
    lead = make_lead(rep_north, company="Engines Ltd")
    client = api_as(rep_north)
    found = client.get(f"/leads/{lead.pk}/duplicates").json()
    assert found["contacts"] == [
        {"id": existing.pk, "name": "Ada Lovelace", "reasons": ["same name"]}
    ]
    assert (
        client.post(
            f"/leads/{lead.pk}/convert", {"version": lead.version, "contact_id": 10**12}
        ).status_code
        == 400
    )
    response = client.post(
        f"/leads/{lead.pk}/convert",
        {
            "version": lead.version,
            "contact_id": existing.pk,
            "opportunity": {"name": "Engines deal", "amount": "99.90", "currency": "usd"},
        },
    )
    assert response.status_code == 200, response.content
    body = response.json()
    assert body["contact_id"] == existing.pk and body["account_id"] is not None
    assert body["lead"]["status"] == "converted"
    assert body["lead"]["converted_opportunity"]["name"] == "Engines deal"
    again = client.post(f"/leads/{lead.pk}/convert", {"version": body["lead"]["version"]})
    assert again.status_code == 400
    patch = client.patch(f"/leads/{lead.pk}", {"version": body["lead"]["version"], "region": "X"})
    assert patch.status_code == 400 and "read-only" in patch.json()["detail"]


def test_bulk_import_reports_rows(api_as, rep_north):
    response = api_as(rep_north).post(
        "/leads/import",
        {
            "rows": [
                {"first_name": "Ann", "email": "ann@example.com", "employees": 12},
                {"first_name": "Bob", "email": "bob@"},
                {"company": "Cee Ltd", "status": "qualified"},
            ]
        },
    )
    assert response.status_code == 200
    body = response.json()
    assert len(body["created"]) == 2
    assert body["errors"][0]["row"] == 2 and body["errors"][0]["reason"].startswith("email:")
    assert set(Lead.objects.values_list("source", flat=True)) == {"import"}


def test_delete_needs_the_permission(api_as, rep_north, manager_north):
    lead = make_lead(rep_north)
    assert api_as(rep_north).delete(f"/leads/{lead.pk}").status_code == 403
    assert api_as(manager_north).delete(f"/leads/{lead.pk}").status_code == 204
    assert not Lead.objects.exists()
