import pytest
from django.core.exceptions import ValidationError

from patron.core.exceptions import ConflictError, PermissionDeniedError
from patron.core.models import AuditEvent
from patron.core.tests.factories import CustomFieldFactory
from patron.customers import selectors, services
from patron.customers.models import Contact, EmailAddress, PhoneNumber, TimelineEntry

pytestmark = pytest.mark.django_db


def make_contact(actor, **extra):
    data = {"first_name": "Ada", "last_name": "Lovelace", **extra}
    return services.contact_create(
        actor=actor,
        data=data,
        emails=[{"email": "Ada@Example.COM", "kind": "work"}],
        phones=[
            {"number": "020 7946 0018", "kind": "work"},
            {"number": "+1 (415) 555-2671", "kind": "mobile"},
        ],
    )


def test_create_contact_normalises_points_and_defaults_owner(rep_north):
    contact = make_contact(rep_north)
    assert contact.owner == rep_north
    assert contact.team == rep_north.team
    assert list(contact.emailaddresss.values_list("email", "is_primary")) == [
        ("Ada@example.com", True)
    ]
    assert list(contact.phonenumbers.order_by("id").values_list("e164", "is_primary")) == [
        ("+442079460018", True),
        ("+14155552671", False),
    ]
    assert "ada lovelace" in contact.search_document
    assert "02079460018" in contact.search_document
    assert "14155552671" in contact.search_document


def test_create_writes_audit_for_contact_and_children(rep_north):
    contact = make_contact(rep_north, job_title="Analyst")
    events = list(selectors.history_for(user=rep_north, record=contact))
    assert {(e.action, e.content_type.model) for e in events} == {
        ("create", "contact"),
        ("create", "emailaddress"),
        ("create", "phonenumber"),
    }
    created = next(e for e in events if e.content_type.model == "contact")
    assert created.actor == rep_north
    assert created.changes["job_title"] == [None, "Analyst"]
    assert created.request_id


def test_update_records_before_and_after_and_bumps_version(rep_north):
    contact = make_contact(rep_north)
    services.contact_update(
        actor=rep_north,
        contact=contact,
        expected_version=1,
        data={"job_title": "Mathematician"},
        tags=["VIP"],
    )
    contact.refresh_from_db()
    assert contact.version == 2
    event = AuditEvent.objects.filter(action="update", object_id=contact.pk).get()
    assert event.changes == {"job_title": ["", "Mathematician"], "tags": [[], ["VIP"]]}


def test_stale_update_is_refused_and_changes_nothing(rep_north):
    contact = make_contact(rep_north)
    services.contact_update(
        actor=rep_north, contact=contact, expected_version=1, data={"job_title": "First"}
    )
    stale = Contact.objects.get(pk=contact.pk)
    stale.version = 1
    with pytest.raises(ConflictError) as exc:
        services.contact_update(
            actor=rep_north, contact=stale, expected_version=1, data={"job_title": "Second"}
        )
    assert exc.value.current_version == 2
    contact.refresh_from_db()
    assert contact.job_title == "First"
    assert AuditEvent.objects.filter(action="update", object_id=contact.pk).count() == 1


def test_invalid_phone_and_email_are_refused_with_field_messages(rep_north):
    with pytest.raises(ValidationError) as exc:
        services.contact_create(
            actor=rep_north, data={"first_name": "X"}, emails=[{"email": "not-an-email"}]
        )
    assert list(exc.value.message_dict) == ["emails.0.email"]
    with pytest.raises(ValidationError) as exc:
        services.contact_create(
            actor=rep_north,
            data={"first_name": "X"},
            phones=[{"number": "020 7946 0018"}, {"number": "12"}],
        )
    assert list(exc.value.message_dict) == ["phones.1.number"]
    assert Contact.objects.count() == 0
    assert AuditEvent.objects.count() == 0


def test_contact_needs_a_name(rep_north):
    with pytest.raises(ValidationError):
        services.contact_create(actor=rep_north, data={"job_title": "Ghost"})
    assert Contact.objects.count() == 0


def test_custom_fields_are_validated_against_definitions(rep_north):
    CustomFieldFactory(object_type="contact", name="shoe_size", field_type="number")
    CustomFieldFactory(
        object_type="contact", name="tier", field_type="choice", choices=["gold", "silver"]
    )
    contact = services.contact_create(
        actor=rep_north,
        data={"first_name": "A", "custom_fields": {"shoe_size": "42", "tier": "gold"}},
    )
    assert contact.custom_fields == {"shoe_size": 42, "tier": "gold"}
    with pytest.raises(ValidationError) as exc:
        services.contact_update(
            actor=rep_north,
            contact=contact,
            expected_version=1,
            data={"custom_fields": {"tier": "bronze", "nope": 1}},
        )
    assert set(exc.value.message_dict) == {"custom_fields.tier", "custom_fields.nope"}
    contact.refresh_from_db()
    assert contact.custom_fields == {"shoe_size": 42, "tier": "gold"}


