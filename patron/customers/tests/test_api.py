"""The customers JSON API: round trips, errors, nested resources, lists and pagination."""

import datetime

import pytest
from django.utils import timezone

from patron.core.models import AuditEvent
from patron.core.tests.factories import CustomFieldFactory
from patron.customers import services
from patron.customers.models import (
    Account,
    AccountRelationship,
    Contact,
    EmailAddress,
    PhoneNumber,
    TimelineEntry,
)
from patron.customers.tests.factories import AccountFactory, ContactFactory

pytestmark = pytest.mark.django_db

NOT_FOUND = {"detail": "Not found", "errors": []}


@pytest.fixture
def rep(api_as, rep_north):
    return api_as(rep_north)


@pytest.fixture
def admin(api_as, admin_user):
    return api_as(admin_user)


def create_contact(api, **extra):
    body = {
        "first_name": "Ada",
        "last_name": "Lovelace",
        "job_title": "Analyst",
        "emails": [{"email": "Ada@Example.COM", "kind": "work"}],
        "phones": [{"number": "020 7946 0018", "kind": "work"}],
        **extra,
    }
    response = api.post("/contacts", body)
    assert response.status_code == 201, response.json()
    return response.json()


# --- contacts: round trip ------------------------------------------------------------------------


def test_create_contact_round_trip(rep, rep_north, team_north):
    body = create_contact(
        rep,
        tags=["VIP", "Newsletter"],
        date_of_birth="1815-12-10",
        lifecycle_stage="customer",
        addresses=[{"street": "12 St James's Sq", "city": "London", "country": "gb"}],
    )
    contact = Contact.objects.get()
    email = EmailAddress.objects.get()
    phone = PhoneNumber.objects.get()
    address = contact.postaladdresss.get()
    assert body == {
        "id": contact.pk,
        "version": 1,
        "prefix": "",
        "first_name": "Ada",
        "middle_name": "",
        "last_name": "Lovelace",
        "suffix": "",
        "full_name": "Ada Lovelace",
        "job_title": "Analyst",
        "date_of_birth": "1815-12-10",
        "description": "",
        "lifecycle_stage": "customer",
        "owner": {"id": rep_north.pk, "name": rep_north.display_name},
        "team": {"id": team_north.pk, "name": "North"},
        "tags": ["Newsletter", "VIP"],
        "custom_fields": {},
        "primary_email": "Ada@example.com",
        "primary_phone": "+442079460018",
        "emails": [
            {
                "id": email.pk,
                "version": 1,
                "email": "Ada@example.com",
                "kind": "work",
                "is_primary": True,
                "verified_at": None,
            }
        ],
        "phones": [
            {
                "id": phone.pk,
                "version": 1,
                "number": "020 7946 0018",
                "e164": "+442079460018",
                "extension": "",
                "kind": "work",
                "is_primary": True,
                "verified_at": None,
            }
        ],
        "addresses": [
            {
                "id": address.pk,
                "version": 1,
                "kind": "home",
                "street": "12 St James's Sq",
                "street2": "",
                "city": "London",
                "region": "",
                "postal_code": "",
                "country": "GB",
                "is_primary": True,
                "verified_at": None,
            }
        ],
        "accounts": [],
        "created_at": body["created_at"],
        "updated_at": body["updated_at"],
    }
    assert rep.get(f"/contacts/{contact.pk}").json() == body


def test_patch_contact_changes_fields_and_version(rep, rep_north_2, team_north):
    created = create_contact(rep)
    response = rep.patch(
        f"/contacts/{created['id']}",
        {
            "version": 1,
            "job_title": "Mathematician",
            "owner_id": rep_north_2.pk,
            "tags": ["Pioneer"],
            "date_of_birth": None,
        },
    )
    assert response.status_code == 200, response.json()
    body = response.json()
    assert (body["version"], body["job_title"], body["owner"]["id"], body["tags"]) == (
        2,
        "Mathematician",
        rep_north_2.pk,
        ["Pioneer"],
    )
    contact = Contact.objects.get()
    assert (contact.version, contact.job_title, contact.owner_id) == (
        2,
        "Mathematician",
        rep_north_2.pk,
    )
    event = AuditEvent.objects.get(action="update", object_id=contact.pk)
    assert event.origin == "api"
    assert event.changes == {
        "job_title": ["Analyst", "Mathematician"],
        "owner": [contact.owner_id and created["owner"]["id"], rep_north_2.pk],
        "tags": [[], ["Pioneer"]],
    }


