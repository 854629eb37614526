"""The Django admin: endpoints through their services, the delivery log read-only."""

import typing

import pytest

from patron.core.models import AuditEvent
from patron.customers import services as customers
from patron.webhooks.models import EVENT_TYPES, WebhookDelivery, WebhookEndpoint
from patron.webhooks.schemas import EventType

pytestmark = pytest.mark.django_db


@pytest.fixture
def admin_client(client, admin_user):
    admin_user.is_staff = admin_user.is_superuser = True
    admin_user.save()
    client.force_login(admin_user)
    return client


def test_add_an_endpoint_in_the_admin(admin_client, admin_user):
    response = admin_client.post(
        "/admin/webhooks/webhookendpoint/add/",
        {"url": "https://hooks.example.com/", "description": "", "is_active": "on"},
    )
    assert response.status_code == 302
    endpoint = WebhookEndpoint.objects.get()
    assert endpoint.secret.startswith("whsec_")
    assert endpoint.created_by == admin_user
    assert AuditEvent.objects.get(content_type__model="webhookendpoint").action == "create"


def test_the_admin_refuses_what_the_service_refuses(admin_client):
    response = admin_client.post(
        "/admin/webhooks/webhookendpoint/add/", {"url": "ftp://files.example.com/"}
    )
    assert response.status_code == 200
    assert "Enter a full http:// or https:// address." in response.content.decode()
    assert WebhookEndpoint.objects.count() == 0


def test_change_and_delete_go_through_the_services(admin_client, endpoint):
    response = admin_client.post(
        f"/admin/webhooks/webhookendpoint/{endpoint.pk}/change/",
        {"url": endpoint.url, "description": "Warehouse", "event_types": ["contact.created"]},
    )
    assert response.status_code == 302
    endpoint.refresh_from_db()
    assert (endpoint.description, endpoint.event_types, endpoint.is_active, endpoint.version) == (
        "Warehouse",
        ["contact.created"],
        False,
        2,
    )
    response = admin_client.post(
        f"/admin/webhooks/webhookendpoint/{endpoint.pk}/delete/", {"post": "yes"}
    )
    assert response.status_code == 302
    assert WebhookEndpoint.objects.count() == 0
    assert list(
        AuditEvent.objects.filter(content_type__model="webhookendpoint")
        .order_by("id")
        .values_list("action", flat=True)
    ) == ["create", "update", "delete"]


def test_deliveries_are_read_only(admin_client, admin_user, endpoint):
    customers.contact_create(actor=admin_user, data={"first_name": "Ada", "last_name": "L"})
    delivery = WebhookDelivery.objects.get()
    assert admin_client.get("/admin/webhooks/webhookdelivery/").status_code == 200
    page = admin_client.get(f"/admin/webhooks/webhookdelivery/{delivery.pk}/change/")
    assert page.status_code == 200
    assert 'name="_save"' not in page.content.decode()
    assert admin_client.get("/admin/webhooks/webhookdelivery/add/").status_code == 403
    deleted = admin_client.post(
        f"/admin/webhooks/webhookdelivery/{delivery.pk}/delete/", {"post": "yes"}
    )
    assert deleted.status_code == 403
    assert WebhookDelivery.objects.count() == 1


def test_the_api_offers_exactly_the_event_types_of_the_model():
    assert typing.get_args(EventType) == EVENT_TYPES
