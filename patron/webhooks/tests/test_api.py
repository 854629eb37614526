"""The webhooks API: endpoints CRUD, secrets, the delivery log, redelivery, permissions."""

import pytest
from django.core.serializers.json import DjangoJSONEncoder
from django.db import connection
from django.test.utils import CaptureQueriesContext
from standardwebhooks import Webhook

from patron.core.models import AuditEvent
from patron.core.services import api_token_create
from patron.customers import services as customers
from patron.webhooks.models import WebhookDelivery, WebhookEndpoint

pytestmark = pytest.mark.django_db

NOT_FOUND = {"detail": "Not found", "errors": []}
FORBIDDEN = {"detail": "Your role does not allow managing webhooks.", "errors": []}


def iso(moment):
    """As the API writes instants (milliseconds, "Z")."""
    return DjangoJSONEncoder().default(moment)


def endpoint_json(endpoint, **extra):
    return {
        "id": endpoint.pk,
        "version": endpoint.version,
        "url": endpoint.url,
        "description": endpoint.description,
        "event_types": endpoint.event_types,
        "is_active": endpoint.is_active,
        "disabled_reason": endpoint.disabled_reason,
        "consecutive_failures": endpoint.consecutive_failures,
        "failing_since": None,
        "created_by": {"id": endpoint.created_by.pk, "name": endpoint.created_by.display_name},
        "created_at": iso(endpoint.created_at),
        "updated_at": iso(endpoint.updated_at),
        **extra,
    }


def test_create_read_update_delete(api_as, admin_user):
    api = api_as(admin_user)
    response = api.post(
        "/webhooks/endpoints",
        {"url": "https://hooks.example.com/patron", "event_types": ["contact.updated"]},
    )
    assert response.status_code == 201, response.json()
    endpoint = WebhookEndpoint.objects.get()
    assert response.json() == endpoint_json(endpoint, secret=endpoint.secret)
    assert response.json()["secret"].startswith("whsec_")

    assert api.get("/webhooks/endpoints").json() == [endpoint_json(endpoint)]
    assert api.get(f"/webhooks/endpoints/{endpoint.pk}").json() == endpoint_json(endpoint)
    assert api.get(f"/webhooks/endpoints/{endpoint.pk}/secret").json() == {
        "secret": endpoint.secret,
        "previous_secret_expires_at": None,
    }

    response = api.patch(
        f"/webhooks/endpoints/{endpoint.pk}",
        {"version": 1, "description": "Warehouse", "event_types": []},
    )
    assert response.status_code == 200, response.json()
    endpoint.refresh_from_db()
    assert response.json() == endpoint_json(endpoint)
    assert (endpoint.version, endpoint.description, endpoint.event_types) == (2, "Warehouse", [])

    stale = api.patch(f"/webhooks/endpoints/{endpoint.pk}", {"version": 1, "description": "x"})
    assert stale.status_code == 409
    assert stale.json()["current_version"] == 2

    assert api.delete(f"/webhooks/endpoints/{endpoint.pk}").status_code == 204
    assert WebhookEndpoint.objects.count() == 0
    assert list(
        AuditEvent.objects.filter(content_type__model="webhookendpoint")
        .order_by("id")
        .values_list("action", "origin")
    ) == [("create", "api"), ("update", "api"), ("delete", "api")]


def test_invalid_input_answers_in_the_one_error_format(api_as, admin_user):
    api = api_as(admin_user)
    response = api.post("/webhooks/endpoints", {"url": "ftp://files.example.com/"})
    assert (response.status_code, response.json()) == (
        400,
        {
            "detail": "The request was not accepted. url: Enter a full http:// or https:// "
            "address.",
            "errors": [{"field": "url", "message": "Enter a full http:// or https:// address."}],
        },
    )
    response = api.post(
        "/webhooks/endpoints", {"url": "https://a.example.com/", "event_types": ["contact.boom"]}
    )
    assert response.status_code == 422
    assert response.json()["errors"][0]["field"] == "event_types.0"
    response = api.post("/webhooks/endpoints", {"url": "https://a.example.com/", "secret": "x"})
    assert response.status_code == 422
    endpoint = WebhookEndpoint.objects.create(url="https://b.example.com/", secret="whsec_x")
    response = api.patch(f"/webhooks/endpoints/{endpoint.pk}", {"version": 1, "url": None})
    assert (response.status_code, response.json()["errors"][0]["field"]) == (422, "url")
    assert WebhookEndpoint.objects.count() == 1


