"""Change events: every audited write is also offered to the apps that react to changes.

The audit trail is the one place every create, update and delete passes through (services call
`audit.record`, bulk writers call `audit.record_many`), so it is where outbound integrations such
as webhooks learn about changes. A listener runs inside the writer's transaction: it should only
*store* what it must do later (an outbox row) and leave slow work to a job started after commit.
Listeners are registered explicitly in an app's `AppConfig.ready()` (decision 0009).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from .models import AuditEvent

Listener = Callable[[Sequence["AuditEvent"]], None]

_listeners: list[Listener] = []


def subscribe(listener: Listener) -> None:
    """Call `listener` with every batch of audit events written from now on (idempotent)."""
    if listener not in _listeners:
        _listeners.append(listener)


def unsubscribe(listener: Listener) -> None:
    if listener in _listeners:
        _listeners.remove(listener)


def publish(events: Sequence[AuditEvent]) -> None:
    """Hand freshly written audit events to every listener (same transaction as the write)."""
    if not events:
        return
    for listener in list(_listeners):
        listener(events)
