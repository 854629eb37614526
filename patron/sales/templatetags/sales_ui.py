"""Small template helpers of the sales pages."""

from __future__ import annotations

import datetime
from typing import Any

from django import template

register = template.Library()


@register.filter
def overdue(opportunity: Any, today: datetime.date | None = None) -> bool:
    """Open and past its expected close date or its next-step date."""
    return bool(opportunity.is_overdue(today))


@register.filter
def duration(value: datetime.timedelta) -> str:
    """A time in a stage, as people say it: "3 days", "5 hours", "12 minutes"."""
    seconds = int(value.total_seconds())
    if seconds >= 86400:
        days = seconds // 86400
        return f"{days} day{'s' if days != 1 else ''}"
    if seconds >= 3600:
        hours = seconds // 3600
        return f"{hours} hour{'s' if hours != 1 else ''}"
    minutes = max(seconds // 60, 0)
    return f"{minutes} minute{'s' if minutes != 1 else ''}"
