"""The lead configuration in the JSON API: scoring rules, assignment rules and web forms,
through the same services as the Scoring & routing page."""

import pytest

from patron.core.models import AuditEvent
from patron.leads.models import AssignmentRule, ScoringRule, WebForm

from .factories import make_lead, make_rule

pytestmark = pytest.mark.django_db

SCORING = {"kind": "fit", "field": "country", "operator": "equals", "value": "FR", "points": 9}


def _fields(response) -> list[str | None]:
    return [e["field"] for e in response.json()["errors"]]


# --- scoring rules -------------------------------------------------------------------------


def test_scoring_rule_crud(api_as, manager_north):
    client = api_as(manager_north)
    created = client.post("/leads/scoring-rules", {**SCORING, "name": " France "})
    assert created.status_code == 201, created.content
    body = created.json()
    assert body["name"] == "France" and body["version"] == 1 and body["is_active"] is True
    assert body["reason"] == "country equals 'FR'"
    rule_id = body["id"]
    assert AuditEvent.objects.filter(action="create", object_id=str(rule_id)).exists()

    listed = client.get("/leads/scoring-rules")
    assert listed.status_code == 200
    assert [r["id"] for r in listed.json()] == [rule_id]
    assert client.get(f"/leads/scoring-rules/{rule_id}").json()["points"] == 9

    changed = client.patch(f"/leads/scoring-rules/{rule_id}", {"version": 1, "points": 4})
    assert changed.status_code == 200, changed.content
    assert changed.json()["points"] == 4 and changed.json()["version"] == 2
    stale = client.patch(f"/leads/scoring-rules/{rule_id}", {"version": 1, "points": 5})
    assert stale.status_code == 409
    assert stale.json()["current_version"] == 2

    assert client.delete(f"/leads/scoring-rules/{rule_id}").status_code == 204
    assert not ScoringRule.objects.exists()
    assert client.get(f"/leads/scoring-rules/{rule_id}").status_code == 404


def test_rule_created_through_the_api_scores_leads(
    api_as, manager_north, admin_user, django_capture_on_commit_callbacks
):
    lead = make_lead(admin_user, country="FR", job_title="Director of IT")
    assert lead.score == 0
    client = api_as(manager_north)
    with django_capture_on_commit_callbacks(execute=True):
        created = client.post("/leads/scoring-rules", SCORING)
    assert created.status_code == 201, created.content
    lead.refresh_from_db()
    assert lead.score == 9
    assert lead.score_breakdown[0]["reason"] == "country equals 'FR'"
    rule_id = created.json()["id"]
    with django_capture_on_commit_callbacks(execute=True):
        client.patch(f"/leads/scoring-rules/{rule_id}", {"version": 1, "points": 25})
    lead.refresh_from_db()
    assert lead.score == 25
    with django_capture_on_commit_callbacks(execute=True):
        client.delete(f"/leads/scoring-rules/{rule_id}")
    lead.refresh_from_db()
    assert lead.score == 0


@pytest.mark.parametrize(
    ("payload", "status", "field"),
    [
        ({**SCORING, "operator": "like"}, 422, "operator"),
        ({**SCORING, "kind": "both"}, 422, "kind"),
        ({**SCORING, "field": "password"}, 422, "field"),
        ({k: v for k, v in SCORING.items() if k != "points"}, 422, "points"),
        ({k: v for k, v in SCORING.items() if k != "operator"}, 422, "operator"),
        ({**SCORING, "points": 5000}, 422, "points"),
        ({**SCORING, "value": "x" * 301}, 422, "value"),
        ({**SCORING, "order": -1}, 422, "order"),
        ({**SCORING, "surprise": 1}, 422, "surprise"),
        ({**SCORING, "value": ""}, 400, "value"),
        ({**SCORING, "field": "page_visited"}, 400, "field"),
        ({**SCORING, "field": "employees", "operator": "gt", "value": "many"}, 400, "value"),
        ({**SCORING, "field": "employees", "operator": "gt", "value": "NaN"}, 400, "value"),
        ({**SCORING, "field": "employees", "operator": "gt", "value": "-Infinity"}, 400, "value"),
        ({**SCORING, "field": "employees", "value": "sNaN"}, 400, "value"),
    ],
)
def test_scoring_rule_validation_is_4xx(api_as, manager_north, payload, status, field):
    response = api_as(manager_north).post("/leads/scoring-rules", payload)
    assert response.status_code == status, response.content
    assert field in _fields(response)
    assert response.json()["detail"]
    assert not ScoringRule.objects.exists()