def test_stale_patch_answers_409_and_changes_nothing(rep):
    created = create_contact(rep)
    assert (
        rep.patch(f"/contacts/{created['id']}", {"version": 1, "job_title": "First"}).status_code
        == 200
    )
    response = rep.patch(f"/contacts/{created['id']}", {"version": 1, "job_title": "Second"})
    assert response.status_code == 409
    assert response.json() == {
        "detail": "This record was changed by someone else since you opened it. Reload it to "
        "see the latest version, then make your change again.",
        "errors": [],
        "current_version": 2,
    }
    contact = Contact.objects.get()
    assert (contact.job_title, contact.version) == ("First", 2)
    assert AuditEvent.objects.filter(action="update", object_id=contact.pk).count() == 1


def test_delete_contact_then_404(api_as, manager_north, rep):
    created = create_contact(rep)
    manager = api_as(manager_north)
    response = manager.delete(f"/contacts/{created['id']}")
    assert response.status_code == 204
    assert response.content == b""
    assert not Contact.objects.exists()
    response = manager.get(f"/contacts/{created['id']}")
    assert (response.status_code, response.json()) == (404, NOT_FOUND)


# --- error shapes --------------------------------------------------------------------------------


def test_invalid_values_answer_400_with_field_messages(rep):
    response = rep.post("/contacts", {"first_name": "Ada", "emails": [{"email": "not-an-email"}]})
    assert response.status_code == 400
    body = response.json()
    assert [e["field"] for e in body["errors"]] == ["emails.0.email"]
    assert body["detail"].startswith("The request was not accepted. emails.0.email: ")
    assert not Contact.objects.exists()


def test_unknown_owner_answers_400_naming_the_field(rep):
    response = rep.post("/contacts", {"first_name": "Ada", "owner_id": 999999})
    assert response.status_code == 400
    assert response.json() == {
        "detail": "The request was not accepted. owner_id: There is no user with id 999999.",
        "errors": [{"field": "owner_id", "message": "There is no user with id 999999."}],
    }
    assert not Contact.objects.exists()


def test_model_validation_error_without_a_name_is_400(rep):
    response = rep.post("/contacts", {"job_title": "Nobody"})
    assert response.status_code == 400
    assert response.json()["errors"][0]["field"] is None
    assert not Contact.objects.exists()


def test_unknown_fields_and_bad_types_answer_422(rep):
    response = rep.post("/contacts", {"first_name": "Ada", "shoe_size": 9})
    assert response.status_code == 422
    assert response.json()["errors"] == [
        {"field": "shoe_size", "message": "Extra inputs are not permitted"}
    ]
    response = rep.post("/contacts", {"first_name": "Ada", "emails": [{"email": 5}]})
    assert response.status_code == 422
    assert response.json()["errors"] == [
        {"field": "emails.0.email", "message": "Input should be a valid string"}
    ]
    response = rep.post("/contacts", {"first_name": "Ada", "lifecycle_stage": "king"})
    assert response.status_code == 422
    assert response.json()["errors"][0]["field"] == "lifecycle_stage"
    assert not Contact.objects.exists()


def test_patch_needs_version_and_refuses_null_for_text(rep):
    created = create_contact(rep)
    response = rep.patch(f"/contacts/{created['id']}", {"job_title": "X"})
    assert response.status_code == 422
    assert response.json()["errors"] == [{"field": "version", "message": "Field required"}]
    response = rep.patch(f"/contacts/{created['id']}", {"version": 1, "first_name": None})
    assert response.status_code == 422
    assert response.json()["errors"][0]["field"] == "first_name"
    assert Contact.objects.get().version == 1


def test_malformed_json_answers_400(rep):
    response = rep.client.post("/api/contacts", data="{not json", content_type="application/json")
    assert response.status_code == 400
    assert response.json() == {"detail": "The request body is not valid JSON.", "errors": []}


def test_non_object_json_answers_422(rep):
    response = rep.post("/contacts", ["Ada"])
    assert response.status_code == 422
    assert response.json()["detail"].startswith("The request was not accepted.")


def test_nul_characters_are_refused(rep):
    response = rep.post("/contacts", {"first_name": "A\x00da"})
    assert response.status_code == 422
    assert not Contact.objects.exists()


def test_anonymous_answers_401(api_as):
    response = api_as().get("/contacts")
    assert response.status_code == 401
    assert response.json() == {
        "detail": "Authentication required: send 'Authorization: Bearer <token>' or sign in.",
        "errors": [],
    }


