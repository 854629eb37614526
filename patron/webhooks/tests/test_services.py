"""Endpoint services: validation, audit, permissions; redelivery and test events."""

import base64

import pytest
from django.core.exceptions import ValidationError

from patron.core.exceptions import ConflictError, PermissionDeniedError
from patron.core.models import AuditEvent
from patron.customers import services as customers
from patron.webhooks import services
from patron.webhooks.models import WebhookDelivery, WebhookEndpoint
from patron.webhooks.tests.conftest import PUBLIC_ADDRESS

pytestmark = pytest.mark.django_db


def test_create_makes_a_standard_webhooks_secret_and_audits_without_it(admin_user):
    endpoint = services.endpoint_create(
        actor=admin_user,
        data={
            "url": "  https://hooks.example.com/patron  ",
            "description": " Warehouse ",
            "event_types": ["account.deleted", "contact.created"],
        },
    )
    assert endpoint.url == "https://hooks.example.com/patron"
    assert endpoint.description == "Warehouse"
    assert endpoint.event_types == ["contact.created", "account.deleted"]  # canonical order
    assert endpoint.is_active is True
    assert endpoint.created_by == admin_user
    assert endpoint.secret.startswith("whsec_")
    assert len(base64.b64decode(endpoint.secret.removeprefix("whsec_"))) == 32
    event = AuditEvent.objects.get(object_id=endpoint.pk, content_type__model="webhookendpoint")
    assert event.action == "create"
    assert event.actor == admin_user
    assert event.changes == {
        "url": [None, "https://hooks.example.com/patron"],
        "description": [None, "Warehouse"],
        "event_types": [None, ["contact.created", "account.deleted"]],
        "is_active": [None, True],
    }
    assert endpoint.secret not in str(event.changes)
    # Webhooks about webhook endpoints are never sent.
    assert WebhookDelivery.objects.count() == 0


def test_two_endpoints_get_different_secrets(make_endpoint):
    assert make_endpoint().secret != make_endpoint().secret


@pytest.mark.parametrize(
    "url",
    [
        "ftp://hooks.example.com/",
        "javascript:alert(1)",
        "hooks.example.com/patron",
        "https://",
        "",
        "https://user:pass@hooks.example.com/",
    ],
)
def test_only_http_and_https_addresses_are_accepted(admin_user, url):
    with pytest.raises(ValidationError) as caught:
        services.endpoint_create(actor=admin_user, data={"url": url})
    assert list(caught.value.message_dict) == ["url"]
    assert WebhookEndpoint.objects.count() == 0
    assert AuditEvent.objects.count() == 0


REFUSED = "is a private or internal address; webhooks are sent to public addresses only."


@pytest.mark.parametrize(
    "url, where",
    [
        ("http://127.0.0.1/hook", "127.0.0.1"),
        ("http://169.254.169.254/latest/meta-data/", "169.254.169.254"),
        ("http://localhost:6379/", "localhost (127.0.0.1)"),
        ("http://db.localhost/", "db.localhost (127.0.0.1)"),
        ("http://[::1]:8000/", "::1"),
        ("http://[::ffff:127.0.0.1]/", "::ffff:127.0.0.1"),
        ("http://10.1.2.3/", "10.1.2.3"),
        ("https://172.16.0.9/", "172.16.0.9"),
        ("https://192.168.1.10/", "192.168.1.10"),
        ("http://0.0.0.0:8000/", "0.0.0.0"),  # noqa: S104
        ("https://internal.example.com/hook", "internal.example.com (10.0.0.5)"),
        ("https://mixed.example.com/hook", "mixed.example.com (172.16.0.1)"),
    ],
)
def test_private_and_internal_addresses_are_refused(
    admin_user, dns, private_addresses_refused, url, where
):
    dns["internal.example.com"] = ["10.0.0.5"]
    dns["mixed.example.com"] = [PUBLIC_ADDRESS, "172.16.0.1"]  # any address may be used
    with pytest.raises(ValidationError) as caught:
        services.endpoint_create(actor=admin_user, data={"url": url})
    assert caught.value.message_dict == {"url": [f"{where} {REFUSED}"]}
    assert WebhookEndpoint.objects.count() == 0
    assert AuditEvent.objects.count() == 0


