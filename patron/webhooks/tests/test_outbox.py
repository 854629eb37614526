"""Which changes become webhook events, with which payload, and at what cost."""

import json

import pytest
from django.db import connection, transaction
from django.test.utils import CaptureQueriesContext

from patron.core import audit, events
from patron.core.models import AuditEvent
from patron.customers import services as customers
from patron.customers.models import Contact, EmailAddress
from patron.webhooks import outbox
from patron.webhooks.models import WebhookDelivery

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("transport")]


def iso(moment):
    return moment.isoformat().replace("+00:00", "Z")


def event_of(obj, action):
    return AuditEvent.objects.get(
        content_type__model=obj._meta.model_name, object_id=obj.pk, action=action
    )


def payload(event_type, event, record_id, obj, changes, related=(), actor=None):
    return {
        "type": event_type,
        "timestamp": iso(event.created_at),
        "data": {
            "id": record_id,
            "object": obj,
            "changes": changes,
            "related_changes": list(related),
            "actor": actor,
            "origin": event.origin,
            "request_id": event.request_id,
        },
    }


def deliveries():
    return list(WebhookDelivery.objects.order_by("id"))


def test_creating_a_contact_with_emails_is_one_created_event(admin_user, endpoint, commit):
    with commit():
        contact = customers.contact_create(
            actor=admin_user,
            data={"first_name": "Ada", "last_name": "Lovelace", "job_title": "Analyst"},
            emails=[{"email": "ada@example.com"}],
            phones=[{"number": "+44 20 7946 0018"}],
        )
    email, phone = contact.emailaddresss.get(), contact.phonenumbers.get()
    [delivery] = deliveries()
    assert delivery.endpoint == endpoint
    assert delivery.event_type == "contact.created"
    assert delivery.message_id.startswith("msg_") and len(delivery.message_id) == 36
    created = event_of(contact, "create")
    assert delivery.payload == payload(
        "contact.created",
        created,
        contact.pk,
        "contact",
        {
            "first_name": [None, "Ada"],
            "last_name": [None, "Lovelace"],
            "job_title": [None, "Analyst"],
            "lifecycle_stage": [None, "lead"],
            "owner": [None, admin_user.pk],
        },
        related=[
            {
                "object": "email",
                "id": email.pk,
                "action": "created",
                "changes": {
                    "email": [None, "ada@example.com"],
                    "kind": [None, "work"],
                    "is_primary": [None, True],
                },
            },
            {
                "object": "phone",
                "id": phone.pk,
                "action": "created",
                "changes": {
                    "number": [None, "+44 20 7946 0018"],
                    "e164": [None, "+442079460018"],
                    "kind": [None, "mobile"],
                    "is_primary": [None, True],
                },
            },
        ],
        actor={"id": admin_user.pk, "name": str(admin_user)},
    )
    assert delivery.body == json.dumps(delivery.payload, separators=(",", ":"))
    # Sent once the transaction committed.
    assert delivery.__class__.objects.get().status == "succeeded"


def test_update_and_delete_are_events_of_their_own(admin_user, endpoint, commit):
    with commit():
        contact = customers.contact_create(
            actor=admin_user, data={"first_name": "Ada", "last_name": "Lovelace"}
        )
    with commit():
        customers.contact_update(
            actor=admin_user,
            contact=contact,
            expected_version=contact.version,
            data={"job_title": "Engineer", "lifecycle_stage": "customer"},
        )
    contact_id = contact.pk
    with commit():
        customers.contact_delete(actor=admin_user, contact=Contact.objects.get(pk=contact_id))
    created, updated, deleted = deliveries()
    assert [d.event_type for d in (created, updated, deleted)] == [
        "contact.created",
        "contact.updated",
        "contact.deleted",
    ]
    assert len({created.message_id, updated.message_id, deleted.message_id}) == 3
    assert updated.payload["data"]["changes"] == {
        "job_title": ["", "Engineer"],
        "lifecycle_stage": ["lead", "customer"],
    }
    delete_event = AuditEvent.objects.get(action="delete", object_id=contact_id)
    assert deleted.payload == payload(
        "contact.deleted",
        delete_event,
        contact_id,
        "contact",
        {
            "first_name": ["Ada", None],
            "last_name": ["Lovelace", None],
            "job_title": ["Engineer", None],
            "lifecycle_stage": ["customer", None],
            "owner": [admin_user.pk, None],
        },
        actor={"id": admin_user.pk, "name": str(admin_user)},
    )


