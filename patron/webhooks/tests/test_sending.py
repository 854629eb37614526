"""Sending: Standard Webhooks signatures, a real receiver, retries, failure, idempotence."""

import datetime
import socket

import httpx
import pytest
from django.core.management import call_command
from django.tasks import Task
from django.tasks.backends.dummy import DummyBackend
from django.utils import timezone
from standardwebhooks import Webhook
from standardwebhooks.webhooks import WebhookVerificationError

from patron.core.models import AuditEvent
from patron.customers import services as customers
from patron.webhooks import sender, services, tasks
from patron.webhooks.models import WebhookAttempt, WebhookDelivery, WebhookEndpoint

pytestmark = pytest.mark.django_db

S = datetime.timedelta(seconds=1)
M = 60 * S
H = 60 * M


def pending_delivery(admin_user) -> WebhookDelivery:
    """A contact.created delivery, written but not sent (the test transaction never commits)."""
    customers.contact_create(actor=admin_user, data={"first_name": "Ada", "last_name": "Lovelace"})
    return WebhookDelivery.objects.get()


def attempt(delivery, now):
    return services.delivery_attempt(delivery, now=now)


def test_request_is_signed_the_standard_webhooks_way(admin_user, endpoint, transport, commit):
    with commit():
        customers.contact_create(
            actor=admin_user, data={"first_name": "Ada", "last_name": "Lovelace"}
        )
    delivery = WebhookDelivery.objects.get()
    [request] = transport.requests
    assert request.method == "POST"
    assert str(request.url) == "https://hooks.example.com/patron"
    assert request.content == delivery.body.encode()
    assert request.headers["content-type"] == "application/json"
    assert request.headers["user-agent"] == "Patron-Webhooks/1"
    assert request.headers["webhook-id"] == delivery.message_id
    timestamp = int(request.headers["webhook-timestamp"])
    assert abs(timestamp - timezone.now().timestamp()) < 60
    signature = request.headers["webhook-signature"]
    assert signature.startswith("v1,") and " " not in signature
    assert Webhook(endpoint.secret).verify(request.content, dict(request.headers)) == (
        delivery.payload
    )
    with pytest.raises(WebhookVerificationError):
        Webhook("whsec_" + "A" * 43 + "=").verify(request.content, dict(request.headers))
    delivery.refresh_from_db()
    assert delivery.status == "succeeded"
    assert delivery.attempt_count == 1
    assert delivery.next_attempt_at is None
    assert delivery.response_status_code == 200
    assert delivery.response_body == "ok"
    assert delivery.error == ""


def test_a_real_receiver_gets_the_event(admin_user, make_endpoint, receiver, commit):
    endpoint = make_endpoint(receiver.url)
    with commit():
        contact = customers.contact_create(
            actor=admin_user, data={"first_name": "Ada", "last_name": "Lovelace"}
        )
    [received] = receiver.received
    assert received.path == "/hooks/patron"
    payload = Webhook(endpoint.secret).verify(received.body, received.headers)
    assert payload["type"] == "contact.created"
    assert payload["data"]["id"] == contact.pk
    assert payload["data"]["object"] == "contact"
    delivery = WebhookDelivery.objects.get()
    assert received.headers["webhook-id"] == delivery.message_id
    assert (delivery.status, delivery.response_status_code, delivery.response_body) == (
        "succeeded",
        200,
        '{"ok": true}',
    )
    [logged] = delivery.attempts.all()
    assert logged.number == 1
    assert logged.succeeded is True
    assert logged.request_headers["webhook-id"] == delivery.message_id
    assert logged.request_headers["webhook-signature"] == received.headers["webhook-signature"]
    assert logged.duration_ms is not None and logged.duration_ms >= 0


def test_an_error_status_is_retried_on_the_standard_schedule(admin_user, endpoint, transport):
    transport.answers = [(500, "boom")] * 8
    delivery = pending_delivery(admin_user)
    start = timezone.now()
    delivery = attempt(delivery, start)
    assert delivery.status == "retrying"
    assert delivery.attempt_count == 1
    assert delivery.next_attempt_at == start + 5 * S
    assert delivery.response_status_code == 500
    assert delivery.response_body == "boom"
    assert delivery.error == "The endpoint answered HTTP 500."
    assert delivery.completed_at is None

    # Not due yet: nothing happens, then the clock reaches it.
    assert services.deliveries_send_due(now=start + 4 * S) == 0
    assert len(transport.requests) == 1
    expected_gaps = [5 * M, 30 * M, 2 * H, 5 * H, 10 * H, 10 * H]
    now = start + 5 * S
    for gap in expected_gaps:
        assert services.deliveries_send_due(now=now) == 1
        delivery.refresh_from_db()
        assert delivery.next_attempt_at == now + gap
        now += gap
    assert services.deliveries_send_due(now=now) == 1
    delivery.refresh_from_db()
    assert delivery.status == "failed"
    assert delivery.attempt_count == 8
    assert delivery.next_attempt_at is None
    assert delivery.completed_at == now
    assert len(transport.requests) == 8
    assert list(delivery.attempts.values_list("number", "response_status_code", "succeeded")) == [
        (n, 500, False) for n in range(1, 9)
    ]
    # Failed for good: nothing is due any more.
    assert services.deliveries_send_due(now=now + 100 * H) == 0
    endpoint.refresh_from_db()
    assert endpoint.consecutive_failures == 8
    assert endpoint.failing_since == start
    assert endpoint.is_active is True  # 28 hours of failures, not five days


