"""The timeline kind leads write on contacts and accounts: this customer was converted from a
lead (its source, campaign and score at the time)."""

from __future__ import annotations

from pydantic import Field

from patron.customers.timeline import KindData, TimelineKind


class LeadConvertedData(KindData):
    lead_id: int
    source: str = Field(default="", max_length=50)
    campaign: str = Field(default="", max_length=200)
    score: int = 0
    by: str = Field(default="", max_length=200)


LEAD_KIND = TimelineKind("lead", "Lead converted", "★", LeadConvertedData, user_creatable=False)