def test_visible_but_not_changeable_answers_403_and_changes_nothing(api_as, rep, readonly_user):
    created = create_contact(rep)
    viewer = api_as(readonly_user)
    assert viewer.get(f"/contacts/{created['id']}").status_code == 200
    response = viewer.patch(f"/contacts/{created['id']}", {"version": 1, "job_title": "X"})
    assert response.status_code == 403
    assert response.json() == {"detail": "You may not change this contact.", "errors": []}
    response = rep.delete(f"/contacts/{created['id']}")  # reps may not delete
    assert response.status_code == 403
    assert response.json() == {"detail": "You may not delete this contact.", "errors": []}
    assert Contact.objects.get().job_title == "Analyst"


def test_bad_path_id_is_not_a_500(rep):
    assert rep.get("/contacts/abc").status_code == 422
    assert rep.get("/contacts/99999999999999999999999").status_code in (404, 422)


# --- contact points ------------------------------------------------------------------------------


def test_email_endpoints(rep):
    created = create_contact(rep)
    cid = created["id"]
    response = rep.post(
        f"/contacts/{cid}/emails",
        {"email": "ada@home.example", "kind": "personal", "is_primary": True},
    )
    assert response.status_code == 201, response.json()
    added = response.json()
    assert {k: added[k] for k in ("email", "kind", "is_primary", "version")} == {
        "email": "ada@home.example",
        "kind": "personal",
        "is_primary": True,
        "version": 1,
    }
    listed = rep.get(f"/contacts/{cid}/emails").json()
    assert [(e["email"], e["is_primary"]) for e in listed] == [
        ("ada@home.example", True),
        ("Ada@example.com", False),
    ]

    response = rep.patch(f"/emails/{added['id']}", {"version": 1, "kind": "other"})
    assert response.status_code == 200
    assert (response.json()["kind"], response.json()["version"]) == ("other", 2)
    response = rep.patch(f"/emails/{added['id']}", {"version": 1, "kind": "work"})
    assert (response.status_code, response.json()["current_version"]) == (409, 2)
    response = rep.patch(f"/emails/{added['id']}", {"version": 2, "email": "nope"})
    assert response.status_code == 400
    assert response.json()["errors"][0]["field"] == "email"
    assert EmailAddress.objects.get(pk=added["id"]).email == "ada@home.example"

    assert rep.delete(f"/emails/{added['id']}").status_code == 204
    assert [(e["email"], e["is_primary"]) for e in rep.get(f"/contacts/{cid}/emails").json()] == [
        ("Ada@example.com", True)
    ]
    assert rep.delete(f"/emails/{added['id']}").status_code == 404


def test_phone_and_address_endpoints_on_accounts(rep):
    account = rep.post("/accounts", {"name": "Analytical Engines Ltd"}).json()
    aid = account["id"]
    response = rep.post(f"/accounts/{aid}/phones", {"number": "+1 (415) 555-2671", "kind": "work"})
    assert response.status_code == 201
    phone = response.json()
    assert (phone["e164"], phone["is_primary"]) == ("+14155552671", True)
    response = rep.patch(f"/phones/{phone['id']}", {"version": 1, "number": "020 7946 0018"})
    assert response.json()["e164"] == "+442079460018"
    response = rep.post(
        f"/accounts/{aid}/addresses", {"city": "Leeds", "country": "gb", "kind": "billing"}
    )
    assert response.status_code == 201
    assert rep.get(f"/accounts/{aid}/addresses").json()[0]["country"] == "GB"
    detail = rep.get(f"/accounts/{aid}").json()
    assert detail["primary_phone"] == "+442079460018"
    assert [a["city"] for a in detail["addresses"]] == ["Leeds"]
    assert rep.post(f"/accounts/{aid}/phones", {"number": "12"}).status_code == 400
    assert PhoneNumber.objects.count() == 1


# --- accounts and relationships ------------------------------------------------------------------


