"""Webhook pages: list, forms, the endpoint page with its log, delivery page, htmx actions."""

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from patron.core.models import AuditEvent
from patron.customers import services as customers
from patron.webhooks import services
from patron.webhooks.models import WebhookDelivery, WebhookEndpoint

pytestmark = pytest.mark.django_db

HTMX = {"HTTP_HX_REQUEST": "true"}
NAV_LINK = '<a href="/webhooks/" class="nav-link'


def test_pages_need_a_login(client):
    response = client.get("/webhooks/")
    assert (response.status_code, response["Location"]) == (302, "/login/?next=/webhooks/")


def test_nav_link_only_for_users_who_may_manage_webhooks(client, admin_user, rep_north):
    client.force_login(rep_north)
    assert NAV_LINK not in client.get("/settings/tokens/").content.decode()
    client.force_login(admin_user)
    html = client.get("/settings/tokens/").content.decode()
    assert NAV_LINK + '">' in html
    assert NAV_LINK + ' active">' in client.get("/webhooks/").content.decode()


def test_list_shows_endpoints_with_status_and_last_delivery(client, admin_user, make_endpoint):
    make_endpoint("https://a.example.com/hook", description="Warehouse")
    make_endpoint("https://b.example.com/hook", event_types=["account.created"], is_active=False)
    customers.contact_create(actor=admin_user, data={"first_name": "Ada", "last_name": "L"})
    client.force_login(admin_user)
    with CaptureQueriesContext(connection) as ctx:
        response = client.get("/webhooks/")
    # session, user with its role, the endpoints with their last delivery and open count
    assert len(ctx.captured_queries) == 3
    html = response.content.decode()
    assert "<h1>Webhooks</h1>" in html
    assert (
        '<span class="name">https://a.example.com/hook</span><span class="sub">Warehouse</span>'
        in html
    )
    assert '<span class="chip chip-primary">All events</span>' in html
    assert '<span class="chip">account.created</span>' in html
    assert '<span class="badge badge-green">Active</span>' in html
    assert '<span class="badge badge-grey" title="">Off</span>' in html
    assert '<span class="badge badge-grey">Pending</span>' in html  # a's contact.created
    assert '<span class="count">1</span>' in html


def test_create_endpoint_shows_its_secret(client, admin_user):
    client.force_login(admin_user)
    form = client.get("/webhooks/endpoints/new/").content.decode()
    assert '<input type="checkbox" name="event_types" value="contact.merged">' in form
    response = client.post(
        "/webhooks/endpoints/new/",
        {
            "url": "https://hooks.example.com/patron",
            "description": "Warehouse",
            "event_types": ["contact.created", "contact.deleted"],
            "is_active": "on",
        },
    )
    endpoint = WebhookEndpoint.objects.get()
    assert response.status_code == 302
    assert response["Location"] == f"/webhooks/endpoints/{endpoint.pk}/"
    assert endpoint.event_types == ["contact.created", "contact.deleted"]
    assert endpoint.created_by == admin_user
    page = client.get(response["Location"]).content.decode()
    assert f'<code id="endpoint-secret">{endpoint.secret}</code>' in page
    assert "The endpoint was added. Give its secret to the receiver." in page
    assert AuditEvent.objects.get(content_type__model="webhookendpoint").origin == "ui"


def test_create_refuses_a_non_http_address(client, admin_user):
    client.force_login(admin_user)
    response = client.post("/webhooks/endpoints/new/", {"url": "ftp://files.example.com/"})
    assert response.status_code == 200
    html = response.content.decode()
    assert '<div class="field-error">Enter a full http:// or https:// address.</div>' in html
    assert 'value="ftp://files.example.com/"' in html
    assert WebhookEndpoint.objects.count() == 0


def test_edit_with_a_stale_version_shows_a_conflict(client, admin_user, endpoint):
    client.force_login(admin_user)
    form = client.get(f"/webhooks/endpoints/{endpoint.pk}/edit/").content.decode()
    assert 'value="https://hooks.example.com/patron"' in form
    assert '<input type="hidden" name="version" value="1"' in form
    data = {"url": "https://new.example.com/", "is_active": "on", "version": 1}
    assert client.post(f"/webhooks/endpoints/{endpoint.pk}/edit/", data).status_code == 302
    endpoint.refresh_from_db()
    assert (endpoint.url, endpoint.version) == ("https://new.example.com/", 2)
    response = client.post(
        f"/webhooks/endpoints/{endpoint.pk}/edit/", {**data, "url": "https://x.example/"}
    )
    assert response.status_code == 409
    assert "This endpoint was changed by someone else" in response.content.decode()
    endpoint.refresh_from_db()
    assert endpoint.url == "https://new.example.com/"


def test_endpoint_page_lists_deliveries_and_filters_by_status(
    client, admin_user, endpoint, transport
):
    transport.answers = [(500, "down")]
    customers.contact_create(actor=admin_user, data={"first_name": "Ada", "last_name": "L"})
    failing = WebhookDelivery.objects.get()
    services.delivery_attempt(failing)
    customers.account_create(actor=admin_user, data={"name": "Engines"})
    client.force_login(admin_user)
    html = client.get(f"/webhooks/endpoints/{endpoint.pk}/").content.decode()
    assert "<h1>https://hooks.example.com/patron</h1>" in html
    assert html.count('<span class="name">contact.created</span>') == 1
    assert html.count('<span class="name">account.created</span>') == 1
    assert '<span class="badge stage-opportunity">Retrying</span>' in html
    assert "<code>500</code>" in html
    assert "<td>1 / 8</td>" in html
    assert f'href="/webhooks/deliveries/{failing.pk}/"' in html

    partial = client.get(
        f"/webhooks/endpoints/{endpoint.pk}/?status=retrying", **HTMX
    ).content.decode()
    assert partial.startswith('<section class="card table-card" id="deliveries">')
    assert "<html" not in partial
    assert '<span class="name">contact.created</span>' in partial
    assert "account.created" not in partial
    assert (
        '<a class="pill active" href="/webhooks/endpoints/1/?status=retrying"'.replace(
            "/1/", f"/{endpoint.pk}/"
        )
        in partial
    )