def test_scoring_rule_patch_refuses_null_and_bad_values(api_as, manager_north):
    rule = make_rule()
    client = api_as(manager_north)
    url = f"/leads/scoring-rules/{rule.pk}"
    assert "points" in _fields(client.patch(url, {"version": 1, "points": None}))
    response = client.patch(url, {"version": 1, "kind": "engagement"})
    assert response.status_code == 400 and "field" in _fields(response)
    assert client.patch(url, {"points": 3}).status_code == 422  # no version
    rule.refresh_from_db()
    assert rule.version == 1 and rule.kind == "fit"


def test_unknown_ids_are_404(api_as, manager_north):
    client = api_as(manager_north)
    for path in ("scoring-rules", "assignment-rules", "web-forms"):
        assert client.get(f"/leads/{path}/999999").status_code == 404
        assert client.delete(f"/leads/{path}/999999").status_code == 404
        assert client.get(f"/leads/{path}/{2**70}").status_code in (400, 404, 422)
        assert client.get(f"/leads/{path}/nope").status_code == 422


# --- permissions ---------------------------------------------------------------------------


def test_sales_rep_may_neither_read_nor_write(api_as, rep_north):
    rule = make_rule()
    client = api_as(rep_north)
    response = client.post("/leads/scoring-rules", SCORING)
    assert response.status_code == 403
    assert "leadrule" in response.json()["detail"]
    assert client.get("/leads/scoring-rules").status_code == 403
    assert client.get(f"/leads/scoring-rules/{rule.pk}").status_code == 403
    assert client.post("/leads/web-forms", {"name": "X", "slug": "x"}).status_code == 403
    assert (
        client.post(
            "/leads/assignment-rules", {"name": "X", "kind": "fallback", "owner_id": rep_north.pk}
        ).status_code
        == 403
    )
    assert ScoringRule.objects.count() == 1
    assert not WebForm.objects.exists() and not AssignmentRule.objects.exists()


def test_marketer_reads_but_does_not_write(api_as, marketer, web_form):
    rule = make_rule()
    client = api_as(marketer)
    assert client.get("/leads/scoring-rules").status_code == 200
    assert client.get(f"/leads/scoring-rules/{rule.pk}").status_code == 200
    assert client.get("/leads/assignment-rules").status_code == 200
    assert client.get(f"/leads/web-forms/{web_form.pk}").status_code == 200
    assert client.post("/leads/scoring-rules", SCORING).status_code == 403
    url = f"/leads/scoring-rules/{rule.pk}"
    assert client.patch(url, {"version": 1, "points": 1}).status_code == 403
    assert client.delete(url).status_code == 403
    assert client.patch(f"/leads/web-forms/{web_form.pk}", {"name": "Y"}).status_code == 403
    assert client.delete(f"/leads/web-forms/{web_form.pk}").status_code == 403
    assert ScoringRule.objects.get().points == 10
    assert WebForm.objects.get().name == "Contact us"


def test_anonymous_is_401(api_as):
    assert api_as().get("/leads/scoring-rules").status_code == 401


# --- assignment rules ----------------------------------------------------------------------


def test_assignment_rule_crud_and_routing(api_as, manager_north, rep_north, team_north):
    client = api_as(manager_north)
    created = client.post(
        "/leads/assignment-rules",
        {"name": "France", "kind": "territory", "countries": "fr, be", "owner_id": rep_north.pk},
    )
    assert created.status_code == 201, created.content
    body = created.json()
    assert body["countries"] == "FR,BE" and body["owner"]["id"] == rep_north.pk
    assert body["condition"] == "country in FR,BE"
    rule_id = body["id"]
    assert [r["id"] for r in client.get("/leads/assignment-rules").json()] == [rule_id]

    lead = make_lead(manager_north, country="BE")
    assert lead.owner == rep_north and lead.assignment_rule_id == rule_id

    changed = client.patch(
        f"/leads/assignment-rules/{rule_id}",
        {"version": 1, "kind": "round_robin", "owner_id": None, "team_id": team_north.pk},
    )
    assert changed.status_code == 200, changed.content
    assert changed.json()["owner"] is None and changed.json()["team"]["id"] == team_north.pk
    assert client.get(f"/leads/assignment-rules/{rule_id}").json()["kind"] == "round_robin"
    assert client.delete(f"/leads/assignment-rules/{rule_id}").status_code == 204
    assert not AssignmentRule.objects.exists()