def test_account_round_trip(rep, rep_north):
    parent = rep.post("/accounts", {"name": "Holding plc"}).json()
    response = rep.post(
        "/accounts",
        {
            "name": "Engines Ltd",
            "domain": "engines.example",
            "industry": "Machinery",
            "employee_count": 12,
            "annual_revenue": "1000.50",
            "parent_id": parent["id"],
            "tags": ["Key"],
            "emails": [{"email": "hello@engines.example"}],
        },
    )
    assert response.status_code == 201, response.json()
    body = response.json()
    assert {
        k: body[k]
        for k in (
            "name",
            "domain",
            "industry",
            "employee_count",
            "annual_revenue",
            "parent",
            "tags",
            "primary_email",
            "version",
        )
    } == {
        "name": "Engines Ltd",
        "domain": "engines.example",
        "industry": "Machinery",
        "employee_count": 12,
        "annual_revenue": "1000.50",
        "parent": {"id": parent["id"], "name": "Holding plc"},
        "tags": ["Key"],
        "primary_email": "hello@engines.example",
        "version": 1,
    }
    assert body["owner"]["id"] == rep_north.pk
    response = rep.patch(f"/accounts/{body['id']}", {"version": 1, "parent_id": body["id"]})
    assert response.status_code == 400
    assert response.json()["errors"] == [
        {"field": "parent_id", "message": "An account cannot be its own parent."}
    ]
    response = rep.patch(f"/accounts/{body['id']}", {"version": 1, "industry": "Computing"})
    assert (response.json()["industry"], response.json()["version"]) == ("Computing", 2)
    assert rep.get(f"/accounts/{body['id']}").json()["industry"] == "Computing"


def test_relationship_endpoints(rep, api_as, manager_north):
    contact = create_contact(rep)
    account = rep.post("/accounts", {"name": "Engines Ltd"}).json()
    response = rep.post(
        f"/contacts/{contact['id']}/relationships",
        {"account_id": account["id"], "role": "CFO", "started_on": "2020-01-01"},
    )
    assert response.status_code == 201, response.json()
    rel = response.json()
    assert rel == {
        "id": rel["id"],
        "version": 1,
        "account": {"id": account["id"], "name": "Engines Ltd"},
        "role": "CFO",
        "is_primary": True,
        "started_on": "2020-01-01",
        "ended_on": None,
    }
    assert rep.get(f"/contacts/{contact['id']}/relationships").json() == [rel]
    assert rep.get(f"/contacts/{contact['id']}").json()["accounts"] == [rel]
    members = rep.get(f"/accounts/{account['id']}/contacts").json()
    assert members == {
        "results": [
            {
                "id": rel["id"],
                "version": 1,
                "contact": {"id": contact["id"], "name": "Ada Lovelace"},
                "role": "CFO",
                "is_primary": True,
                "started_on": "2020-01-01",
                "ended_on": None,
            }
        ],
        "next_cursor": None,
        "previous_cursor": None,
    }
    response = rep.post(f"/contacts/{contact['id']}/relationships", {"account_id": 424242})
    assert response.json()["errors"] == [
        {"field": "account_id", "message": "There is no account with id 424242."}
    ]
    response = rep.patch(
        f"/relationships/{rel['id']}", {"version": 1, "role": "CEO", "ended_on": "2024-05-01"}
    )
    assert (response.json()["role"], response.json()["ended_on"]) == ("CEO", "2024-05-01")
    assert rep.patch(f"/relationships/{rel['id']}", {"version": 1}).status_code == 409
    assert rep.delete(f"/relationships/{rel['id']}").status_code == 204
    assert not AccountRelationship.objects.exists()


# --- timeline ------------------------------------------------------------------------------------


def test_timeline_endpoints(rep, rep_north):
    contact = create_contact(rep)
    cid = contact["id"]
    when = "2026-01-02T10:00:00Z"
    response = rep.post(
        f"/contacts/{cid}/timeline",
        {
            "kind": "call",
            "subject": "Intro",
            "occurred_at": when,
            "data": {"direction": "inbound", "duration_seconds": 60},
        },
    )
    assert response.status_code == 201, response.json()
    call = response.json()
    assert {
        k: call[k] for k in ("kind", "subject", "data", "author", "contact", "is_done", "version")
    } == {
        "kind": "call",
        "subject": "Intro",
        "data": {"direction": "inbound", "duration_seconds": 60, "outcome": "connected"},
        "author": {"id": rep_north.pk, "name": rep_north.display_name},
        "contact": {"id": cid, "name": "Ada Lovelace"},
        "is_done": False,
        "version": 1,
    }
    task = rep.post(
        f"/contacts/{cid}/timeline",
        {"kind": "task", "subject": "Send deck", "due_at": "2026-02-01T09:00:00Z"},
    ).json()
    assert task["assignee"]["id"] == rep_north.pk

    listed = rep.get(f"/contacts/{cid}/timeline").json()
    assert [e["kind"] for e in listed["results"]] == ["task", "call"]
    only_calls = rep.get(f"/contacts/{cid}/timeline", {"kind": ["call", "meeting"]}).json()
    assert [e["id"] for e in only_calls["results"]] == [call["id"]]

    bad = rep.post(f"/contacts/{cid}/timeline", {"kind": "call", "data": {"mood": "great"}})
    assert bad.status_code == 400
    assert bad.json()["errors"][0]["field"] == "data.mood"
    assert rep.post(f"/contacts/{cid}/timeline", {"kind": "spaceship"}).status_code == 400

    assert [t["id"] for t in rep.get("/tasks").json()["results"]] == [task["id"]]
    done = rep.post(f"/timeline/{task['id']}/done")
    assert (done.status_code, done.json()["is_done"]) == (200, True)
    assert rep.get("/tasks").json() == {"results": []}
    assert rep.post(f"/timeline/{task['id']}/reopen").json()["is_done"] is False
    assert rep.post(f"/timeline/{call['id']}/done").status_code == 400

    response = rep.patch(f"/timeline/{call['id']}", {"version": 1, "subject": "Intro call"})
    assert (response.json()["subject"], response.json()["version"]) == ("Intro call", 2)
    assert rep.patch(f"/timeline/{call['id']}", {"version": 1, "subject": "x"}).status_code == 409
    assert rep.delete(f"/timeline/{call['id']}").status_code == 204
    assert list(TimelineEntry.objects.values_list("kind", flat=True)) == ["task"]