def test_a_connection_error_is_retried(admin_user, make_endpoint):
    with socket.socket() as sock:  # a port nobody listens on
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    make_endpoint(f"http://127.0.0.1:{port}/hooks")
    delivery = pending_delivery(admin_user)
    start = timezone.now()
    delivery = attempt(delivery, start)
    assert delivery.status == "retrying"
    assert delivery.next_attempt_at == start + 5 * S
    assert delivery.response_status_code is None
    assert delivery.error.startswith("Could not connect: ")


@pytest.mark.parametrize(
    "answer, error",
    [
        (httpx.ConnectError("Connection refused"), "Could not connect: Connection refused"),
        (httpx.ReadTimeout("timed out"), "No answer within 10 seconds."),
        ((301, "moved"), "The endpoint answered HTTP 301 (redirects are not followed)."),
        ((404, "not here"), "The endpoint answered HTTP 404."),
    ],
)
def test_failures_are_described(admin_user, endpoint, transport, answer, error):
    transport.answers = [answer]
    delivery = attempt(pending_delivery(admin_user), timezone.now())
    assert (delivery.status, delivery.error) == ("retrying", error)
    assert delivery.attempts.get().error == error


def test_success_after_a_failure_clears_the_failure_streak(admin_user, endpoint, transport):
    transport.answers = [503, 204]
    delivery = pending_delivery(admin_user)
    start = timezone.now()
    attempt(delivery, start)
    endpoint.refresh_from_db()
    assert (endpoint.consecutive_failures, endpoint.failing_since) == (1, start)
    delivery = attempt(delivery, start + 5 * S)
    assert (delivery.status, delivery.attempt_count, delivery.response_status_code) == (
        "succeeded",
        2,
        204,
    )
    assert delivery.error == ""
    assert delivery.completed_at == start + 5 * S
    endpoint.refresh_from_db()
    assert (endpoint.consecutive_failures, endpoint.failing_since) == (0, None)


def test_the_response_excerpt_is_truncated(admin_user, endpoint, transport):
    transport.answers = [(500, "é" * 5000)]
    delivery = attempt(pending_delivery(admin_user), timezone.now())
    assert delivery.response_body == "é" * 2000


def test_sending_twice_sends_once(admin_user, endpoint, transport):
    delivery = pending_delivery(admin_user)
    tasks.deliveries_send.enqueue(delivery_ids=[delivery.pk])
    tasks.deliveries_send.enqueue(delivery_ids=[delivery.pk])
    services.delivery_attempt(delivery)
    assert services.deliveries_send_due(now=timezone.now() + 100 * H) == 0
    assert len(transport.requests) == 1
    assert WebhookAttempt.objects.count() == 1
    delivery.refresh_from_db()
    assert (delivery.status, delivery.attempt_count) == ("succeeded", 1)


def test_a_stale_retry_task_does_nothing(admin_user, endpoint, transport):
    transport.answers = [500, 500]
    delivery = pending_delivery(admin_user)
    start = timezone.now()
    attempt(delivery, start)
    # The sweeper made attempt 2 before the task scheduled after attempt 1 ran.
    attempt(delivery, start + 5 * S)
    tasks.delivery_retry.enqueue(delivery_id=delivery.pk, attempt_count=1)
    assert len(transport.requests) == 2
    delivery.refresh_from_db()
    assert delivery.attempt_count == 2


def test_a_retry_is_queued_for_its_time_when_the_backend_can_wait(
    admin_user, endpoint, transport, monkeypatch, django_capture_on_commit_callbacks
):
    """The database backend runs tasks later (`run_after`); the immediate one of the tests
    cannot, so a backend that can is stood in for it here."""
    backend = DummyBackend("default", {})
    monkeypatch.setattr(Task, "get_backend", lambda task: backend)
    transport.answers = [500]
    delivery = pending_delivery(admin_user)
    start = timezone.now()
    with django_capture_on_commit_callbacks(execute=True):
        attempt(delivery, start)
    [queued] = backend.results
    assert queued.task.name == "delivery_retry"
    assert queued.task.run_after == start + 5 * S
    assert queued.kwargs == {"delivery_id": delivery.pk, "attempt_count": 1}