def test_delivery_page_shows_request_response_and_attempts(client, admin_user, endpoint, transport):
    transport.answers = [(502, "<h1>Bad gateway</h1>")]
    customers.contact_create(actor=admin_user, data={"first_name": "Ada", "last_name": "L"})
    delivery = WebhookDelivery.objects.get()
    services.delivery_attempt(delivery)
    delivery.refresh_from_db()
    client.force_login(admin_user)
    html = client.get(f"/webhooks/deliveries/{delivery.pk}/").content.decode()
    assert "<h1>contact.created</h1>" in html
    assert f"<th>webhook-id</th><td><code>{delivery.message_id}</code></td>" in html
    signature = delivery.attempts.get().request_headers["webhook-signature"]
    assert f"<th>webhook-signature</th><td><code>{signature}</code></td>" in html
    assert "&quot;type&quot;: &quot;contact.created&quot;" in html  # the body, pretty-printed
    assert "&lt;h1&gt;Bad gateway&lt;/h1&gt;" in html  # the answer, escaped
    assert "The endpoint answered HTTP 502." in html
    assert "<dt>Attempts</dt><dd>1 of 8</dd>" in html
    assert f'hx-post="/webhooks/deliveries/{delivery.pk}/redeliver/"' in html


def test_redeliver_button_queues_a_copy(client, admin_user, endpoint):
    customers.contact_create(actor=admin_user, data={"first_name": "Ada", "last_name": "L"})
    delivery = WebhookDelivery.objects.get()
    client.force_login(admin_user)
    response = client.post(f"/webhooks/deliveries/{delivery.pk}/redeliver/", **HTMX)
    copy = WebhookDelivery.objects.exclude(pk=delivery.pk).get()
    html = response.content.decode()
    assert response.status_code == 200
    assert html.startswith('<div class="alert alert-success" role="status">')
    assert f'<a href="/webhooks/deliveries/{copy.pk}/">a new delivery</a>' in html
    assert copy.redelivery_of == delivery
    # Without htmx: back to the new delivery's page.
    response = client.post(f"/webhooks/deliveries/{delivery.pk}/redeliver/")
    assert response.status_code == 302
    newest = WebhookDelivery.objects.order_by("-id").first()
    assert response["Location"] == f"/webhooks/deliveries/{newest.pk}/"


def test_send_test_event_button(client, admin_user, endpoint):
    client.force_login(admin_user)
    response = client.post(f"/webhooks/endpoints/{endpoint.pk}/test/", **HTMX)
    html = response.content.decode()
    assert html.startswith('<section class="card table-card" id="deliveries">')
    assert "A test event was queued; it appears below." in html
    assert '<span class="name">webhook.test</span>' in html
    assert WebhookDelivery.objects.get().event_type == "webhook.test"


def test_rotate_and_delete(client, admin_user, endpoint):
    client.force_login(admin_user)
    old = endpoint.secret
    response = client.post(f"/webhooks/endpoints/{endpoint.pk}/rotate-secret/", follow=True)
    endpoint.refresh_from_db()
    html = response.content.decode()
    assert endpoint.secret != old
    assert f'<code id="endpoint-secret">{endpoint.secret}</code>' in html
    assert "The previous secret also signs until" in html
    response = client.post(f"/webhooks/endpoints/{endpoint.pk}/delete/")
    assert (response.status_code, response["Location"]) == (302, "/webhooks/")
    assert WebhookEndpoint.objects.count() == 0


def test_other_roles_get_403_on_pages_and_404_on_records(client, admin_user, manager_north):
    endpoint = services.endpoint_create(actor=admin_user, data={"url": "https://a.example.com/"})
    customers.contact_create(actor=admin_user, data={"first_name": "Ada", "last_name": "L"})
    delivery = WebhookDelivery.objects.get()
    client.force_login(manager_north)
    assert client.get("/webhooks/").status_code == 403
    assert client.get("/webhooks/endpoints/new/").status_code == 403
    assert (
        client.post("/webhooks/endpoints/new/", {"url": "https://evil.example.com/"}).status_code
        == 403
    )
    for method, path in [
        ("get", f"/webhooks/endpoints/{endpoint.pk}/"),
        ("get", f"/webhooks/endpoints/{endpoint.pk}/edit/"),
        ("post", f"/webhooks/endpoints/{endpoint.pk}/edit/"),
        ("post", f"/webhooks/endpoints/{endpoint.pk}/delete/"),
        ("post", f"/webhooks/endpoints/{endpoint.pk}/rotate-secret/"),
        ("post", f"/webhooks/endpoints/{endpoint.pk}/test/"),
        ("get", f"/webhooks/deliveries/{delivery.pk}/"),
        ("post", f"/webhooks/deliveries/{delivery.pk}/redeliver/"),
    ]:
        assert getattr(client, method)(path).status_code == 404, path
    endpoint.refresh_from_db()
    assert (endpoint.url, endpoint.version) == ("https://a.example.com/", 1)
    assert WebhookEndpoint.objects.count() == 1
    assert WebhookDelivery.objects.count() == 1
