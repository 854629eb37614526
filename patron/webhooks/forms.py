"""Forms of the webhook pages: they parse input; the services validate and write."""

from __future__ import annotations

from typing import Any

from django import forms

from .models import EVENT_TYPES, OBJECT_TYPES, VERBS, WebhookEndpoint


class EndpointForm(forms.Form):
    url = forms.CharField(
        label="URL",
        max_length=500,
        widget=forms.TextInput(
            attrs={"placeholder": "https://example.com/webhooks/patron", "inputmode": "url"}
        ),
        help_text="Where Patron sends events, with http:// or https://.",
    )
    description = forms.CharField(
        max_length=200,
        required=False,
        widget=forms.TextInput(attrs={"placeholder": "e.g. Data warehouse sync"}),
    )
    event_types = forms.MultipleChoiceField(
        choices=[(t, t) for t in EVENT_TYPES],
        required=False,
        widget=forms.CheckboxSelectMultiple,
        label="Events",
        help_text="Leave every box empty to receive all events, including future ones.",
    )
    is_active = forms.BooleanField(label="Active", required=False, initial=True)
    version = forms.IntegerField(required=False, widget=forms.HiddenInput)

    def __init__(self, *args: Any, endpoint: WebhookEndpoint | None = None, **kwargs: Any):
        if endpoint is not None and not args and "data" not in kwargs:
            kwargs["initial"] = {
                "url": endpoint.url,
                "description": endpoint.description,
                "event_types": endpoint.event_types,
                "is_active": endpoint.is_active,
                "version": endpoint.version,
            }
        super().__init__(*args, **kwargs)

    def service_data(self) -> dict[str, Any]:
        return {
            name: self.cleaned_data[name]
            for name in ("url", "description", "event_types", "is_active")
        }

    def event_groups(self) -> list[tuple[str, list[tuple[str, str, bool]]]]:
        """The event checkboxes grouped by record: [(object, [(value, verb, checked)])]."""
        if self.is_bound:
            chosen = set(self.data.getlist("event_types"))  # type: ignore[attr-defined]
        else:
            chosen = set(self.initial.get("event_types") or [])
        return [
            (obj, [(f"{obj}.{verb}", verb, f"{obj}.{verb}" in chosen) for verb in VERBS])
            for obj in OBJECT_TYPES
        ]