def test_rotation_signs_with_both_secrets_for_a_day(admin_user, endpoint, transport):
    old_secret = endpoint.secret
    start = timezone.now()
    services.endpoint_rotate_secret(actor=admin_user, endpoint=endpoint, now=start)
    endpoint.refresh_from_db()
    assert endpoint.secret != old_secret
    assert endpoint.previous_secret == old_secret
    assert endpoint.previous_secret_expires_at == start + 24 * H
    delivery = pending_delivery(admin_user)
    attempt(delivery, timezone.now())
    request = transport.requests[-1]
    signatures = request.headers["webhook-signature"].split(" ")
    assert len(signatures) == 2
    for secret in (endpoint.secret, old_secret):
        assert Webhook(secret).verify(request.content, dict(request.headers)) == delivery.payload
    assert services.signing_secrets(endpoint, start + 24 * H) == [endpoint.secret]
    audit = AuditEvent.objects.filter(object_id=endpoint.pk, action="update").get()
    assert audit.changes == {"secret": ["(previous secret)", "(new secret)"]}


def test_five_days_of_failures_turn_the_endpoint_off(admin_user, endpoint, transport):
    transport.answers = [500] * 20
    first = pending_delivery(admin_user)
    start = timezone.now()
    attempt(first, start)
    customers.contact_create(actor=admin_user, data={"first_name": "Grace", "last_name": "Hop"})
    second = WebhookDelivery.objects.exclude(pk=first.pk).get()
    attempt(second, start + 5 * 24 * H - S)
    endpoint.refresh_from_db()
    assert endpoint.is_active is True
    assert services.deliveries_send_due(now=start + 5 * 24 * H) == 1  # `first`, retry 1
    endpoint.refresh_from_db()
    assert endpoint.is_active is False
    assert endpoint.consecutive_failures == 3
    assert endpoint.disabled_reason == (
        f"Turned off by Patron: every attempt failed since {start:%Y-%m-%d %H:%M} UTC "
        "(3 attempts in a row)."
    )
    event = AuditEvent.objects.filter(object_id=endpoint.pk, action="update").get()
    assert event.actor is None
    assert event.changes == {
        "is_active": [True, False],
        "disabled_reason": ["", endpoint.disabled_reason],
    }
    # Its open delivery fails at its next attempt without a request.
    requests_before = len(transport.requests)
    assert services.deliveries_send_due(now=start + 6 * 24 * H) == 2
    assert len(transport.requests) == requests_before
    second.refresh_from_db()
    assert (second.status, second.error) == (
        "failed",
        "The endpoint is turned off; nothing was sent.",
    )
    # Turning it back on clears the streak.
    services.endpoint_update(
        actor=admin_user, endpoint=endpoint, expected_version=None, data={"is_active": True}
    )
    endpoint.refresh_from_db()
    assert (endpoint.is_active, endpoint.disabled_reason, endpoint.consecutive_failures) == (
        True,
        "",
        0,
    )
    assert endpoint.failing_since is None


def test_deliveries_to_an_endpoint_turned_off_by_hand_fail_without_a_request(
    admin_user, endpoint, transport
):
    delivery = pending_delivery(admin_user)
    WebhookEndpoint.objects.filter(pk=endpoint.pk).update(is_active=False)
    delivery = attempt(delivery, timezone.now())
    assert delivery.status == "failed"
    assert transport.requests == []


def test_send_due_command_and_pruning(admin_user, endpoint, transport):
    old = pending_delivery(admin_user)
    attempt(old, timezone.now())
    WebhookDelivery.objects.filter(pk=old.pk).update(created_at=timezone.now() - 40 * 24 * H)
    customers.contact_create(actor=admin_user, data={"first_name": "Grace", "last_name": "Hop"})
    from io import StringIO

    out = StringIO()
    call_command("webhooks_send_due", "--prune-days", "30", stdout=out)
    assert out.getvalue() == (
        "Attempted 1 due deliveries.\nDeleted 1 finished deliveries older than 30 days.\n"
    )
    assert list(WebhookDelivery.objects.values_list("status", flat=True)) == ["succeeded"]
    assert WebhookAttempt.objects.count() == 1


def test_an_unexpected_error_is_a_failed_attempt_not_a_crash(admin_user, endpoint, transport):
    transport.answers = [ValueError("bad address")]
    delivery = attempt(pending_delivery(admin_user), timezone.now())
    assert (delivery.status, delivery.attempt_count, delivery.error) == (
        "retrying",
        1,
        "ValueError: bad address",
    )


# --- only public addresses ----------------------------------------------------------------

REFUSED = "is a private or internal address; webhooks are sent to public addresses only."


