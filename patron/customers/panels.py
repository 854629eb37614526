"""Side panels other apps add to record pages — contacts and accounts (lineage from
integration, quality scores, open deals) and other apps' records such as opportunities (their
products) — loaded by htmx from the app's own URL, so the page's app never imports theirs.
Apps register in their `AppConfig.ready()`."""

from __future__ import annotations

from dataclasses import dataclass

from django.urls import reverse


@dataclass(frozen=True)
class RecordPanel:
    key: str
    title: str
    url_name: str  # a view taking (object_type, pk) and answering an HTML fragment
    permission: str = ""  # a role permission the viewer needs to see the panel at all
    object_types: tuple[str, ...] = ("contact", "account")  # the pages it appears on


_panels: dict[str, RecordPanel] = {}


def register(panel: RecordPanel) -> None:
    _panels[panel.key] = panel


def panels_for(user, object_type: str, pk: int) -> list[dict[str, str]]:
    """The panels this user sees on a record page, with the URL each loads from."""
    from patron.core.permissions import can

    return [
        {"key": p.key, "title": p.title, "url": reverse(p.url_name, args=[object_type, pk])}
        for p in _panels.values()
        if object_type in p.object_types and (not p.permission or can(user, p.permission))
    ]


# --- hints beside the create form (a duplicate check, later others) ---------------------------

_form_hints: dict[str, str] = {}


def register_form_hint(key: str, url_name: str) -> None:
    """A fragment shown beside the new-contact / new-account form and refreshed as the user
    types; its view takes the object type and reads the form's fields from the query string."""
    _form_hints[key] = url_name


def form_hints_for(object_type: str) -> list[dict[str, str]]:
    return [
        {"key": key, "url": reverse(url_name, args=[object_type])}
        for key, url_name in _form_hints.items()
    ]