def test_account_timeline_includes_its_people(rep):
    contact = create_contact(rep)
    account = rep.post("/accounts", {"name": "Engines Ltd"}).json()
    rep.post(f"/contacts/{contact['id']}/relationships", {"account_id": account["id"]})
    rep.post(
        f"/contacts/{contact['id']}/timeline",
        {"kind": "note", "body": "on the person", "occurred_at": "2026-01-01T00:00:00Z"},
    )
    rep.post(
        f"/accounts/{account['id']}/timeline",
        {"kind": "note", "body": "on the firm", "occurred_at": "2026-01-02T00:00:00Z"},
    )
    results = rep.get(f"/accounts/{account['id']}/timeline").json()["results"]
    assert [e["body"] for e in results] == ["on the firm", "on the person"]


def test_timeline_pagination_walks_every_entry_once(rep, rep_north):
    contact = ContactFactory(owner=rep_north, team=rep_north.team)
    same_time = timezone.now()
    for i in range(7):
        services.timeline_entry_create(
            actor=rep_north,
            kind="note",
            contact=contact,
            body=f"n{i}",
            occurred_at=same_time if i < 4 else None,
        )
    seen, cursor = [], None
    while True:
        page = rep.get(
            f"/contacts/{contact.pk}/timeline",
            {"limit": 3, **({"cursor": cursor} if cursor else {})},
        ).json()
        seen += [e["id"] for e in page["results"]]
        cursor = page["next_cursor"]
        if not cursor:
            break
    expected = list(
        TimelineEntry.objects.order_by("-occurred_at", "-id").values_list("id", flat=True)
    )
    assert seen == expected


def test_timeline_kinds(rep):
    kinds = rep.get("/timeline-kinds").json()
    assert [k["key"] for k in kinds][:5] == ["note", "call", "meeting", "email", "task"]
    call = next(k for k in kinds if k["key"] == "call")
    assert call["data_schema"]["properties"]["direction"]["enum"] == ["inbound", "outbound"]


# --- search and history --------------------------------------------------------------------------


def test_search_finds_contacts_and_accounts(rep):
    create_contact(rep)
    rep.post("/accounts", {"name": "Lovelace Engines"})
    body = rep.get("/search", {"q": "lovelace"}).json()
    assert [c["full_name"] for c in body["contacts"]] == ["Ada Lovelace"]
    assert body["contacts"][0]["primary_email"] == "Ada@example.com"
    assert [a["name"] for a in body["accounts"]] == ["Lovelace Engines"]
    assert (
        rep.get("/search", {"q": "7946 0018"}).json()["contacts"][0]["full_name"] == "Ada Lovelace"
    )
    assert rep.get("/search").status_code == 422


def test_history(rep, rep_north):
    created = create_contact(rep)
    rep.patch(f"/contacts/{created['id']}", {"version": 1, "job_title": "Countess"})
    body = rep.get(f"/contacts/{created['id']}/history").json()
    events = body["results"]
    assert [(e["action"], e["object_type"]) for e in events][:1] == [("update", "contact")]
    assert {(e["action"], e["object_type"]) for e in events} == {
        ("update", "contact"),
        ("create", "contact"),
        ("create", "emailaddress"),
        ("create", "phonenumber"),
    }
    latest = events[0]
    assert latest["actor"] == {"id": rep_north.pk, "name": rep_north.display_name}
    assert latest["changes"] == {"job_title": ["Analyst", "Countess"]}
    assert latest["origin"] == "api"
    assert latest["request_id"]
    assert set(latest) == {
        "id",
        "action",
        "actor",
        "actor_label",
        "time",
        "request_id",
        "origin",
        "object_type",
        "object_id",
        "object_repr",
        "changes",
    }


