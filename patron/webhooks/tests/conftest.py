"""Fixtures of the webhooks tests: endpoints, a recording HTTP transport, a real receiver."""

from __future__ import annotations

import http.server
import ipaddress
import json
import socket
import threading
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Any

import httpx
import pytest

from patron.webhooks import sender, services
from patron.webhooks.models import WebhookEndpoint

# What any name not in the `dns` table resolves to: a public address (nothing is sent there,
# requests go to a `transport` or a `receiver`).
PUBLIC_ADDRESS = "93.184.215.14"


@pytest.fixture(autouse=True)
def dns(monkeypatch) -> dict[str, list[str]]:
    """No test depends on real DNS: an IP address resolves to itself, a name in this table to
    its addresses (an empty list: it does not resolve), any other name to PUBLIC_ADDRESS."""
    table: dict[str, list[str]] = {"localhost": ["127.0.0.1", "::1"]}

    def resolve(host: str, port: int) -> list[str]:
        try:
            ipaddress.ip_address(host)
        except ValueError:
            pass
        else:
            return [host]
        addresses = table.get(host, [PUBLIC_ADDRESS])
        if not addresses:
            raise socket.gaierror(socket.EAI_NONAME, "Name or service not known")
        return addresses

    monkeypatch.setattr(sender, "resolve", resolve)
    return table


@pytest.fixture(autouse=True)
def _private_addresses_allowed(settings) -> None:
    """The `receiver` listens on 127.0.0.1, which Patron refuses by default: these tests run
    as a development install would (PATRON_WEBHOOKS_ALLOW_PRIVATE=1). The tests of the
    refusal turn it off again (`private_addresses_refused`)."""
    settings.PATRON_WEBHOOKS_ALLOW_PRIVATE = True


@pytest.fixture
def private_addresses_refused(settings) -> None:
    settings.PATRON_WEBHOOKS_ALLOW_PRIVATE = False


@pytest.fixture
def make_endpoint(admin_user) -> Callable[..., WebhookEndpoint]:
    def make(url: str = "https://hooks.example.com/patron", **data: Any) -> WebhookEndpoint:
        return services.endpoint_create(actor=admin_user, data={"url": url, **data})

    return make


@pytest.fixture
def endpoint(make_endpoint) -> WebhookEndpoint:
    return make_endpoint()


@dataclass
class Recorder:
    """An `httpx.MockTransport` answering with a queue of status codes (or exceptions) and
    keeping every request it was sent."""

    answers: list[Any] = field(default_factory=list)
    requests: list[httpx.Request] = field(default_factory=list)

    def handle(self, request: httpx.Request) -> httpx.Response:
        request.read()
        self.requests.append(request)
        answer = self.answers.pop(0) if self.answers else 200
        if isinstance(answer, Exception):
            raise answer
        if isinstance(answer, httpx.Response):
            return answer
        if isinstance(answer, tuple):
            return httpx.Response(answer[0], text=answer[1])
        return httpx.Response(answer, text="ok")


@pytest.fixture
def transport(monkeypatch) -> Recorder:
    """Every webhook request goes to a Recorder instead of the network."""
    recorder = Recorder()
    monkeypatch.setattr(sender, "transport", httpx.MockTransport(recorder.handle))
    return recorder


@dataclass
class Received:
    path: str
    headers: dict[str, str]
    body: bytes


class _Handler(http.server.BaseHTTPRequestHandler):
    def do_POST(self) -> None:  # noqa: N802 (the http.server API)
        length = int(self.headers.get("Content-Length", "0"))
        server: Any = self.server
        server.received.append(
            Received(
                path=self.path,
                headers={k.lower(): v for k, v in self.headers.items()},
                body=self.rfile.read(length),
            )
        )
        status, text = server.answers.pop(0) if server.answers else (200, '{"ok": true}')
        data = text.encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def log_message(self, format: str, *args: Any) -> None:  # noqa: A002
        pass


@dataclass
class Receiver:
    url: str
    received: list[Received]
    answers: list[tuple[int, str]]


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    """A real HTTP server on 127.0.0.1 in a thread, recording what it is sent."""
    server: Any = http.server.ThreadingHTTPServer(("127.0.0.1", 0), _Handler)
    server.received, server.answers = [], []
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield Receiver(
            url=f"http://127.0.0.1:{server.server_address[1]}/hooks/patron",
            received=server.received,
            answers=server.answers,
        )
    finally:
        server.shutdown()
        server.server_close()


def body_of(delivery) -> dict[str, Any]:
    return json.loads(delivery.body)


@pytest.fixture
def commit(django_capture_on_commit_callbacks):
    """`with commit(): ...` runs what the block queued for after commit, as a real commit
    would (the test itself stays in one transaction). Use it with `transport` or a
    `receiver` endpoint: it sends."""

    def run():
        return django_capture_on_commit_callbacks(execute=True)

    return run
