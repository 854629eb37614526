"""Django admin for configuration: users, teams, roles, custom fields, organisation settings.

Admin writes are audited like every other write: custom fields go through their services
(which validate choices); the other configuration objects are recorded by `AuditedAdmin`.
"""

from typing import cast

from django import forms
from django.contrib import admin
from django.contrib.auth.admin import UserAdmin as BaseUserAdmin
from django.core.exceptions import ValidationError
from django.db import transaction

from . import audit, services
from .models import (
    ApiToken,
    AuditEvent,
    CustomFieldDefinition,
    OrganisationSettings,
    Role,
    Team,
    User,
)

admin.site.site_header = "Patron administration"
admin.site.site_title = "Patron admin"
admin.site.index_title = "Configuration"


class AuditedAdmin(admin.ModelAdmin):
    """Records an audit event (actor, before/after) for every save and delete in the admin."""

    audited_fields: list[str] = []

    def _fields(self, obj):
        return self.audited_fields or [
            f.name for f in obj._meta.concrete_fields if f.name not in ("id", "password")
        ]

    @transaction.atomic
    def save_model(self, request, obj, form, change):
        before = {}
        if change:
            before = audit.snapshot(type(obj).objects.get(pk=obj.pk), self._fields(obj))
        super().save_model(request, obj, form, change)
        after = audit.snapshot(obj, self._fields(obj))
        if change:
            changes = audit.diff(before, after)
            if changes:
                audit.record(actor=request.user, action="update", obj=obj, changes=changes)
        else:
            audit.record_create(actor=request.user, obj=obj, fields=self._fields(obj))

    @transaction.atomic
    def delete_model(self, request, obj):
        audit.record_delete(actor=request.user, obj=obj, fields=self._fields(obj))
        super().delete_model(request, obj)

    def delete_queryset(self, request, queryset):
        for obj in queryset:
            self.delete_model(request, obj)


@admin.register(User)
class UserAdmin(AuditedAdmin, BaseUserAdmin):
    audited_fields = [
        "username",
        "email",
        "first_name",
        "last_name",
        "role",
        "team",
        "is_active",
        "is_staff",
        "is_superuser",
    ]
    list_display = ["username", "first_name", "last_name", "email", "role", "team", "is_active"]
    list_filter = ["role", "team", "is_active", "is_staff"]
    # BaseUserAdmin.fieldsets is a tuple (the stubs allow list | tuple | None).
    fieldsets = cast(tuple, BaseUserAdmin.fieldsets) + (("Patron", {"fields": ("role", "team")}),)
    add_fieldsets = BaseUserAdmin.add_fieldsets + (
        ("Patron", {"fields": ("email", "first_name", "last_name", "role", "team")}),
    )


@admin.register(Team)
class TeamAdmin(AuditedAdmin):
    list_display = ["name", "member_count"]
    search_fields = ["name"]

    @admin.display(description="Members")
    def member_count(self, obj):
        return obj.members.count()


@admin.register(Role)
class RoleAdmin(AuditedAdmin):
    list_display = ["name", "slug", "sees_all_records", "manages_team"]
    prepopulated_fields = {"slug": ["name"]}


@admin.register(OrganisationSettings)
class OrganisationSettingsAdmin(AuditedAdmin):
    list_display = ["name", "record_visibility", "default_phone_region"]

    def has_add_permission(self, request):
        return not OrganisationSettings.objects.exists()

    def has_delete_permission(self, request, obj=None):
        return False


class CustomFieldDefinitionForm(forms.ModelForm):
    class Meta:
        model = CustomFieldDefinition
        fields = [
            "object_type",
            "name",
            "label",
            "field_type",
            "choices",
            "required",
            "help_text",
            "show_in_list",
            "order",
        ]

    def clean(self):
        cleaned = super().clean()
        try:
            services.custom_field_validate(
                CustomFieldDefinition(
                    **{
                        name: cleaned.get(name, getattr(self.instance, name))
                        for name in services.CUSTOM_FIELD_FIELDS
                    }
                )
            )
        except ValidationError as exc:
            raise ValidationError(exc.message_dict) from None
        return cleaned


@admin.register(CustomFieldDefinition)
class CustomFieldDefinitionAdmin(admin.ModelAdmin):
    form = CustomFieldDefinitionForm
    list_display = [
        "label",
        "name",
        "object_type",
        "field_type",
        "required",
        "show_in_list",
        "order",
    ]
    list_filter = ["object_type", "field_type"]

    def get_readonly_fields(self, request, obj=None):
        return ["name", "object_type"] if obj else []

    def save_model(self, request, obj, form, change):
        data = {
            name: form.cleaned_data[name]
            for name in form.changed_data
            if name in services.CUSTOM_FIELD_FIELDS
        }
        if change:
            current = CustomFieldDefinition.objects.get(pk=obj.pk)
            services.custom_field_update(
                actor=request.user, definition=current, expected_version=current.version, data=data
            )
        else:
            created = services.custom_field_create(
                actor=request.user,
                data={
                    name: form.cleaned_data[name]
                    for name in services.CUSTOM_FIELD_FIELDS
                    if name in form.cleaned_data
                },
            )
            obj.pk = created.pk

    def delete_model(self, request, obj):
        services.custom_field_delete(actor=request.user, definition=obj)

    def delete_queryset(self, request, queryset):
        for obj in queryset:
            self.delete_model(request, obj)


@admin.register(ApiToken)
class ApiTokenAdmin(admin.ModelAdmin):
    """Tokens are created by their owners; admins can see and revoke them."""

    list_display = [
        "name",
        "user",
        "prefix",
        "created_at",
        "last_used_at",
        "expires_at",
        "revoked_at",
    ]
    list_filter = ["revoked_at"]
    readonly_fields = [
        "user",
        "name",
        "prefix",
        "key_hash",
        "created_at",
        "last_used_at",
        "expires_at",
        "revoked_at",
    ]
    actions = ["revoke"]

    def has_add_permission(self, request):
        return False

    @admin.action(description="Revoke the selected tokens")
    def revoke(self, request, queryset):
        for token in queryset:
            services.api_token_revoke(actor=request.user, token=token)


@admin.register(AuditEvent)
class AuditEventAdmin(admin.ModelAdmin):
    """The audit trail is append-only: readable here, never editable."""

    list_display = [
        "created_at",
        "actor_label",
        "origin",
        "action",
        "content_type",
        "object_repr",
        "request_id",
    ]
    list_filter = ["action", "origin", "content_type"]
    search_fields = ["object_repr", "actor_label", "request_id"]
    date_hierarchy = "created_at"

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False
