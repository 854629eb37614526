"""Audit events know where a change came from: one request id per request, and its origin."""

import pytest

from patron.core.models import AuditEvent
from patron.customers.models import Contact

pytestmark = pytest.mark.django_db


def test_a_ui_request_audits_every_change_under_its_request_id(client, rep_north):
    client.force_login(rep_north)
    response = client.post(
        "/contacts/new/",
        {
            "first_name": "Ada",
            "last_name": "Lovelace",
            "lifecycle_stage": "lead",
            "email": ["ada@example.com"],
            "email_kind": ["work"],
            "phone": ["+44 20 7946 0018"],
            "phone_kind": ["work"],
        },
        headers={"X-Request-ID": "ui-req-0001"},
    )
    assert response.status_code == 302
    assert response["X-Request-ID"] == "ui-req-0001"
    contact = Contact.objects.get()
    events = AuditEvent.objects.order_by("id")
    assert [(e.content_type.model, e.origin, e.request_id, e.actor_id) for e in events] == [
        ("contact", "ui", "ui-req-0001", rep_north.pk),
        ("emailaddress", "ui", "ui-req-0001", rep_north.pk),
        ("phonenumber", "ui", "ui-req-0001", rep_north.pk),
    ]
    assert all(e.parent_id == contact.pk for e in events[1:])


def test_a_malformed_request_id_is_replaced(client, rep_north):
    client.force_login(rep_north)
    response = client.get("/contacts/", headers={"X-Request-ID": "<script>"})
    assert response.status_code == 200
    assert response["X-Request-ID"] != "<script>"
    assert len(response["X-Request-ID"]) == 32


def test_signed_in_pages_are_never_cached_by_shared_caches(client, rep_north):
    assert "Cache-Control" not in client.get("/api/openapi.json")  # anonymous: left alone
    client.force_login(rep_north)
    assert client.get("/contacts/")["Cache-Control"] == "private, no-store"