def test_an_internal_address_is_refused_with_its_reason(
    api_as, admin_user, private_addresses_refused
):
    response = api_as(admin_user).post("/webhooks/endpoints", {"url": "http://localhost:6379/"})
    message = (
        "localhost (127.0.0.1) is a private or internal address; webhooks are sent to public "
        "addresses only."
    )
    assert (response.status_code, response.json()) == (
        400,
        {
            "detail": f"The request was not accepted. url: {message}",
            "errors": [{"field": "url", "message": message}],
        },
    )
    assert WebhookEndpoint.objects.count() == 0


def test_rotate_secret(api_as, admin_user, endpoint):
    old = endpoint.secret
    response = api_as(admin_user).post(f"/webhooks/endpoints/{endpoint.pk}/secret/rotate")
    assert response.status_code == 200
    endpoint.refresh_from_db()
    assert response.json() == {
        "secret": endpoint.secret,
        "previous_secret_expires_at": iso(endpoint.previous_secret_expires_at),
    }
    assert endpoint.secret != old
    assert endpoint.previous_secret == old


def test_delivery_log_filters_and_detail(api_as, admin_user, make_endpoint, transport):
    make_endpoint("https://a.example.com/")
    second = make_endpoint("https://b.example.com/")
    transport.answers = [200, (500, "down")]
    contact = customers.contact_create(
        actor=admin_user, data={"first_name": "Ada", "last_name": "Lovelace"}
    )
    to_first, to_second = WebhookDelivery.objects.order_by("endpoint__url")
    from patron.webhooks import services

    services.delivery_attempt(to_first)
    services.delivery_attempt(to_second)
    to_first.refresh_from_db()
    to_second.refresh_from_db()
    api = api_as(admin_user)

    response = api.get("/webhooks/deliveries", {"endpoint": second.pk})
    assert response.status_code == 200, response.json()
    assert response.json() == {
        "results": [
            {
                "id": to_second.pk,
                "endpoint": second.pk,
                "message_id": to_second.message_id,
                "event_type": "contact.created",
                "status": "retrying",
                "attempt_count": 1,
                "next_attempt_at": iso(to_second.next_attempt_at),
                "last_attempt_at": iso(to_second.last_attempt_at),
                "response_status_code": 500,
                "response_body": "down",
                "error": "The endpoint answered HTTP 500.",
                "duration_ms": to_second.duration_ms,
                "redelivery_of": None,
                "created_at": iso(to_second.created_at),
                "completed_at": None,
                "payload": to_second.payload,
            }
        ],
        "next_cursor": None,
        "previous_cursor": None,
    }
    assert response.json()["results"][0]["payload"]["data"]["id"] == contact.pk
    ids = [
        d["id"] for d in api.get("/webhooks/deliveries", {"status": "succeeded"}).json()["results"]
    ]
    assert ids == [to_first.pk]
    both = api.get("/webhooks/deliveries?status=succeeded&status=retrying").json()["results"]
    assert {d["id"] for d in both} == {to_first.pk, to_second.pk}
    assert api.get("/webhooks/deliveries", {"status": "lost"}).status_code == 422
    unknown = api.get("/webhooks/deliveries", {"colour": "red"})
    assert (unknown.status_code, unknown.json()["errors"]) == (
        400,
        [{"field": "colour", "message": "Unknown parameter."}],
    )

    detail = api.get(f"/webhooks/deliveries/{to_second.pk}").json()
    assert detail["attempts"] == [
        {
            "number": 1,
            "attempted_at": iso(to_second.last_attempt_at),
            "request_headers": to_second.attempts.get().request_headers,
            "response_status_code": 500,
            "response_body": "down",
            "error": "The endpoint answered HTTP 500.",
            "duration_ms": to_second.duration_ms,
            "succeeded": False,
        }
    ]
    headers = detail["attempts"][0]["request_headers"]
    assert Webhook(second.secret).verify(to_second.body, headers) == to_second.payload