def test_primary_email_moves_when_another_is_marked_primary(rep_north):
    contact = make_contact(rep_north)
    second = services.contact_point_add(
        actor=rep_north,
        model=EmailAddress,
        parent=contact,
        data={"email": "ada@home.example", "is_primary": True},
    )
    assert list(contact.emailaddresss.order_by("id").values_list("is_primary", flat=True)) == [
        False,
        True,
    ]
    services.contact_point_delete(actor=rep_north, point=second)
    assert list(contact.emailaddresss.values_list("is_primary", flat=True)) == [True]
    contact.refresh_from_db()
    assert "ada@home.example" not in contact.search_document


def test_phone_update_renormalises_and_reindexes(rep_north):
    contact = make_contact(rep_north)
    phone = contact.phonenumbers.get(e164="+442079460018")
    services.contact_point_update(
        actor=rep_north, point=phone, expected_version=1, data={"number": "+49 30 901820"}
    )
    phone.refresh_from_db()
    contact.refresh_from_db()
    assert phone.e164 == "+4930901820"
    assert "4930901820" in contact.search_document
    assert "02079460018" not in contact.search_document


def test_rep_cannot_update_another_teams_private_contact(rep_north, rep_south, set_visibility):
    set_visibility("private")
    contact = make_contact(rep_south)
    with pytest.raises(PermissionDeniedError):
        services.contact_update(
            actor=rep_north, contact=contact, expected_version=1, data={"first_name": "Hacked"}
        )
    contact.refresh_from_db()
    assert contact.first_name == "Ada"


def test_read_only_user_cannot_create(readonly_user):
    with pytest.raises(PermissionDeniedError):
        services.contact_create(actor=readonly_user, data={"first_name": "No"})
    assert Contact.objects.count() == 0


def test_log_call_validates_kind_data(rep_north):
    contact = make_contact(rep_north)
    entry = services.timeline_entry_create(
        actor=rep_north,
        kind="call",
        contact=contact,
        subject="Intro call",
        data={"direction": "inbound", "duration_seconds": 125, "outcome": "connected"},
    )
    assert entry.data == {"direction": "inbound", "duration_seconds": 125, "outcome": "connected"}
    with pytest.raises(ValidationError) as exc:
        services.timeline_entry_create(
            actor=rep_north, kind="call", contact=contact, data={"duration_seconds": -5}
        )
    assert "data.duration_seconds" in exc.value.message_dict
    with pytest.raises(ValidationError):
        services.timeline_entry_create(actor=rep_north, kind="telepathy", contact=contact)
    assert TimelineEntry.objects.count() == 1


def test_task_done_and_open_tasks(rep_north):
    contact = make_contact(rep_north)
    task = services.timeline_entry_create(
        actor=rep_north, kind="task", contact=contact, subject="Send proposal"
    )
    assert list(selectors.open_tasks_for(user=rep_north)) == [task]
    services.task_set_done(actor=rep_north, entry=task)
    services.task_set_done(actor=rep_north, entry=task)  # twice changes nothing more
    assert list(selectors.open_tasks_for(user=rep_north)) == []
    assert AuditEvent.objects.filter(object_id=task.pk, action="update").count() == 1


def test_account_relationship_and_account_timeline(rep_north):
    contact = make_contact(rep_north)
    account = services.account_create(actor=rep_north, data={"name": "Analytical Engines Ltd"})
    services.relationship_add(
        actor=rep_north, contact=contact, account=account, data={"role": "Founder"}
    )
    services.timeline_entry_create(actor=rep_north, kind="note", contact=contact, body="Met")
    services.timeline_entry_create(actor=rep_north, kind="note", account=account, body="Deal")
    bodies = [e.body for e in selectors.timeline_for(user=rep_north, account=account)]
    assert bodies == ["Deal", "Met"]
    assert [
        e.body
        for e in selectors.timeline_for(user=rep_north, account=account, include_contacts=False)
    ] == ["Deal"]


def test_delete_contact_is_audited(manager_north):
    contact = make_contact(manager_north)
    services.contact_delete(actor=manager_north, contact=contact)
    assert not Contact.objects.exists()
    assert not PhoneNumber.objects.exists()
    event = AuditEvent.objects.get(action="delete", content_type__model="contact")
    assert event.changes["first_name"] == ["Ada", None]
