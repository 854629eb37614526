"""Signing and posting one webhook request (Standard Webhooks). No database access here.

The signature is `v1,<base64 HMAC-SHA256 of "{webhook-id}.{webhook-timestamp}.{body}">` made
with the endpoint's secret; while a rotated secret is still honoured, the request carries one
signature per secret, separated by a space, as the specification allows.
"""

from __future__ import annotations

import base64
import datetime
import logging
import secrets
import time
import uuid
from collections.abc import Iterable
from dataclasses import dataclass, field

import httpx
from standardwebhooks import Webhook

SECRET_PREFIX = "whsec_"  # noqa: S105  (the Standard Webhooks marker, not a secret)
SECRET_BYTES = 32
TIMEOUT_SECONDS = 10.0
RESPONSE_EXCERPT_CHARS = 2000
USER_AGENT = "Patron-Webhooks/1"

logger = logging.getLogger("patron.webhooks")

# Tests replace this with an `httpx.MockTransport`; None means real network requests.
transport: httpx.BaseTransport | None = None


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

    Redirects are not followed (a 3xx is a failure, as with other providers) and only the
    first few kilobytes of the answer are read."""
    started = time.monotonic()
    outcome = Outcome(headers=headers)
    try:
        with (
            httpx.Client(
                timeout=TIMEOUT_SECONDS, follow_redirects=False, transport=transport
            ) as client,
            client.stream("POST", url, content=body.encode(), headers=headers) as response,
        ):
            outcome.status_code = response.status_code
            outcome.response_body = _excerpt(response)
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