@pytest.mark.parametrize(
    ("payload", "status", "field"),
    [
        ({"name": "T", "kind": "county", "owner_id": 1}, 422, "kind"),
        ({"kind": "fallback", "owner_id": 1}, 422, "name"),
        ({"name": "T", "kind": "fallback", "priority": -3, "owner_id": 1}, 422, "priority"),
        ({"name": "T", "kind": "size", "min_employees": 10**9, "owner_id": 1}, 422, None),
        ({"name": "T", "kind": "fallback", "owner_id": 999999}, 400, "owner_id"),
        ({"name": "T", "kind": "fallback"}, 400, "owner_id"),
        ({"name": "T", "kind": "round_robin"}, 400, "team_id"),
        ({"name": "T", "kind": "territory", "owner_id": 1}, 400, "countries"),
        ({"name": "T", "kind": "territory", "countries": "France", "owner_id": 1}, 400, None),
        ({"name": "T", "kind": "size", "min_employees": 9, "max_employees": 2}, 400, None),
        ({"name": "", "kind": "fallback", "owner_id": 1}, 400, "name"),
    ],
)
def test_assignment_rule_validation_is_4xx(api_as, manager_north, payload, status, field):
    if payload.get("owner_id") == 1:
        payload = {**payload, "owner_id": manager_north.pk}
    response = api_as(manager_north).post("/leads/assignment-rules", payload)
    assert response.status_code == status, response.content
    if field:
        assert field in _fields(response)
    assert not AssignmentRule.objects.exists()


# --- web forms -----------------------------------------------------------------------------


def test_web_form_crud_with_snippet(api_as, manager_north, rep_north):
    client = api_as(manager_north)
    created = client.post(
        "/leads/web-forms",
        {
            "name": "Demo request",
            "slug": "demo",
            "allowed_fields": ["first_name", "company"],
            "default_owner_id": rep_north.pk,
            "campaign": "Launch",
        },
    )
    assert created.status_code == 201, created.content
    body = created.json()
    assert body["default_owner"]["id"] == rep_north.pk and body["default_team"] is None
    assert body["capture_url"] == "http://testserver/leads/capture/demo/"
    assert 'action="http://testserver/leads/capture/demo/"' in body["embed_snippet"]
    assert 'name="company"' in body["embed_snippet"]
    assert body["form_fields"][:3] == ["email", "first_name", "company"]
    form_id = body["id"]
    assert [f["slug"] for f in client.get("/leads/web-forms").json()] == ["demo"]

    changed = client.patch(f"/leads/web-forms/{form_id}", {"slug": "demo-2", "is_active": False})
    assert changed.status_code == 200, changed.content
    assert changed.json()["slug"] == "demo-2" and changed.json()["is_active"] is False
    assert "/leads/capture/demo-2/" in changed.json()["embed_snippet"]
    assert AuditEvent.objects.filter(action="update", object_id=str(form_id)).exists()
    assert client.get(f"/leads/web-forms/{form_id}").json()["campaign"] == "Launch"
    assert client.delete(f"/leads/web-forms/{form_id}").status_code == 204
    assert not WebForm.objects.exists()


@pytest.mark.parametrize(
    ("payload", "status", "field"),
    [
        ({"slug": "x"}, 422, "name"),
        ({"name": "X"}, 422, "slug"),
        ({"name": "X", "slug": "Bad Slug"}, 422, "slug"),
        ({"name": "X", "slug": "x", "allowed_fields": ["password"]}, 422, None),
        ({"name": "X", "slug": "x", "redirect_url": "not a url"}, 400, "redirect_url"),
        ({"name": "X", "slug": "contact-us"}, 400, "slug"),
        ({"name": "X", "slug": "x", "default_team_id": 999999}, 400, "default_team_id"),
        ({"name": " ", "slug": "x"}, 400, "name"),
    ],
)
def test_web_form_validation_is_4xx(api_as, manager_north, web_form, payload, status, field):
    response = api_as(manager_north).post("/leads/web-forms", payload)
    assert response.status_code == status, response.content
    if field:
        assert field in _fields(response)
    assert WebForm.objects.count() == 1


def test_web_form_patch_refuses_null_name(api_as, manager_north, web_form):
    response = api_as(manager_north).patch(f"/leads/web-forms/{web_form.pk}", {"name": None})
    assert response.status_code == 422 and "name" in _fields(response)
