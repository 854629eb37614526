"""Per-request (or per-command, per-job) context: request id, origin and a small cache.

Audit entries read the request id and origin from here, so that the service layer can be
called from a view, the API, the CLI or a job and still record where a change came from.
"""

from __future__ import annotations

import contextvars
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any


@dataclass
class RequestContext:
    request_id: str
    origin: str  # "ui", "api", "cli", "job", "system"
    cache: dict[str, Any] = field(default_factory=dict)


_current: contextvars.ContextVar[RequestContext | None] = contextvars.ContextVar(
    "patron_request_context", default=None
)


def current() -> RequestContext:
    ctx = _current.get()
    if ctx is None:
        # Outside any request or command (shell, tests): a fresh context per call.
        return RequestContext(request_id=uuid.uuid4().hex, origin="system")
    return ctx


@contextmanager
def bind(*, origin: str, request_id: str | None = None) -> Iterator[RequestContext]:
    """Run a block (a request, a CLI command, a job) with its own request id and origin."""
    ctx = RequestContext(request_id=request_id or uuid.uuid4().hex, origin=origin)
    token = _current.set(ctx)
    try:
        yield ctx
    finally:
        _current.reset(token)


def set_origin(origin: str) -> None:
    ctx = _current.get()
    if ctx is not None:
        ctx.origin = origin