@pytest.mark.parametrize(
    "address",
    [
        "127.0.0.1",
        "127.8.9.10",
        "169.254.169.254",
        "10.0.0.1",
        "172.16.0.1",
        "192.168.0.1",
        "100.64.0.1",  # shared address space (carrier-grade NAT)
        "0.0.0.0",  # noqa: S104 (an address refused, not bound)
        "224.0.0.1",
        "240.0.0.1",
        "255.255.255.255",
        "192.0.2.1",  # documentation
        "::1",
        "::",
        "fe80::1",
        "fe80::1%eth0",
        "fc00::1",
        "ff02::1",
        "::ffff:127.0.0.1",
        "::ffff:169.254.169.254",
        "64:ff9b::a9fe:a9fe",  # NAT64 of 169.254.169.254
    ],
)
def test_internal_addresses_are_not_public(address):
    assert sender.is_public_address(address) is False


@pytest.mark.parametrize("address", ["93.184.215.14", "8.8.8.8", "2606:4700:4700::1111"])
def test_internet_addresses_are_public(address):
    assert sender.is_public_address(address) is True


def test_an_endpoint_saved_while_private_addresses_were_allowed_gets_nothing(
    admin_user, make_endpoint, receiver, settings
):
    make_endpoint(receiver.url)
    settings.PATRON_WEBHOOKS_ALLOW_PRIVATE = False
    delivery = attempt(pending_delivery(admin_user), timezone.now())
    assert receiver.received == []
    assert (delivery.status, delivery.response_status_code, delivery.response_body) == (
        "retrying",
        None,
        "",
    )
    assert delivery.error == f"Not sent: 127.0.0.1 {REFUSED}"
    assert delivery.attempts.get().error == delivery.error


def test_a_name_that_resolves_to_an_internal_address_when_sending_gets_nothing(
    admin_user, make_endpoint, receiver, dns, private_addresses_refused
):
    """DNS rebinding: public when the endpoint was saved, 127.0.0.1 when the event is sent."""
    port = receiver.url.split(":")[2].split("/")[0]
    make_endpoint(f"http://rebound.example.com:{port}/hooks/patron")
    dns["rebound.example.com"] = ["127.0.0.1"]
    delivery = attempt(pending_delivery(admin_user), timezone.now())
    assert receiver.received == []
    assert (delivery.status, delivery.error) == (
        "retrying",
        f"Not sent: rebound.example.com (127.0.0.1) {REFUSED}",
    )


def test_one_internal_address_among_public_ones_is_enough_to_refuse(
    admin_user, endpoint, transport, dns, private_addresses_refused
):
    dns["hooks.example.com"] = ["93.184.215.14", "10.9.8.7"]
    delivery = attempt(pending_delivery(admin_user), timezone.now())
    assert transport.requests == []
    assert delivery.error == f"Not sent: hooks.example.com (10.9.8.7) {REFUSED}"


def test_the_connection_goes_to_the_address_that_was_checked(
    admin_user, make_endpoint, receiver, dns
):
    """The request is sent to the address the check resolved (here 127.0.0.1, as private
    addresses are allowed), not looked up again: the name exists in no real DNS."""
    port = receiver.url.split(":")[2].split("/")[0]
    make_endpoint(f"http://pinned.example.com:{port}/hooks/patron")
    dns["pinned.example.com"] = ["127.0.0.1"]
    delivery = attempt(pending_delivery(admin_user), timezone.now())
    [received] = receiver.received
    assert received.headers["host"] == f"pinned.example.com:{port}"
    assert (delivery.status, delivery.error) == ("succeeded", "")


def test_the_connection_is_never_made_to_a_host_that_was_not_checked():
    backend = sender._PinnedBackend({"hooks.example.com": ["93.184.215.14"]})
    with pytest.raises(sender.AddressRefusedError):
        backend.connect_tcp("169.254.169.254", 80)


def test_a_name_that_does_not_resolve_is_a_failed_attempt(
    admin_user, endpoint, transport, dns, private_addresses_refused
):
    dns["hooks.example.com"] = []
    delivery = attempt(pending_delivery(admin_user), timezone.now())
    assert transport.requests == []
    assert (delivery.status, delivery.error) == (
        "retrying",
        "Could not connect: hooks.example.com could not be resolved "
        "([Errno -2] Name or service not known).",
    )


def test_a_redirect_to_an_internal_address_is_not_followed(
    admin_user, endpoint, transport, private_addresses_refused
):
    transport.answers = [
        httpx.Response(302, headers={"location": "http://169.254.169.254/latest/meta-data/"})
    ]
    delivery = attempt(pending_delivery(admin_user), timezone.now())
    [request] = transport.requests
    assert str(request.url) == "https://hooks.example.com/patron"
    assert (delivery.response_status_code, delivery.error) == (
        302,
        "The endpoint answered HTTP 302 (redirects are not followed).",
    )