def test_an_email_added_to_a_contact_is_a_contact_update(admin_user, endpoint, commit):
    with commit():
        contact = customers.contact_create(
            actor=admin_user, data={"first_name": "Ada", "last_name": "Lovelace"}
        )
    with commit():
        email = customers.contact_point_add(
            actor=admin_user,
            model=EmailAddress,
            parent=contact,
            data={"email": "ada@example.com", "kind": "personal"},
        )
    _, update = deliveries()
    assert update.event_type == "contact.updated"
    assert update.payload == payload(
        "contact.updated",
        event_of(email, "create"),
        contact.pk,
        "contact",
        {},
        related=[
            {
                "object": "email",
                "id": email.pk,
                "action": "created",
                "changes": {
                    "email": [None, "ada@example.com"],
                    "kind": [None, "personal"],
                    "is_primary": [None, True],
                },
            }
        ],
        actor={"id": admin_user.pk, "name": str(admin_user)},
    )
    email_id = email.pk
    with commit():
        customers.contact_point_delete(actor=admin_user, point=email)
    removed = deliveries()[-1]
    assert removed.event_type == "contact.updated"
    assert removed.payload["data"]["related_changes"] == [
        {
            "object": "email",
            "id": email_id,
            "action": "deleted",
            "changes": {
                "email": ["ada@example.com", None],
                "kind": ["personal", None],
                "is_primary": [True, None],
            },
        }
    ]


def test_account_events_and_relationships(admin_user, endpoint, commit):
    with commit():
        account = customers.account_create(actor=admin_user, data={"name": "Engines Ltd"})
        contact = customers.contact_create(
            actor=admin_user, data={"first_name": "Ada", "last_name": "Lovelace"}
        )
    with commit():
        relationship = customers.relationship_add(
            actor=admin_user, contact=contact, account=account, data={"role": "CFO"}
        )
    created_account, created_contact, related = deliveries()
    assert created_account.event_type == "account.created"
    assert created_account.payload["data"]["changes"]["name"] == [None, "Engines Ltd"]
    assert created_contact.event_type == "contact.created"
    assert related.event_type == "contact.updated"
    assert related.payload["data"]["id"] == contact.pk
    assert related.payload["data"]["related_changes"] == [
        {
            "object": "relationship",
            "id": relationship.pk,
            "action": "created",
            "changes": {
                "account": [None, account.pk],
                "role": [None, "CFO"],
                "is_primary": [None, True],
            },
        }
    ]


def test_timeline_entries_and_configuration_changes_send_nothing(admin_user, endpoint, commit):
    with commit():
        contact = customers.contact_create(
            actor=admin_user, data={"first_name": "Ada", "last_name": "Lovelace"}
        )
    with commit():
        customers.timeline_entry_create(actor=admin_user, kind="note", contact=contact, body="Hi")
        from patron.webhooks import services

        services.endpoint_create(actor=admin_user, data={"url": "https://other.example.com/"})
    assert [d.event_type for d in deliveries()] == ["contact.created"]


def test_event_types_choose_the_endpoints(admin_user, make_endpoint, commit):
    updates = make_endpoint("https://a.example.com/", event_types=["contact.updated"])
    accounts = make_endpoint("https://b.example.com/", event_types=["account.created"])
    everything = make_endpoint("https://c.example.com/")
    make_endpoint("https://off.example.com/", is_active=False)
    with commit():
        contact = customers.contact_create(
            actor=admin_user,
            data={"first_name": "Ada", "last_name": "Lovelace"},
            emails=[{"email": "ada@example.com"}],
        )
    with commit():
        customers.contact_update(
            actor=admin_user, contact=contact, expected_version=None, data={"job_title": "CTO"}
        )
    with commit():
        customers.account_create(actor=admin_user, data={"name": "Engines Ltd"})
    assert [(d.event_type, d.endpoint_id) for d in deliveries()] == [
        # the email was part of the creation: no contact.updated for `updates`
        ("contact.created", everything.pk),
        ("contact.updated", updates.pk),
        ("contact.updated", everything.pk),
        ("account.created", accounts.pk),
        ("account.created", everything.pk),
    ]
    # One message per event: the same webhook-id for every endpoint.
    assert len({d.message_id for d in deliveries()}) == 3


def test_without_endpoints_the_listener_costs_one_query_per_write(admin_user):
    def create(name):
        with CaptureQueriesContext(connection) as ctx:
            customers.contact_create(
                actor=admin_user,
                data={"first_name": name, "last_name": "Lovelace"},
                emails=[{"email": f"{name}@example.com"}],
            )
        return ctx.captured_queries

    create("warmup")  # content types and settings cached, as in a running server
    with_listener = create("ada")
    events.unsubscribe(outbox.on_audit_events)
    try:
        without_listener = create("grace")
    finally:
        events.subscribe(outbox.on_audit_events)
    ours = [q["sql"] for q in with_listener if "webhooks_" in q["sql"]]
    # one audit event for the contact, one for its email: a SELECT of active endpoints each
    assert len(ours) == 2
    assert all(sql.startswith("SELECT") and "webhooks_webhookendpoint" in sql for sql in ours)
    assert len(with_listener) - len(without_listener) == 2
    assert WebhookDelivery.objects.count() == 0


