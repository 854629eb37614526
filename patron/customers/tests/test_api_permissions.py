"""Nothing leaks through the API: a rep of another team sees none of a record, anywhere."""

import pytest

from patron.core.models import AuditEvent
from patron.customers import services
from patron.customers.models import Contact, EmailAddress, TimelineEntry

pytestmark = pytest.mark.django_db

NOT_FOUND = {"detail": "Not found", "errors": []}


@pytest.fixture
def north(admin_user, rep_north):
    """A contact and an account of rep_north, linked, with contact points and timeline."""
    account = services.account_create(
        actor=admin_user,
        data={"name": "Northwind Secret", "owner": rep_north},
        emails=[{"email": "hq@northwind.example"}],
        phones=[{"number": "020 7946 0100"}],
        addresses=[{"city": "York"}],
    )
    contact = services.contact_create(
        actor=admin_user,
        data={"first_name": "Nora", "last_name": "Secret", "owner": rep_north},
        emails=[{"email": "nora@northwind.example"}],
        phones=[{"number": "020 7946 0101"}],
        addresses=[{"city": "York"}],
    )
    relationship = services.relationship_add(
        actor=admin_user, contact=contact, account=account, data={"role": "CFO"}
    )
    note = services.timeline_entry_create(
        actor=admin_user, kind="note", contact=contact, body="north secret note"
    )
    task = services.timeline_entry_create(
        actor=admin_user,
        kind="task",
        account=account,
        subject="north secret task",
        assignee=rep_north,
    )
    return {
        "contact": contact,
        "account": account,
        "relationship": relationship,
        "note": note,
        "task": task,
        "email": contact.emailaddresss.get(),
        "phone": contact.phonenumbers.get(),
        "address": contact.postaladdresss.get(),
        "account_email": account.emailaddresss.get(),
    }


@pytest.fixture
def south(admin_user, rep_south):
    account = services.account_create(
        actor=admin_user, data={"name": "Southwind", "owner": rep_south}
    )
    contact = services.contact_create(
        actor=admin_user, data={"first_name": "Sam", "last_name": "South", "owner": rep_south}
    )
    return {"account": account, "contact": contact}


def everything_about(records):
    c, a = records["contact"].pk, records["account"].pk
    return [
        f"/contacts/{c}",
        f"/contacts/{c}/emails",
        f"/contacts/{c}/phones",
        f"/contacts/{c}/addresses",
        f"/contacts/{c}/relationships",
        f"/contacts/{c}/timeline",
        f"/contacts/{c}/history",
        f"/accounts/{a}",
        f"/accounts/{a}/emails",
        f"/accounts/{a}/phones",
        f"/accounts/{a}/addresses",
        f"/accounts/{a}/contacts",
        f"/accounts/{a}/timeline",
        f"/accounts/{a}/history",
    ]


@pytest.mark.parametrize("visibility", ["private", "team"])
def test_other_team_sees_nothing(api_as, rep_south, north, south, set_visibility, visibility):
    set_visibility(visibility)
    api = api_as(rep_south)
    for path in everything_about(north):
        response = api.get(path)
        assert (path, response.status_code, response.json()) == (path, 404, NOT_FOUND)

    contacts = api.get("/contacts").json()["results"]
    assert [c["full_name"] for c in contacts] == ["Sam South"]
    assert [a["name"] for a in api.get("/accounts").json()["results"]] == ["Southwind"]
    assert api.get("/contacts", {"q": "secret"}).json()["results"] == []
    assert api.get("/contacts", {"account": north["account"].pk}).json()["results"] == []
    assert api.get("/search", {"q": "secret"}).json() == {"contacts": [], "accounts": []}
    assert api.get("/search", {"q": "020 7946 0101"}).json() == {"contacts": [], "accounts": []}
    assert api.get("/tasks").json() == {"results": []}

    text = str([api.get(p).content for p in ("/contacts", "/accounts", "/tasks")])
    assert "Secret" not in text and "northwind" not in text.lower()