def test_request_id_header_is_recorded(rep):
    response = rep.client.post(
        "/api/contacts",
        data={"first_name": "Ada"},
        content_type="application/json",
        headers={"X-Request-ID": "req-12345678"},
    )
    assert response["X-Request-ID"] == "req-12345678"
    assert AuditEvent.objects.get().request_id == "req-12345678"


# --- lists: filters, ordering, custom fields ----------------------------------------------------


def names(response):
    assert response.status_code == 200, response.json()
    return [c["full_name"] for c in response.json()["results"]]


def test_list_filters(rep, rep_north, rep_north_2):
    services.contact_create(
        actor=rep_north,
        data={"first_name": "Ann", "last_name": "A", "lifecycle_stage": "customer"},
        tags=["VIP"],
    )
    services.contact_create(actor=rep_north_2, data={"first_name": "Bob", "last_name": "B"})
    services.contact_create(
        actor=rep_north, data={"first_name": "Cy", "last_name": "C", "lifecycle_stage": "mql"}
    )
    assert names(rep.get("/contacts")) == ["Ann A", "Bob B", "Cy C"]
    assert names(rep.get("/contacts", {"owner": "me"})) == ["Ann A", "Cy C"]
    assert names(rep.get("/contacts", {"lifecycle_stage": ["customer", "lead"]})) == [
        "Ann A",
        "Bob B",
    ]
    assert names(rep.get("/contacts", {"tag": "vip"})) == ["Ann A"]
    assert names(rep.get("/contacts", {"q": "bob"})) == ["Bob B"]
    assert names(rep.get("/contacts", {"ordering": "-name"})) == ["Cy C", "Bob B", "Ann A"]
    row = rep.get("/contacts", {"tag": "vip"}).json()["results"][0]
    assert set(row) == {
        "id",
        "version",
        "first_name",
        "last_name",
        "full_name",
        "job_title",
        "lifecycle_stage",
        "owner",
        "team",
        "tags",
        "primary_email",
        "primary_phone",
        "accounts",
        "custom_fields",
        "created_at",
        "updated_at",
    }


def test_list_parameter_errors(rep):
    response = rep.get("/contacts", {"team": "north"})
    assert response.status_code == 400
    assert response.json()["errors"] == [{"field": "team", "message": "Enter a number."}]
    response = rep.get("/contacts", {"owner": "someone"})
    assert response.json()["errors"] == [
        {"field": "owner", "message": "Use a user id, 'me' or 'none'."}
    ]
    response = rep.get("/contacts", {"colour": "red"})
    assert (response.status_code, response.json()["errors"]) == (
        400,
        [{"field": "colour", "message": "Unknown parameter."}],
    )
    response = rep.get("/contacts", {"ordering": "shoe_size"})
    assert response.status_code == 422
    assert response.json()["errors"][0]["field"] == "ordering"
    assert rep.get("/contacts", {"limit": 0}).status_code == 422
    assert rep.get("/contacts", {"limit": 201}).status_code == 422
    response = rep.get("/contacts", {"cursor": "garbage!"})
    assert response.json() == {
        "detail": "The request was not accepted. cursor: This cursor is not valid; start from "
        "the first page.",
        "errors": [
            {"field": "cursor", "message": "This cursor is not valid; start from the first page."}
        ],
    }
    assert rep.get("/contacts", {"created_after": "yesterday"}).status_code == 400


def test_custom_field_filter(rep, rep_north):
    CustomFieldFactory(object_type="contact", name="seats", field_type="number")
    CustomFieldFactory(
        object_type="account", name="region", field_type="choice", choices=["north", "south"]
    )
    created = create_contact(rep, custom_fields={"seats": "12"})
    assert created["custom_fields"] == {"seats": 12}
    create_contact(rep, first_name="Bea", custom_fields={"seats": 3})
    assert names(rep.get("/contacts", {"cf_seats": "12"})) == ["Ada Lovelace"]
    response = rep.get("/contacts", {"cf_seats": "many"})
    assert response.status_code == 400
    assert response.json()["errors"] == [{"field": "cf_seats", "message": "Enter a number."}]
    response = rep.post("/contacts", {"first_name": "X", "custom_fields": {"seats": "lots"}})
    assert response.json()["errors"] == [
        {"field": "custom_fields.seats", "message": "Enter a number."}
    ]
    services.account_create(
        actor=rep_north, data={"name": "Northwind", "custom_fields": {"region": "north"}}
    )
    services.account_create(actor=rep_north, data={"name": "Southwind"})
    response = rep.get("/accounts", {"cf_region": "north"})
    assert [a["name"] for a in response.json()["results"]] == ["Northwind"]
    response = rep.get("/accounts", {"cf_region": "east"})
    assert response.status_code == 400
    assert response.json()["errors"][0]["field"] == "cf_region"