def test_other_audit_events_cost_nothing(admin_user, endpoint):
    from patron.core import services as core_services

    with CaptureQueriesContext(connection) as ctx:
        core_services.api_token_create(actor=admin_user, name="script")
    assert not [q for q in ctx.captured_queries if "webhooks_" in q["sql"]]


def test_a_merge_is_a_merged_event(admin_user, endpoint):
    contact = customers.contact_create(
        actor=admin_user, data={"first_name": "Ada", "last_name": "Lovelace"}
    )
    with transaction.atomic():
        audit.record(
            actor=admin_user, action="merge", obj=contact, changes={"merged_from": [None, [7, 9]]}
        )
    merged = deliveries()[-1]
    assert merged.event_type == "contact.merged"
    assert merged.payload["data"]["changes"] == {"merged_from": [None, [7, 9]]}


def test_a_rolled_back_change_leaves_no_delivery(admin_user, endpoint, commit):
    class Stop(Exception):
        pass

    with commit() as callbacks:
        with pytest.raises(Stop), transaction.atomic():
            customers.contact_create(
                actor=admin_user, data={"first_name": "Ada", "last_name": "Lovelace"}
            )
            raise Stop
        assert WebhookDelivery.objects.count() == 0
        other = customers.contact_create(
            actor=admin_user, data={"first_name": "Grace", "last_name": "Hopper"}
        )
        customers.contact_point_add(
            actor=admin_user, model=EmailAddress, parent=other, data={"email": "g@example.com"}
        )
    [delivery] = deliveries()
    assert delivery.payload["data"]["id"] == other.pk
    assert delivery.event_type == "contact.created"
    assert [r["object"] for r in delivery.payload["data"]["related_changes"]] == ["email"]
    assert len(callbacks) == 2  # the rolled-back creation queued nothing


def test_a_savepoint_rolled_back_after_a_message_stops_folding_into_it(admin_user, endpoint):
    with transaction.atomic():
        contact = customers.contact_create(
            actor=admin_user, data={"first_name": "Ada", "last_name": "Lovelace"}
        )
        try:
            with transaction.atomic():
                customers.contact_point_add(
                    actor=admin_user,
                    model=EmailAddress,
                    parent=contact,
                    data={"email": "lost@example.com"},
                )
                raise RuntimeError
        except RuntimeError:
            pass
        customers.contact_point_add(
            actor=admin_user, model=EmailAddress, parent=contact, data={"email": "kept@example.com"}
        )
    created, updated = deliveries()
    assert created.event_type == "contact.created"
    assert created.payload["data"]["related_changes"] == []
    assert updated.event_type == "contact.updated"
    assert [r["changes"]["email"][1] for r in updated.payload["data"]["related_changes"]] == [
        "kept@example.com"
    ]


def test_a_create_and_a_delete_in_one_transaction_stay_two_events(admin_user, endpoint):
    with transaction.atomic():
        contact = customers.contact_create(
            actor=admin_user, data={"first_name": "Ada", "last_name": "Lovelace"}
        )
        customers.contact_update(
            actor=admin_user, contact=contact, expected_version=None, data={"job_title": "CTO"}
        )
        customers.contact_delete(actor=admin_user, contact=contact)
    created, deleted = deliveries()
    assert created.event_type == "contact.created"
    assert created.payload["data"]["changes"]["job_title"] == [None, "CTO"]
    assert deleted.event_type == "contact.deleted"


def test_bulk_audit_writes_make_deliveries_in_one_insert(admin_user, endpoint):
    first = customers.contact_create(
        actor=admin_user, data={"first_name": "Ada", "last_name": "Lovelace"}
    )
    second = customers.contact_create(
        actor=admin_user, data={"first_name": "Grace", "last_name": "Hopper"}
    )
    WebhookDelivery.objects.all().delete()
    with transaction.atomic(), CaptureQueriesContext(connection) as ctx:
        audit.record_many(
            [
                audit.build(
                    actor=None, action="update", obj=first, changes={"job_title": ["", "A"]}
                ),
                audit.build(
                    actor=None, action="update", obj=second, changes={"job_title": ["", "B"]}
                ),
            ]
        )
    ours = [q["sql"] for q in ctx.captured_queries if "webhooks_" in q["sql"]]
    assert len(ours) == 2  # the endpoints, then one INSERT
    assert ours[1].startswith("INSERT")
    assert [(d.payload["data"]["id"], d.payload["data"]["actor"]) for d in deliveries()] == [
        (first.pk, None),
        (second.pk, None),
    ]
