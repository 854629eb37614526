"""Signing and posting one webhook request (Standard Webhooks). No database access here.

The signature is `v1,<base64 HMAC-SHA256 of "{webhook-id}.{webhook-timestamp}.{body}">` made
with the endpoint's secret; while a rotated secret is still honoured, the request carries one
signature per secret, separated by a space, as the specification allows.
"""

from __future__ import annotations

import base64
import datetime
import ipaddress
import logging
import secrets
import socket
import time
import uuid
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

import httpcore
import httpx
from django.conf import settings
from standardwebhooks import Webhook

SECRET_PREFIX = "whsec_"  # noqa: S105  (the Standard Webhooks marker, not a secret)
SECRET_BYTES = 32
TIMEOUT_SECONDS = 10.0
RESPONSE_EXCERPT_CHARS = 2000
USER_AGENT = "Patron-Webhooks/1"

logger = logging.getLogger("patron.webhooks")

# Tests replace this with an `httpx.MockTransport`; None means real network requests.
transport: httpx.BaseTransport | None = None


class AddressRefusedError(Exception):
    """The URL's host is, or resolves to, an address webhooks may not be sent to."""


class UnresolvedHostError(Exception):
    """The URL's host name could not be resolved."""


# IPv6 forms that carry an IPv4 address and reach it: IPv4-mapped (::ffff:a.b.c.d) is
# unwrapped by `ipv4_mapped`; the NAT64 well-known prefix is unwrapped here.
_NAT64 = ipaddress.ip_network("64:ff9b::/96")


def is_public_address(address: str) -> bool:
    """True for an address on the public internet; False for private, loopback, link-local,
    multicast, reserved, unspecified and other special-purpose ones (shared 100.64/10,
    documentation ranges…), including IPv4 addresses wrapped in IPv6."""
    ip: ipaddress.IPv4Address | ipaddress.IPv6Address = ipaddress.ip_address(
        address.split("%", 1)[0]  # an IPv6 scope (fe80::1%eth0)
    )
    if isinstance(ip, ipaddress.IPv6Address):
        if ip.ipv4_mapped is not None:
            ip = ip.ipv4_mapped
        elif ip in _NAT64:
            ip = ipaddress.IPv4Address(int(ip) & 0xFFFFFFFF)
    return ip.is_global and not (
        ip.is_private
        or ip.is_loopback
        or ip.is_link_local
        or ip.is_multicast
        or ip.is_reserved
        or ip.is_unspecified
    )


def private_addresses_allowed() -> bool:
    return bool(getattr(settings, "PATRON_WEBHOOKS_ALLOW_PRIVATE", False))


def resolve(host: str, port: int) -> list[str]:
    """The addresses `host` resolves to, in the resolver's order (an IP address: itself).
    Tests replace this function so that none depends on real DNS."""
    infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    return list(dict.fromkeys(str(info[4][0]) for info in infos))


def checked_addresses(host: str, port: int) -> list[str]:
    """Resolve `host` and return its addresses, all of them public; AddressRefusedError when
    one is not (unless private addresses are allowed), UnresolvedHostError when the name does
    not resolve. Every address is checked, not only the first: a name that answers with a
    public and a private address could be connected to either."""
    allowed = private_addresses_allowed()
    name = host.lower().rstrip(".")
    if not allowed and (name == "localhost" or name.endswith(".localhost")):
        raise AddressRefusedError(_refusal(host, "127.0.0.1"))
    try:
        addresses = resolve(host, port)
    except (OSError, UnicodeError) as exc:
        raise UnresolvedHostError(f"{host} could not be resolved ({exc}).") from exc
    if not addresses:
        raise UnresolvedHostError(f"{host} could not be resolved.")
    if not allowed:
        for address in addresses:
            if not is_public_address(address):
                raise AddressRefusedError(_refusal(host, address))
    return addresses


def _refusal(host: str, address: str) -> str:
    where = address if host == address else f"{host} ({address})"
    return f"{where} is a private or internal address; webhooks are sent to public addresses only."


def _host_and_port(url: str) -> tuple[str, int]:
    parsed = httpx.URL(url)
    port = parsed.port or (443 if parsed.scheme == "https" else 80)
    return parsed.raw_host.decode("ascii"), port


def url_problem(url: str) -> str | None:
    """Why webhooks may not be sent to `url`, or None; checked when an endpoint is saved. A
    name that does not resolve (yet) passes: every send checks again."""
    if private_addresses_allowed():
        return None
    try:
        checked_addresses(*_host_and_port(url))
    except AddressRefusedError as exc:
        return str(exc)
    except (UnresolvedHostError, httpx.InvalidURL):
        return None
    return None


