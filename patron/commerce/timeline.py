"""The timeline kinds commerce writes on accounts (and contacts): a quote was sent, accepted
or declined; an order was created, confirmed, fulfilled, invoiced or cancelled.

Entries inherit the visibility of their account, so they say the document's number, status
and total (what the account's people may know), never its lines or margins; the quote or
order itself stays behind `restrict`."""

from __future__ import annotations

from typing import Literal

from pydantic import Field

from patron.customers.timeline import KindData, TimelineKind


class QuoteEventData(KindData):
    quote_id: int
    number: str = Field(max_length=20)
    event: Literal["sent", "accepted", "declined"]
    status: str = Field(max_length=20)
    total: str = Field(max_length=30)
    currency: str = Field(max_length=3)
    by: str = Field(default="", max_length=200)


class OrderEventData(KindData):
    order_id: int
    number: str = Field(max_length=20)
    event: Literal["created", "confirmed", "fulfilled", "invoiced", "cancelled"]
    status: str = Field(max_length=20)
    total: str = Field(max_length=30)
    currency: str = Field(max_length=3)
    by: str = Field(default="", max_length=200)


QUOTE_KIND = TimelineKind("quote", "Quote", "❏", QuoteEventData, user_creatable=False)
ORDER_KIND = TimelineKind("order", "Order", "▣", OrderEventData, user_creatable=False)