def test_delivery_list_is_paginated_in_a_fixed_number_of_queries(api_as, admin_user, endpoint):
    for i in range(7):
        customers.contact_create(actor=admin_user, data={"first_name": f"N{i}", "last_name": "X"})
    api = api_as(admin_user)
    first = api.get("/webhooks/deliveries", {"limit": 3}).json()
    second = api.get("/webhooks/deliveries", {"limit": 3, "cursor": first["next_cursor"]}).json()
    newest_first = list(
        WebhookDelivery.objects.order_by("-created_at", "-id").values_list("pk", flat=True)
    )
    assert [d["id"] for d in first["results"] + second["results"]] == newest_first[:6]
    with CaptureQueriesContext(connection) as few:
        api.get("/webhooks/deliveries", {"limit": 2})
    with CaptureQueriesContext(connection) as many:
        api.get("/webhooks/deliveries", {"limit": 7})
    # session, user with its role, the page (with its endpoints)
    assert len(few.captured_queries) == len(many.captured_queries) == 3


def test_redeliver_and_test_event(api_as, admin_user, endpoint):
    customers.contact_create(actor=admin_user, data={"first_name": "Ada", "last_name": "L"})
    original = WebhookDelivery.objects.get()
    api = api_as(admin_user)
    response = api.post(f"/webhooks/deliveries/{original.pk}/redeliver")
    assert response.status_code == 202
    copy = WebhookDelivery.objects.exclude(pk=original.pk).get()
    assert response.json()["id"] == copy.pk
    assert response.json()["redelivery_of"] == original.pk
    assert response.json()["message_id"] == original.message_id
    assert response.json()["status"] == "pending"

    response = api.post(f"/webhooks/endpoints/{endpoint.pk}/test")
    assert response.status_code == 202
    assert response.json()["event_type"] == "webhook.test"
    assert WebhookDelivery.objects.count() == 3


def test_event_types(api_as, admin_user):
    assert api_as(admin_user).get("/webhooks/event-types").json() == [
        "contact.created",
        "contact.updated",
        "contact.deleted",
        "contact.merged",
        "account.created",
        "account.updated",
        "account.deleted",
        "account.merged",
    ]


def test_other_roles_get_403_on_lists_and_404_on_records(api_as, admin_user, manager_north):
    endpoint = WebhookEndpoint.objects.create(url="https://a.example.com/", secret="whsec_x")
    customers.contact_create(actor=admin_user, data={"first_name": "Ada", "last_name": "L"})
    delivery = WebhookDelivery.objects.get()
    api = api_as(manager_north)
    for path in ("/webhooks/endpoints", "/webhooks/deliveries", "/webhooks/event-types"):
        response = api.get(path)
        assert (response.status_code, response.json()) == (403, FORBIDDEN), path
    response = api.post("/webhooks/endpoints", {"url": "https://evil.example.com/"})
    assert (response.status_code, response.json()) == (403, FORBIDDEN)
    for method, path in [
        ("get", f"/webhooks/endpoints/{endpoint.pk}"),
        ("get", f"/webhooks/endpoints/{endpoint.pk}/secret"),
        ("post", f"/webhooks/endpoints/{endpoint.pk}/secret/rotate"),
        ("post", f"/webhooks/endpoints/{endpoint.pk}/test"),
        ("delete", f"/webhooks/endpoints/{endpoint.pk}"),
        ("get", f"/webhooks/deliveries/{delivery.pk}"),
        ("post", f"/webhooks/deliveries/{delivery.pk}/redeliver"),
    ]:
        response = getattr(api, method)(path)
        assert (response.status_code, response.json()) == (404, NOT_FOUND), path
    response = api.patch(
        f"/webhooks/endpoints/{endpoint.pk}", {"version": 1, "url": "https://x.example.com/"}
    )
    assert (response.status_code, response.json()) == (404, NOT_FOUND)
    endpoint.refresh_from_db()
    assert (endpoint.url, endpoint.secret, endpoint.version) == (
        "https://a.example.com/",
        "whsec_x",
        1,
    )
    assert WebhookEndpoint.objects.count() == 1
    assert WebhookDelivery.objects.count() == 1


def test_a_token_works_and_anonymous_is_401(api_as, admin_user, endpoint):
    _, key = api_token_create(actor=admin_user, name="ops")
    assert api_as(token=key).get("/webhooks/endpoints").status_code == 200
    assert api_as().get("/webhooks/endpoints").status_code == 401


@pytest.mark.parametrize("cursor", ["not-a-cursor", "eyJ2IjpbIngiLCJ5Il0sImQiOiJuZXh0In0"])
def test_a_bad_cursor_is_a_400(api_as, admin_user, cursor):
    response = api_as(admin_user).get("/webhooks/deliveries", {"cursor": cursor})
    assert response.status_code == 400
    assert response.json()["errors"][0]["field"] == "cursor"