class _PinnedBackend(httpcore.SyncBackend):
    """Connects only to the addresses checked before the request, never to whatever a
    second DNS lookup would answer (DNS rebinding); TLS still checks the certificate against
    the host name of the URL."""

    def __init__(self, pins: dict[str, list[str]]) -> None:
        self.pins = pins

    def connect_tcp(
        self,
        host: str,
        port: int,
        timeout: float | None = None,
        local_address: str | None = None,
        socket_options: Iterable[Any] | None = None,
    ) -> httpcore.NetworkStream:
        addresses = self.pins.get(host)
        if not addresses:  # a host nobody checked (a redirect, were they ever followed)
            raise AddressRefusedError(f"{host} was not checked; nothing was sent to it.")
        error: Exception | None = None
        for address in addresses:
            try:
                return super().connect_tcp(
                    address,
                    port,
                    timeout=timeout,
                    local_address=local_address,
                    socket_options=socket_options,
                )
            except (httpcore.ConnectError, httpcore.ConnectTimeout) as exc:
                error = exc
        assert error is not None
        raise error


def _pinned_transport(host: str, addresses: list[str]) -> httpx.HTTPTransport:
    """An httpx transport that connects to `host` at `addresses` only. httpx has no public way
    to give its connection pool a network backend, so the pool is replaced by one with the
    same TLS settings."""
    pinned = httpx.HTTPTransport()
    pinned._pool = httpcore.ConnectionPool(
        ssl_context=httpx.create_ssl_context(),
        network_backend=_PinnedBackend({host: addresses}),
    )
    return pinned


def new_secret() -> str:
    return SECRET_PREFIX + base64.b64encode(secrets.token_bytes(SECRET_BYTES)).decode()


def new_message_id() -> str:
    return f"msg_{uuid.uuid4().hex}"


def signature_header(
    *, secrets_: Iterable[str], message_id: str, timestamp: datetime.datetime, body: str
) -> str:
    utc = timestamp.astimezone(datetime.UTC)  # the library reads the value as UTC
    return " ".join(
        Webhook(secret).sign(msg_id=message_id, timestamp=utc, data=body) for secret in secrets_
    )


def request_headers(
    *, secrets_: Iterable[str], message_id: str, timestamp: datetime.datetime, body: str
) -> dict[str, str]:
    return {
        "content-type": "application/json",
        "user-agent": USER_AGENT,
        "webhook-id": message_id,
        "webhook-timestamp": str(int(timestamp.timestamp())),
        "webhook-signature": signature_header(
            secrets_=secrets_, message_id=message_id, timestamp=timestamp, body=body
        ),
    }


@dataclass
class Outcome:
    """What one request came to: a status code and the start of the answer, or an error."""

    status_code: int | None = None
    response_body: str = ""
    error: str = ""
    duration_ms: int = 0
    headers: dict[str, str] = field(default_factory=dict)

    @property
    def succeeded(self) -> bool:
        return self.status_code is not None and 200 <= self.status_code < 300


def post(url: str, *, body: str, headers: dict[str, str]) -> Outcome:
    """POST `body` to `url`; never raises for network trouble, reports it in the outcome.

    The host must resolve to public addresses only (see the module's docstring) and the
    connection goes to one of those; proxies from the environment are not used, since a
    proxy would make its own lookup. Redirects are not followed (a 3xx is a failure, as with
    other providers) and only the first few kilobytes of the answer are read."""
    started = time.monotonic()
    outcome = Outcome(headers=headers)
    try:
        host, port = _host_and_port(url)
        addresses = checked_addresses(host, port)
        with (
            httpx.Client(
                timeout=TIMEOUT_SECONDS,
                follow_redirects=False,
                trust_env=False,
                transport=transport or _pinned_transport(host, addresses),
            ) as client,
            client.stream("POST", url, content=body.encode(), headers=headers) as response,
        ):
            outcome.status_code = response.status_code
            outcome.response_body = _excerpt(response)
    except AddressRefusedError as exc:
        outcome.error = f"Not sent: {exc}"
    except UnresolvedHostError as exc:
        outcome.error = f"Could not connect: {exc}"
    except httpx.TimeoutException:
        outcome.error = f"No answer within {TIMEOUT_SECONDS:g} seconds."
    except httpx.ConnectError as exc:
        outcome.error = f"Could not connect: {exc}"
    except httpx.HTTPError as exc:
        outcome.error = f"{type(exc).__name__}: {exc}"
    except Exception as exc:  # an address httpx refuses, a TLS library error: still a failure
        logger.warning("Webhook request to %s failed unexpectedly", url, exc_info=True)
        outcome.error = f"{type(exc).__name__}: {exc}"
    outcome.duration_ms = round((time.monotonic() - started) * 1000)
    if outcome.status_code is not None and not outcome.succeeded:
        outcome.error = f"The endpoint answered HTTP {outcome.status_code}" + (
            " (redirects are not followed)." if 300 <= outcome.status_code < 400 else "."
        )
    return outcome


def _excerpt(response: httpx.Response) -> str:
    limit = RESPONSE_EXCERPT_CHARS * 4  # bytes enough for that many characters in UTF-8
    data = b""
    for chunk in response.iter_bytes():
        data += chunk
        if len(data) >= limit:
            break
    try:
        text = data[:limit].decode(response.charset_encoding or "utf-8", errors="replace")
    except LookupError:  # a charset Python does not know
        text = data[:limit].decode("utf-8", errors="replace")
    return text[:RESPONSE_EXCERPT_CHARS]
