"""The timeline kind sales writes on accounts and contacts: an opportunity was created,
changed stage, was won or lost.

Timeline entries inherit the visibility of their account or contact, not of the opportunity,
so an entry says only the opportunity's name, its stages and the won/lost reason, never its
amount; the opportunity itself stays behind `restrict` (its link answers 404 to whoever may
not see it)."""

from __future__ import annotations

from typing import Literal

from pydantic import Field

from patron.customers.timeline import KindData, TimelineKind


class OpportunityEventData(KindData):
    opportunity_id: int
    event: Literal["created", "stage_changed", "won", "lost"]
    from_stage: str = Field(default="", max_length=100)
    to_stage: str = Field(default="", max_length=100)
    by: str = Field(default="", max_length=200)


OPPORTUNITY_KIND = TimelineKind(
    "opportunity", "Opportunity", "◆", OpportunityEventData, user_creatable=False
)