# --- pagination and query counts -----------------------------------------------------------------


def walk(api, path, ordering, limit=4):
    seen, cursor = [], None
    while True:
        params = {"ordering": ordering, "limit": limit}
        if cursor:
            params["cursor"] = cursor
        page = api.get(path, params).json()
        seen += [row["id"] for row in page["results"]]
        cursor = page["next_cursor"]
        if not cursor:
            return seen, page


@pytest.fixture
def many_contacts(admin_user):
    base = timezone.now() - datetime.timedelta(days=1)
    stages = ["lead", "customer", "mql"]
    for i in range(23):
        # Ties on every ordering field except the primary key.
        ContactFactory(
            first_name=["Ann", "Bob"][i % 2],
            last_name=["Smith", "Jones", "Ng"][i % 3],
            lifecycle_stage=stages[i % 3],
            created_at=base + datetime.timedelta(hours=i % 4),
            updated_at=base + datetime.timedelta(minutes=i % 5),
        )


@pytest.mark.parametrize(
    "ordering",
    [
        "name",
        "-name",
        "first_name",
        "-first_name",
        "stage",
        "-stage",
        "created",
        "-created",
        "updated",
        "-updated",
    ],
)
def test_contact_cursor_walks_every_row_once(admin, many_contacts, ordering):
    from patron.customers.filters import CONTACT_ORDERINGS

    seen, last_page = walk(admin, "/contacts", ordering)
    expected = list(
        Contact.objects.order_by(*CONTACT_ORDERINGS[ordering]).values_list("id", flat=True)
    )
    assert seen == expected
    # And back again with previous_cursor from the last page.
    back, cursor = [], last_page["previous_cursor"]
    while cursor:
        page = admin.get("/contacts", {"ordering": ordering, "limit": 4, "cursor": cursor}).json()
        back = [row["id"] for row in page["results"]] + back
        cursor = page["previous_cursor"]
    assert back + [row["id"] for row in last_page["results"]] == expected


@pytest.mark.parametrize(
    "ordering", ["name", "-name", "stage", "-stage", "created", "-created", "updated", "-updated"]
)
def test_account_cursor_walks_every_row_once(admin, admin_user, ordering):
    from patron.customers.filters import ACCOUNT_ORDERINGS

    base = timezone.now()
    for i in range(17):
        AccountFactory(
            name=["Acme", "Globex", "Initech"][i % 3],
            lifecycle_stage=["lead", "customer"][i % 2],
            created_at=base + datetime.timedelta(hours=i % 4),
            updated_at=base + datetime.timedelta(minutes=i % 5),
        )
    seen, _ = walk(admin, "/accounts", ordering, limit=5)
    assert seen == list(
        Account.objects.order_by(*ACCOUNT_ORDERINGS[ordering]).values_list("id", flat=True)
    )


def make_rows(actor, count, start=0):
    for i in range(start, start + count):
        contact = services.contact_create(
            actor=actor,
            data={"first_name": f"P{i:03d}", "last_name": "Row"},
            tags=["T"],
            emails=[{"email": f"p{i}@example.com"}],
            phones=[{"number": "020 7946 0018"}],
        )
        account = services.account_create(
            actor=actor,
            data={"name": f"A{i:03d}"},
            tags=["T"],
            emails=[{"email": f"a{i}@example.com"}],
            phones=[{"number": "020 7946 0019"}],
        )
        services.relationship_add(
            actor=actor, contact=contact, account=account, data={"role": "Buyer"}
        )


def count_queries(api, path, limit):
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    with CaptureQueriesContext(connection) as ctx:
        response = api.get(path, {"limit": limit})
    assert response.status_code == 200
    assert len(response.json()["results"]) == limit
    return len(ctx.captured_queries)