def test_an_endpoint_cannot_be_changed_to_a_private_address(
    admin_user, endpoint, private_addresses_refused
):
    with pytest.raises(ValidationError) as caught:
        services.endpoint_update(
            actor=admin_user,
            endpoint=endpoint,
            expected_version=1,
            data={"url": "http://169.254.169.254/latest/meta-data/"},
        )
    assert caught.value.message_dict == {"url": [f"169.254.169.254 {REFUSED}"]}
    endpoint.refresh_from_db()
    assert (endpoint.url, endpoint.version) == ("https://hooks.example.com/patron", 1)


def test_public_and_not_yet_resolvable_names_are_accepted(
    admin_user, dns, private_addresses_refused
):
    dns["soon.example.com"] = []  # checked again at every send
    for url in [
        "https://hooks.example.com/patron",
        "https://93.184.215.14/",
        "https://soon.example.com/",
    ]:
        assert services.endpoint_create(actor=admin_user, data={"url": url}).url == url


def test_private_addresses_are_accepted_when_the_setting_allows_them(admin_user):
    endpoint = services.endpoint_create(actor=admin_user, data={"url": "http://127.0.0.1:8001/"})
    assert endpoint.url == "http://127.0.0.1:8001/"


def test_unknown_event_types_and_fields_are_refused(admin_user):
    with pytest.raises(ValidationError) as caught:
        services.endpoint_create(
            actor=admin_user,
            data={"url": "https://a.example.com/", "event_types": ["contact.exploded"]},
        )
    assert caught.value.message_dict == {
        "event_types": [
            "Unknown event type 'contact.exploded'; choose from contact.created, "
            "contact.updated, contact.deleted, contact.merged, account.created, "
            "account.updated, account.deleted, account.merged."
        ]
    }
    with pytest.raises(ValidationError) as caught:
        services.endpoint_create(
            actor=admin_user, data={"url": "https://a.example.com/", "secret": "whsec_x"}
        )
    assert caught.value.message_dict == {"secret": ["Unknown field."]}
    assert WebhookEndpoint.objects.count() == 0


def test_update_is_versioned_and_audited(admin_user, endpoint):
    services.endpoint_update(
        actor=admin_user,
        endpoint=endpoint,
        expected_version=1,
        data={"description": "CRM sync", "event_types": ["contact.updated"]},
    )
    endpoint.refresh_from_db()
    assert (endpoint.version, endpoint.description, endpoint.event_types) == (
        2,
        "CRM sync",
        ["contact.updated"],
    )
    event = AuditEvent.objects.filter(object_id=endpoint.pk, action="update").get()
    assert event.changes == {
        "description": ["", "CRM sync"],
        "event_types": [[], ["contact.updated"]],
    }
    stale = WebhookEndpoint.objects.get(pk=endpoint.pk)
    with pytest.raises(ConflictError) as caught:
        services.endpoint_update(
            actor=admin_user, endpoint=stale, expected_version=1, data={"description": "Old"}
        )
    assert caught.value.current_version == 2
    endpoint.refresh_from_db()
    assert endpoint.description == "CRM sync"


def test_delete_removes_the_log_and_is_audited(admin_user, endpoint):
    customers.contact_create(actor=admin_user, data={"first_name": "Ada", "last_name": "L"})
    assert WebhookDelivery.objects.count() == 1
    pk = endpoint.pk
    services.endpoint_delete(actor=admin_user, endpoint=endpoint)
    assert not WebhookEndpoint.objects.filter(pk=pk).exists()
    assert WebhookDelivery.objects.count() == 0
    assert AuditEvent.objects.filter(object_id=pk, action="delete").get().changes["url"] == [
        "https://hooks.example.com/patron",
        None,
    ]


