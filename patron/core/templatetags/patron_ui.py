"""Template helpers of the web UI: icons, avatars, badges and small formatters.

Icons are constant SVG markup (never user data), so marking them safe is harmless; every
helper that touches user text returns plain strings and lets autoescaping do its job.
"""

from __future__ import annotations

import hashlib
import re
from typing import Any

from django import template
from django.utils.safestring import mark_safe

from patron.core.permissions import can as can_perm
from patron.utils import phones

register = template.Library()

# Outline icons drawn on a 24x24 grid (in the spirit of Lucide, ISC licence).
ICONS = {
    "home": '<path d="m3 9 9-7 9 7v11a2 2 0 0 1-2 2H5a2 2 0 0 1-2-2z"/><path d="M9 22V12h6v10"/>',
    "users": '<path d="M16 21v-2a4 4 0 0 0-4-4H6a4 4 0 0 0-4 4v2"/><circle cx="9" cy="7" r="4"/>'
    '<path d="M22 21v-2a4 4 0 0 0-3-3.87"/><path d="M16 3.13a4 4 0 0 1 0 7.75"/>',
    "user": '<path d="M19 21v-2a4 4 0 0 0-4-4H9a4 4 0 0 0-4 4v2"/><circle cx="12" cy="7" r="4"/>',
    "building": '<rect x="4" y="2" width="16" height="20" rx="2"/><path d="M9 22v-4h6v4"/>'
    '<path d="M8 6h.01M16 6h.01M12 6h.01M12 10h.01M12 14h.01M16 10h.01M16 14h.01'
    'M8 10h.01M8 14h.01"/>',
    "search": '<circle cx="11" cy="11" r="8"/><path d="m21 21-4.3-4.3"/>',
    "phone": '<path d="M22 16.92v3a2 2 0 0 1-2.18 2 19.79 19.79 0 0 1-8.63-3.07 19.5 19.5 0 0 '
    "1-6-6 19.79 19.79 0 0 1-3.07-8.67A2 2 0 0 1 4.11 2h3a2 2 0 0 1 2 1.72c.13.96.36 "
    "1.9.7 2.81a2 2 0 0 1-.45 2.11L8.09 9.91a16 16 0 0 0 6 6l1.27-1.27a2 2 0 0 1 "
    '2.11-.45c.91.34 1.85.57 2.81.7A2 2 0 0 1 22 16.92z"/>',
    "mail": '<rect width="20" height="16" x="2" y="4" rx="2"/>'
    '<path d="m22 7-8.97 5.7a1.94 1.94 0 0 1-2.06 0L2 7"/>',
    "note": '<path d="M14 2H6a2 2 0 0 0-2 2v16a2 2 0 0 0 2 2h12a2 2 0 0 0 2-2V8z"/>'
    '<path d="M14 2v6h6"/><path d="M16 13H8M16 17H8M10 9H8"/>',
    "calendar": '<rect width="18" height="18" x="3" y="4" rx="2"/>'
    '<path d="M16 2v4M8 2v4M3 10h18"/>',
    "task": '<path d="m9 11 3 3L22 4"/>'
    '<path d="M21 12v7a2 2 0 0 1-2 2H5a2 2 0 0 1-2-2V5a2 2 0 0 1 2-2h11"/>',
    "plus": '<path d="M5 12h14M12 5v14"/>',
    "edit": '<path d="M17 3a2.85 2.83 0 1 1 4 4L7.5 20.5 2 22l1.5-5.5Z"/>',
    "trash": '<path d="M3 6h18M19 6v14c0 1-1 2-2 2H7c-1 0-2-1-2-2V6M8 6V4c0-1 1-2 2-2h4c1 0 2 1 '
    '2 2v2"/>',
    "download": '<path d="M21 15v4a2 2 0 0 1-2 2H5a2 2 0 0 1-2-2v-4"/><path d="m7 10 5 5 5-5"/>'
    '<path d="M12 15V3"/>',
    "key": '<circle cx="7.5" cy="15.5" r="5.5"/><path d="m21 2-9.6 9.6M15.5 7.5l3 3L22 7l-3-3"/>',
    "logout": '<path d="M9 21H5a2 2 0 0 1-2-2V5a2 2 0 0 1 2-2h4"/><path d="m16 17 5-5-5-5"/>'
    '<path d="M21 12H9"/>',
    "shield": '<path d="M12 22s8-4 8-10V5l-8-3-8 3v7c0 6 8 10 8 10z"/>',
    "clock": '<circle cx="12" cy="12" r="10"/><path d="M12 6v6l4 2"/>',
    "pin": '<path d="M20 10c0 6-8 12-8 12s-8-6-8-12a8 8 0 0 1 16 0Z"/>'
    '<circle cx="12" cy="10" r="3"/>',
    "x": '<path d="M18 6 6 18M6 6l12 12"/>',
    "chevron-down": '<path d="m6 9 6 6 6-6"/>',
    "chevron-left": '<path d="m15 18-6-6 6-6"/>',
    "chevron-right": '<path d="m9 18 6-6-6-6"/>',
    "arrow-up": '<path d="m18 15-6-6-6 6"/>',
    "arrow-down": '<path d="m6 9 6 6 6-6"/>',
    "sort": '<path d="m7 15 5 5 5-5M7 9l5-5 5 5"/>',
    "filter": '<path d="M22 3H2l8 9.46V19l4 2v-8.54L22 3z"/>',
    "tag": '<path d="M12 2H2v10l9.29 9.29a2.41 2.41 0 0 0 3.42 0l6.58-6.58a2.41 2.41 0 0 0 '
    '0-3.42L12 2Z"/><path d="M7 7h.01"/>',
    "activity": '<path d="M22 12h-4l-3 9L9 3l-3 9H2"/>',
    "history": '<path d="M3 12a9 9 0 1 0 9-9 9.75 9.75 0 0 0-6.74 2.74L3 8"/><path d="M3 3v5h5"/>'
    '<path d="M12 7v5l4 2"/>',
    "alert": '<path d="m21.73 18-8-14a2 2 0 0 0-3.48 0l-8 14A2 2 0 0 0 4 21h16a2 2 0 0 0 '
    '1.73-3Z"/><path d="M12 9v4M12 17h.01"/>',
    "check": '<path d="M20 6 9 17l-5-5"/>',
    "link": '<path d="M10 13a5 5 0 0 0 7.54.54l3-3a5 5 0 0 0-7.07-7.07l-1.72 1.71"/>'
    '<path d="M14 11a5 5 0 0 0-7.54-.54l-3 3a5 5 0 0 0 7.07 7.07l1.71-1.71"/>',
    "refresh": '<path d="M3 12a9 9 0 0 1 9-9 9.75 9.75 0 0 1 6.74 2.74L21 8"/>'
    '<path d="M21 3v5h-5"/>'
    '<path d="M21 12a9 9 0 0 1-9 9 9.75 9.75 0 0 1-6.74-2.74L3 16"/>'
    '<path d="M8 16H3v5"/>',
    "settings": '<circle cx="12" cy="12" r="3"/><path d="M12 1v4M12 19v4M4.22 4.22l2.83 2.83'
    "M16.95 16.95l2.83 2.83M1 12h4M19 12h4M4.22 19.78l2.83-2.83"
    'M16.95 7.05l2.83-2.83"/>',
    "globe": '<circle cx="12" cy="12" r="10"/><path d="M2 12h20"/>'
    '<path d="M12 2a15.3 15.3 0 0 1 4 10 15.3 15.3 0 0 1-4 10 15.3 15.3 0 0 1-4-10 '
    '15.3 15.3 0 0 1 4-10z"/>',
}