# session, user with its role, organisation settings, the page (primary email and phone are
# subqueries in it), then [relationships with account names,] tags. No custom-field
# definitions: no `cf_` parameter was given.
@pytest.mark.parametrize("path, expected", [("/contacts", 6), ("/accounts", 5)])
def test_list_query_count_does_not_grow_with_page_size(
    rep, rep_north, path, expected, django_assert_num_queries
):
    make_rows(rep_north, 40)
    assert count_queries(rep, path, 5) == count_queries(rep, path, 40)
    with django_assert_num_queries(expected):
        response = rep.get(path, {"limit": 40})
    assert len(response.json()["results"]) == 40


@pytest.mark.parametrize(
    "path, page_schema, for_list",
    [
        ("/contacts", "ContactPage", "contacts_for_list"),
        ("/accounts", "AccountPage", "accounts_for_list"),
    ],
)
def test_list_json_is_what_the_schema_makes_of_the_rows(
    rep, rep_north, path, page_schema, for_list
):
    """The list endpoints build their rows as plain dicts; the JSON must stay byte for byte
    what `ContactPage`/`AccountPage` make of the same rows (the previous output)."""
    from patron.api import api
    from patron.customers import schemas, selectors
    from patron.customers.filters import ACCOUNT_ORDERINGS, CONTACT_ORDERINGS
    from patron.utils.cursor import paginate

    make_rows(rep_north, 3)
    contact = Contact.objects.filter(owner=rep_north).first()
    services.contact_update(
        actor=rep_north,
        contact=contact,
        expected_version=None,
        data={"custom_fields": {}, "job_title": 'Ünïcode "quoted"'},
    )
    parent = services.account_create(actor=rep_north, data={"name": "Parent"})
    child = Account.objects.filter(owner=rep_north).exclude(pk=parent.pk).first()
    services.account_update(
        actor=rep_north, account=child, expected_version=None, data={"parent": parent}
    )
    response = rep.client.get("/api" + path, {"limit": 4})
    assert response.status_code == 200
    model = Contact if path == "/contacts" else Account
    orderings = CONTACT_ORDERINGS if path == "/contacts" else ACCOUNT_ORDERINGS
    page = paginate(
        getattr(selectors, for_list)(model.objects.restrict(rep_north, "view")),
        ordering=orderings["name"],
        cursor=None,
        limit=4,
    )
    previous = (
        getattr(schemas, page_schema)
        .model_validate(
            {
                "results": page.items,
                "next_cursor": page.next_cursor,
                "previous_cursor": page.previous_cursor,
            }
        )
        .model_dump()
    )
    request = response.wsgi_request
    expected = api.renderer.render(request, previous, response_status=200)
    assert response.content == (expected.encode() if isinstance(expected, str) else expected)
    assert any(
        row["accounts"] if path == "/contacts" else row["parent"]
        for row in response.json()["results"]
    )


def test_far_out_timezone_offsets_are_not_a_500(rep, rep_north):
    contact = ContactFactory(owner=rep_north, team=rep_north.team)
    response = rep.post(
        f"/contacts/{contact.pk}/timeline",
        {"kind": "note", "body": "x", "occurred_at": "0067-05-13T13:19:55-20:46"},
    )
    assert response.status_code == 201
    assert response.json()["occurred_at"] == "0067-05-14T10:05:55Z"
    response = rep.post(
        f"/contacts/{contact.pk}/timeline",
        {"kind": "note", "body": "x", "occurred_at": "0001-01-01T00:00:00+05:00"},
    )
    assert response.status_code == 422
    # Last: on PostgreSQL the refused query aborts the test's transaction.
    response = rep.get("/contacts", {"created_after": "2020-01-01T00:00:00-20:46"})
    assert response.status_code in (200, 400)


def test_unknown_paths_and_methods_answer_json(rep):
    response = rep.client.put("/api/contacts", data="{}", content_type="application/json")
    assert response.status_code == 405
    assert response.json()["detail"].startswith("PUT is not allowed here; use ")
    assert set(response["Allow"].replace(" ", "").split(",")) == {"GET", "POST"}
    for path in ("/nope", "/contacts/1/nope"):
        response = rep.get(path)
        assert (response.status_code, response.json()) == (404, NOT_FOUND)


@pytest.mark.parametrize("values", [["x", "y", "z"], [{"a": 1}, None, []], [1, 2]])
def test_hand_made_cursors_answer_400(rep, rep_north, values):
    import base64
    import json

    ContactFactory(owner=rep_north, team=rep_north.team)
    token = base64.urlsafe_b64encode(json.dumps({"v": values, "d": "next"}).encode()).decode()
    response = rep.get("/contacts", {"cursor": token})
    assert response.status_code == 400
    assert response.json()["errors"][0]["field"] == "cursor"
