import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext

from patron.customers import services as customer_services
from patron.customers.models import Contact
from patron.leads import services
from patron.leads.models import AssignmentRule, Lead, ScoringRule, WebForm

from .factories import make_lead, make_rule

pytestmark = pytest.mark.django_db


def _client(user):
    client = Client()
    client.force_login(user)
    return client


def test_list_filters_and_sorts(admin_user, rep_north):
    make_rule(field="country", operator="equals", value="FR", points=10)
    make_lead(admin_user, first_name="Low", email="low@example.com", owner=rep_north)
    make_lead(admin_user, first_name="High", email="high@example.com", country="FR")
    page = _client(admin_user).get("/leads/").content.decode()
    assert page.index("High") < page.index("Low")
    filtered = _client(admin_user).get("/leads/", {"owner": rep_north.pk}).content.decode()
    assert "Low" in filtered and "High Lovelace" not in filtered
    partial = _client(admin_user).get("/leads/", {"min_score": 5}, HTTP_HX_REQUEST="true")
    assert b"<html" not in partial.content and b"High" in partial.content
    wild = _client(admin_user).get("/leads/", {"min_score": "1e400", "team": "9" * 20})
    assert wild.status_code == 200 and b"No leads match" in wild.content


def test_detail_shows_score_reasons_prediction_state_and_assignment(admin_user, rep_north):
    make_rule(field="job_title", operator="contains", value="Director", points=20)
    services.assignment_rule_create(
        actor=None, data={"name": "Everyone", "kind": "fallback", "owner": rep_north}
    )
    lead = make_lead(admin_user, job_title="Director of <Ops>")
    page = _client(admin_user).get(f"/leads/{lead.pk}/").content.decode()
    assert "<strong>+20</strong> job title contains &#x27;Director&#x27;" in page
    assert "Director of &lt;Ops&gt;" in page
    assert "Assigned by rule “Everyone”" in page
    assert "Not enough history yet" in page
    assert 'id="convert-button"' in page


def test_create_edit_and_activity(rep_north):
    client = _client(rep_north)
    response = client.post(
        "/leads/new/", {"first_name": "Kim", "email": "bad", "source": "manual", "status": "new"}
    )
    assert response.status_code == 400 and not Lead.objects.exists()
    response = client.post(
        "/leads/new/",
        {"first_name": "Kim", "email": "kim@example.com", "source": "manual", "status": "new"},
    )
    lead = Lead.objects.get()
    assert response.status_code == 302 and lead.owner == rep_north
    response = client.post(
        f"/leads/{lead.pk}/edit/",
        {"first_name": "Kim", "status": "disqualified", "version": lead.version},
    )
    assert response.status_code == 400 and b"Say why" in response.content
    response = client.post(f"/leads/{lead.pk}/activities/", {"kind": "email_opened"})
    assert response.status_code == 302
    assert list(lead.activities.values_list("kind", flat=True)) == ["email_opened"]


def test_csv_upload_reports_each_bad_line_and_keeps_the_rest(rep_north):
    csv_text = (
        "First name,Last name,Email,Company,Employees\n"
        "Ann,Archer,ann@example.com,Acme,12\n"
        "Bob,Baker,bob@,Bakery,3\n"
        "\n"
        "Cy,Cole,cy@example.com,Cole Ltd,lots\n"
        "Di,Dean,di@example.com,,\n"
    )
    upload = SimpleUploadedFile("leads.csv", csv_text.encode(), content_type="text/csv")
    response = _client(rep_north).post("/leads/import/", {"file": upload})
    page = response.content.decode()
    assert response.status_code == 200
    assert "<strong>2</strong> leads imported, <strong>2</strong> lines refused" in page
    assert '<td class="num">3</td><td>email:' in page
    assert '<td class="num">5</td><td>employees: Enter a whole number.</td>' in page
    assert sorted(Lead.objects.values_list("email", flat=True)) == [
        "ann@example.com",
        "di@example.com",
    ]