@pytest.mark.parametrize("visibility", ["private", "team"])
def test_other_team_cannot_write_through_ids(
    api_as, rep_south, north, south, set_visibility, visibility
):
    set_visibility(visibility)
    api = api_as(rep_south)
    c, a = north["contact"].pk, north["account"].pk
    events = AuditEvent.objects.count()
    attempts = [
        api.patch(f"/contacts/{c}", {"version": 1, "job_title": "Hacked"}),
        api.delete(f"/contacts/{c}"),
        api.patch(f"/accounts/{a}", {"version": 1, "name": "Hacked"}),
        api.delete(f"/accounts/{a}"),
        api.post(f"/contacts/{c}/emails", {"email": "spy@example.com"}),
        api.post(f"/accounts/{a}/phones", {"number": "020 7946 0999"}),
        api.patch(f"/emails/{north['email'].pk}", {"version": 1, "email": "spy@example.com"}),
        api.delete(f"/phones/{north['phone'].pk}"),
        api.delete(f"/addresses/{north['address'].pk}"),
        api.delete(f"/emails/{north['account_email'].pk}"),
        api.post(f"/contacts/{c}/relationships", {"account_id": south["account"].pk}),
        api.patch(f"/relationships/{north['relationship'].pk}", {"version": 1, "role": "X"}),
        api.delete(f"/relationships/{north['relationship'].pk}"),
        api.post(f"/contacts/{c}/timeline", {"kind": "note", "body": "spy"}),
        api.post(f"/accounts/{a}/timeline", {"kind": "note", "body": "spy"}),
        api.patch(f"/timeline/{north['note'].pk}", {"version": 1, "body": "spy"}),
        api.delete(f"/timeline/{north['note'].pk}"),
        api.post(f"/timeline/{north['task'].pk}/done"),
    ]
    assert [r.status_code for r in attempts] == [404] * len(attempts)
    assert all(r.json() == NOT_FOUND for r in attempts)
    # Linking one's own contact to an invisible account names the field, without saying more.
    response = api.post(f"/contacts/{south['contact'].pk}/relationships", {"account_id": a})
    assert response.json()["errors"] == [
        {"field": "account_id", "message": f"There is no account with id {a}."}
    ]
    # A parent_id pointing at an invisible account is refused the same way.
    response = api.patch(f"/accounts/{south['account'].pk}", {"version": 1, "parent_id": a})
    assert response.json()["errors"][0]["field"] == "parent_id"
    assert AuditEvent.objects.count() == events
    assert Contact.objects.get(pk=c).job_title == ""
    assert EmailAddress.objects.filter(email="spy@example.com").count() == 0
    assert TimelineEntry.objects.get(pk=north["task"].pk).completed_at is None


def test_same_team_under_team_visibility_sees_it_under_private_not(
    api_as, rep_north_2, north, set_visibility
):
    api = api_as(rep_north_2)
    set_visibility("team")
    for path in everything_about(north):
        assert api.get(path).status_code == 200, path
    set_visibility("private")
    for path in everything_about(north):
        assert api.get(path).status_code == 404, path


def test_account_members_and_timeline_hide_invisible_people(
    api_as, admin_user, rep_south, north, south, set_visibility
):
    """rep_south sees their own account, but not the north contact who works there."""
    set_visibility("private")
    services.relationship_add(
        actor=admin_user,
        contact=north["contact"],
        account=south["account"],
        data={"role": "Advisor"},
    )
    services.relationship_add(
        actor=admin_user, contact=south["contact"], account=south["account"], data={"role": "Buyer"}
    )
    api = api_as(rep_south)
    members = api.get(f"/accounts/{south['account'].pk}/contacts").json()["results"]
    assert [m["contact"]["name"] for m in members] == ["Sam South"]
    timeline = api.get(f"/accounts/{south['account'].pk}/timeline").json()["results"]
    assert timeline == []
    history = api.get(f"/accounts/{south['account'].pk}/history").json()["results"]
    assert all("Nora" not in str(e) and "secret" not in str(e).lower() for e in history)


def test_manager_sees_team_records_under_private(api_as, manager_north, north, set_visibility):
    set_visibility("private")
    api = api_as(manager_north)
    assert api.get(f"/contacts/{north['contact'].pk}").status_code == 200
    assert [c["full_name"] for c in api.get("/contacts").json()["results"]] == ["Nora Secret"]
