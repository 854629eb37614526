"""The timeline's extension point: every kind of entry is registered here.

The foundation registers note, call, meeting, email and task. Other capabilities register
their own kinds (an order, a case, a campaign send) from their AppConfig.ready(), with a
schema for their `data`, and then write entries through `services.timeline_entry_create`.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field


class KindData(BaseModel):
    """Base for a kind's `data` schema: unknown keys are refused."""

    model_config = ConfigDict(extra="forbid")


class NoData(KindData):
    pass


class CallData(KindData):
    direction: Literal["inbound", "outbound"] = "outbound"
    duration_seconds: int = Field(default=0, ge=0, le=24 * 3600)
    outcome: Literal["connected", "left_voicemail", "no_answer", "busy", "wrong_number"] = (
        "connected"
    )


class MeetingData(KindData):
    duration_minutes: int = Field(default=30, ge=0, le=24 * 60)
    location: str = Field(default="", max_length=200)


class EmailData(KindData):
    direction: Literal["inbound", "outbound"] = "outbound"
    from_address: str = Field(default="", max_length=254)
    to_addresses: list[str] = Field(default_factory=list, max_length=50)
    message_id: str = Field(default="", max_length=300)


CALL_OUTCOMES = {
    "connected": "Connected",
    "left_voicemail": "Left voicemail",
    "no_answer": "No answer",
    "busy": "Busy",
    "wrong_number": "Wrong number",
}


@dataclass(frozen=True)
class TimelineKind:
    """How one kind of timeline entry is validated and shown."""

    key: str
    label: str
    icon: str  # a short glyph shown in the timeline
    data_schema: type[KindData] = NoData
    user_creatable: bool = True  # offered in "log an activity" forms and the API
    has_due_date: bool = False


_registry: dict[str, TimelineKind] = {}


def register(kind: TimelineKind) -> None:
    if kind.key in _registry and _registry[kind.key] != kind:
        raise ValueError(f"Timeline kind {kind.key!r} is already registered differently")
    _registry[kind.key] = kind


def get(key: str) -> TimelineKind | None:
    return _registry.get(key)


def all_kinds() -> list[TimelineKind]:
    return list(_registry.values())


def register_builtin_kinds() -> None:
    register(TimelineKind("note", "Note", "✎"))
    register(TimelineKind("call", "Call", "☎", CallData))
    register(TimelineKind("meeting", "Meeting", "◷", MeetingData))
    register(TimelineKind("email", "Email", "✉", EmailData))
    register(TimelineKind("task", "Task", "☐", has_due_date=True))