def test_convert_page_proposes_duplicates_and_converts(admin_user, rep_north):
    existing = customer_services.contact_create(
        actor=admin_user,
        data={"first_name": "Ann", "last_name": "Other", "owner": rep_north},
        emails=[{"email": "ann@example.com"}],
    )
    lead = make_lead(rep_north, first_name="Ann", email="ann@example.com", company="Acme")
    client = _client(rep_north)
    page = client.get(f"/leads/{lead.pk}/convert/").content.decode()
    assert "Use existing" in page and "same email ann@example.com" in page
    response = client.post(
        f"/leads/{lead.pk}/convert/",
        {"contact": str(existing.pk), "account": "new", "version": lead.version},
    )
    assert response.status_code == 302
    assert response["Location"] == f"/contacts/{existing.pk}/"
    lead.refresh_from_db()
    assert lead.converted_contact == existing and lead.converted_account.name == "Acme"
    detail = client.get(f"/leads/{lead.pk}/").content.decode()
    assert 'id="converted-banner"' in detail and 'id="convert-button"' not in detail
    assert client.get(f"/leads/{lead.pk}/edit/").status_code == 302


def test_rules_page_for_managers_only(manager_north, rep_north, marketer):
    assert _client(rep_north).get("/leads/rules/").status_code == 403
    assert _client(marketer).get("/leads/rules/").status_code == 200
    response = _client(marketer).post(
        "/leads/rules/scoring/new/",
        {"kind": "fit", "field": "country", "operator": "exists", "points": 5, "order": 0},
    )
    assert response.status_code == 403 and not ScoringRule.objects.exists()
    client = _client(manager_north)
    response = client.post(
        "/leads/rules/scoring/new/",
        {
            "kind": "fit",
            "field": "country",
            "operator": "exists",
            "points": 5,
            "order": 0,
            "is_active": "on",
        },
    )
    assert response.status_code == 302 and ScoringRule.objects.get().points == 5
    response = client.post(
        "/leads/rules/assignment/new/",
        {"name": "RR", "kind": "round_robin", "priority": 1, "is_active": "on"},
    )
    assert response.status_code == 400 and b"rotates within a team" in response.content
    response = client.post(
        "/leads/rules/assignment/new/",
        {
            "name": "RR",
            "kind": "round_robin",
            "priority": 1,
            "is_active": "on",
            "team": manager_north.team_id,
        },
    )
    assert response.status_code == 302 and AssignmentRule.objects.get().name == "RR"
    WebForm.objects.create(name="Demo", slug="demo")
    page = client.get("/leads/rules/").content.decode()
    assert "/leads/capture/demo/" in page and "&lt;form" in page
    response = client.post("/leads/rules/model/train/", follow=True)
    assert b"Not enough history yet" in response.content


def test_nav_link_for_lead_viewers(rep_north):
    page = _client(rep_north).get("/leads/").content.decode()
    assert 'href="/leads/"' in page


def test_convert_refused_by_role_is_explained_and_writes_nothing(marketer):
    lead = make_lead(marketer, first_name="Mo", email="mo@example.com", company="Mo Ltd")
    response = _client(marketer).post(
        f"/leads/{lead.pk}/convert/", {"contact": "new", "account": "new", "version": lead.version}
    )
    assert response.status_code == 400
    assert b"does not allow account add" in response.content
    lead.refresh_from_db()
    assert lead.status == "new"
    assert not Contact.objects.exists()


def test_web_form_admin_shows_the_snippet(admin_user):
    admin_user.is_staff = True
    admin_user.is_superuser = True
    admin_user.save()
    form = WebForm.objects.create(name="Demo", slug="demo", allowed_fields=["email", "phone"])
    page = _client(admin_user).get(f"/admin/leads/webform/{form.pk}/change/").content.decode()
    assert "http://testserver/leads/capture/demo/" in page
    assert "&lt;input type=&quot;tel&quot; name=&quot;phone&quot;&gt;" in page


def test_list_page_query_count_does_not_grow(admin_user, rep_north):
    for i in range(3):
        make_lead(admin_user, email=f"a{i}@example.com", owner=rep_north)
    client = _client(admin_user)
    client.get("/leads/")
    with CaptureQueriesContext(connection) as few:
        client.get("/leads/")
    for i in range(10):
        make_lead(admin_user, email=f"b{i}@example.com", owner=rep_north)
    with CaptureQueriesContext(connection) as many:
        client.get("/leads/")
    assert len(many) == len(few)