# Built-in timeline kinds drawn with an icon; other kinds fall back to their registered glyph.
KIND_ICONS = {
    "note": "note",
    "call": "phone",
    "meeting": "calendar",
    "email": "mail",
    "task": "task",
}

_COLOR = re.compile(r"^#[0-9a-fA-F]{6}$")


@register.simple_tag
def icon(name: str, size: int = 16, cls: str = "") -> str:
    body = ICONS.get(name, ICONS["activity"])
    return mark_safe(  # noqa: S308 - constant markup from ICONS, no user data
        f'<svg class="icon {cls}" width="{int(size)}" height="{int(size)}" viewBox="0 0 24 24" '
        f'fill="none" stroke="currentColor" stroke-width="2" stroke-linecap="round" '
        f'stroke-linejoin="round" aria-hidden="true">{body}</svg>'
    )


@register.simple_tag
def kind_icon(kind_key: str) -> str:
    return icon(KIND_ICONS.get(kind_key, "activity"), 15)


@register.simple_tag(takes_context=True)
def can(context: template.Context, permission: str) -> bool:
    """`{% can "contact.add" as may_add %}`: the role check of the current user."""
    request = context.get("request")
    return can_perm(getattr(request, "user", None), permission)


@register.filter
def initials(value: Any) -> str:
    """Two letters for an avatar: "Ada Lovelace" -> "AL"."""
    if value is None:
        return "?"
    if hasattr(value, "first_name") and hasattr(value, "last_name"):
        parts = [value.first_name, value.last_name]
        if not any(parts):
            parts = [getattr(value, "username", "") or str(value)]
    else:
        parts = str(value).split()
    letters = "".join(p[0] for p in parts if p)[:2]
    return letters.upper() or "?"


@register.filter
def hue(value: Any) -> int:
    """A stable colour hue (0-359) for an avatar, derived from the name."""
    digest = hashlib.md5(str(value).encode(), usedforsecurity=False).hexdigest()
    return int(digest[:4], 16) % 360


@register.filter
def tag_color(value: str) -> str:
    """A tag's colour if it is a well-formed hex colour, else a neutral grey."""
    return value if value and _COLOR.match(value) else "#64748b"


@register.filter
def phone(point: Any) -> str:
    return phones.display(getattr(point, "e164", ""), getattr(point, "number", ""))


@register.filter
def phone_display(e164: str | None, number: str | None) -> str:
    """`phone` for a list row's annotated primary phone: `{{ e164|phone_display:number }}`."""
    return phones.display(e164 or "", number or "")


@register.filter
def duration(seconds: Any) -> str:
    try:
        total = int(seconds)
    except (TypeError, ValueError):
        return ""
    minutes, secs = divmod(total, 60)
    hours, minutes = divmod(minutes, 60)
    if hours:
        return f"{hours}h {minutes:02d}m"
    if minutes:
        return f"{minutes}m {secs:02d}s"
    return f"{secs}s"


@register.filter
def get_item(mapping: Any, key: str) -> Any:
    if isinstance(mapping, dict):
        return mapping.get(key)
    return None


@register.filter
def cf_display(value: Any) -> str:
    """A custom-field value as shown in lists and cards."""
    if value is None or value == "":
        return ""
    if value is True:
        return "Yes"
    if value is False:
        return "No"
    return str(value)


@register.filter
def audit_value(value: Any) -> str:
    if value is None or value == "" or value == []:
        return "—"
    if isinstance(value, list):
        return ", ".join(str(v) for v in value)
    if isinstance(value, dict):
        return ", ".join(f"{k}: {v}" for k, v in value.items())
    if value is True:
        return "Yes"
    if value is False:
        return "No"
    return str(value)


@register.filter
def field_label(name: str) -> str:
    return str(name).replace("custom_fields", "custom fields").replace("_", " ").capitalize()
