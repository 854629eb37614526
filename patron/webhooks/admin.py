"""Django admin: endpoints are configured through their services (audited); the delivery log
is read-only."""

from __future__ import annotations

from typing import Any

from django import forms
from django.contrib import admin
from django.core.exceptions import ValidationError

from . import services
from .models import EVENT_TYPES, WebhookAttempt, WebhookDelivery, WebhookEndpoint


class WebhookEndpointForm(forms.ModelForm):
    event_types = forms.MultipleChoiceField(
        choices=[(t, t) for t in EVENT_TYPES],
        required=False,
        widget=forms.CheckboxSelectMultiple,
        help_text="None ticked: every event.",
    )

    class Meta:
        model = WebhookEndpoint
        fields = ["url", "description", "event_types", "is_active"]

    def clean(self) -> dict[str, Any]:
        """The service's own rules (http/https only, known event types), shown on the form."""
        cleaned = super().clean() or {}
        try:
            services.endpoint_clean_data(
                {name: cleaned[name] for name in self.Meta.fields if name in cleaned}
            )
        except ValidationError as exc:
            raise ValidationError(exc.message_dict) from None
        return cleaned


@admin.register(WebhookEndpoint)
class WebhookEndpointAdmin(admin.ModelAdmin):
    form = WebhookEndpointForm
    list_display = ["url", "description", "is_active", "consecutive_failures", "created_at"]
    list_filter = ["is_active"]
    search_fields = ["url", "description"]
    readonly_fields = ["disabled_reason", "consecutive_failures", "failing_since", "created_at"]

    def save_model(self, request: Any, obj: WebhookEndpoint, form: Any, change: bool) -> None:
        data = {name: form.cleaned_data[name] for name in WebhookEndpointForm.Meta.fields}
        if change:
            current = WebhookEndpoint.objects.get(pk=obj.pk)
            changed = {name: data[name] for name in form.changed_data if name in data}
            services.endpoint_update(
                actor=request.user, endpoint=current, expected_version=current.version, data=changed
            )
        else:
            obj.pk = services.endpoint_create(actor=request.user, data=data).pk

    def delete_model(self, request: Any, obj: WebhookEndpoint) -> None:
        services.endpoint_delete(actor=request.user, endpoint=obj)

    def delete_queryset(self, request: Any, queryset: Any) -> None:
        for obj in queryset:
            self.delete_model(request, obj)


class WebhookAttemptInline(admin.TabularInline):
    model = WebhookAttempt
    extra = 0
    can_delete = False
    fields = ["number", "attempted_at", "response_status_code", "duration_ms", "error"]
    readonly_fields = ["number", "attempted_at", "response_status_code", "duration_ms", "error"]

    def has_add_permission(self, request: Any, obj: Any = None) -> bool:
        return False


@admin.register(WebhookDelivery)
class WebhookDeliveryAdmin(admin.ModelAdmin):
    """The delivery log: readable here, changed only by sending and redelivery."""

    list_display = [
        "created_at",
        "event_type",
        "endpoint",
        "status",
        "attempt_count",
        "response_status_code",
        "message_id",
    ]
    list_filter = ["status", "event_type", "endpoint"]
    search_fields = ["message_id"]
    list_select_related = ["endpoint"]
    date_hierarchy = "created_at"
    inlines = [WebhookAttemptInline]

    def has_add_permission(self, request: Any) -> bool:
        return False

    def has_change_permission(self, request: Any, obj: Any = None) -> bool:
        return False

    def has_delete_permission(self, request: Any, obj: Any = None) -> bool:
        return False