@pytest.mark.parametrize("who", ["manager_north", "rep_north", "readonly_user"])
def test_only_roles_with_webhook_manage_may_write(request, who, admin_user, endpoint):
    user = request.getfixturevalue(who)
    customers.contact_create(actor=admin_user, data={"first_name": "Ada", "last_name": "L"})
    delivery = WebhookDelivery.objects.get()
    attempts = [
        lambda: services.endpoint_create(actor=user, data={"url": "https://x.example.com/"}),
        lambda: services.endpoint_update(
            actor=user, endpoint=endpoint, expected_version=None, data={"description": "x"}
        ),
        lambda: services.endpoint_delete(actor=user, endpoint=endpoint),
        lambda: services.endpoint_rotate_secret(actor=user, endpoint=endpoint),
        lambda: services.endpoint_send_test(actor=user, endpoint=endpoint),
        lambda: services.delivery_redeliver(actor=user, delivery=delivery),
    ]
    for call in attempts:
        with pytest.raises(PermissionDeniedError, match="does not allow managing webhooks"):
            call()
    endpoint.refresh_from_db()
    assert (endpoint.version, endpoint.description) == (1, "")
    assert WebhookEndpoint.objects.count() == 1
    assert WebhookDelivery.objects.count() == 1


def test_a_role_granted_webhook_manage_may_manage(rep_north):
    rep_north.role.permissions = [*rep_north.role.permissions, "webhook.manage"]
    rep_north.role.save()
    endpoint = services.endpoint_create(actor=rep_north, data={"url": "https://x.example.com/"})
    assert list(WebhookEndpoint.objects.restrict(rep_north)) == [endpoint]


def test_redelivery_is_a_new_delivery_of_the_same_message(admin_user, endpoint, transport):
    transport.answers = [500, 200]
    customers.contact_create(actor=admin_user, data={"first_name": "Ada", "last_name": "L"})
    original = WebhookDelivery.objects.get()
    services.delivery_attempt(original)
    copy = services.delivery_redeliver(actor=admin_user, delivery=original)
    assert copy.pk != original.pk
    assert (copy.message_id, copy.body, copy.event_type, copy.endpoint) == (
        original.message_id,
        original.body,
        "contact.created",
        endpoint,
    )
    assert (copy.status, copy.attempt_count, copy.redelivery_of) == ("pending", 0, original)
    event = AuditEvent.objects.get(content_type__model="webhookdelivery", object_id=copy.pk)
    assert (event.action, event.actor) == ("create", admin_user)
    services.delivery_attempt(copy)
    copy.refresh_from_db()
    original.refresh_from_db()
    assert copy.status == "succeeded"
    assert original.status == "retrying"  # left as it was
    assert [r.headers["webhook-id"] for r in transport.requests] == [original.message_id] * 2


def test_redelivery_is_sent_after_commit(admin_user, endpoint, transport, commit):
    customers.contact_create(actor=admin_user, data={"first_name": "Ada", "last_name": "L"})
    original = WebhookDelivery.objects.get()
    with commit():
        copy = services.delivery_redeliver(actor=admin_user, delivery=original)
    copy.refresh_from_db()
    assert copy.status == "succeeded"
    assert len(transport.requests) == 1
    original.refresh_from_db()
    assert original.status == "pending"


def test_test_event_ignores_subscriptions(admin_user, make_endpoint, transport, commit):
    endpoint = make_endpoint(event_types=["account.deleted"])
    with commit():
        delivery = services.endpoint_send_test(actor=admin_user, endpoint=endpoint)
    delivery.refresh_from_db()
    assert delivery.event_type == "webhook.test"
    assert delivery.status == "succeeded"
    assert delivery.payload["type"] == "webhook.test"
    assert delivery.payload["data"] == {
        "endpoint_id": endpoint.pk,
        "message": "A test event from Patron. Answer with a 2xx status code.",
    }
    assert transport.requests[0].headers["webhook-id"] == delivery.message_id


def test_nothing_is_sent_to_an_endpoint_that_is_off(admin_user, make_endpoint):
    endpoint = make_endpoint(is_active=False)
    customers.contact_create(actor=admin_user, data={"first_name": "Ada", "last_name": "L"})
    assert WebhookDelivery.objects.count() == 0
    with pytest.raises(ValidationError, match="turned off"):
        services.endpoint_send_test(actor=admin_user, endpoint=endpoint)
