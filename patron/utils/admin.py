"""Django admin pages that write through an app's services, as its API does.

`ThroughServices` makes a ModelAdmin add, change and delete by calling the services (the
permission checked for the signed-in user, validated, audited) instead of saving the model
itself. The service's own rules show on the form: `clean()` tries the write in a savepoint
that is always rolled back, and the page saves for real only once the form is valid.
"""

from __future__ import annotations

from typing import Any

from django import forms
from django.contrib import admin
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import transaction

from patron.core.exceptions import PermissionDeniedError


class _Rollback(Exception):
    """Ends a dry run's savepoint after a successful write."""


class ThroughServices(admin.ModelAdmin):
    """Subclasses name the fields the services take and implement the three writes."""

    service_fields: list[str] = []

    def service_create(self, actor: Any, data: dict[str, Any], form: Any) -> Any:
        raise NotImplementedError

    def service_update(self, actor: Any, obj: Any, data: dict[str, Any], form: Any) -> Any:
        raise NotImplementedError

    def service_delete(self, actor: Any, obj: Any) -> None:
        raise NotImplementedError

    # -- the form: the service's rules shown on it ---------------------------------------------

    def get_form(self, request: Any, obj: Any = None, change: bool = False, **kwargs: Any) -> Any:
        base = super().get_form(request, obj, change=change, **kwargs)
        page = self

        class ServiceForm(base):  # type: ignore[misc, valid-type]
            def clean(self) -> dict[str, Any]:
                cleaned = super().clean() or {}
                if self.errors:
                    return cleaned
                try:
                    with transaction.atomic():
                        page._write(request, self, self.instance)
                        raise _Rollback
                except _Rollback:
                    pass
                except (PermissionDenied, PermissionDeniedError) as exc:
                    raise ValidationError(str(exc) or "You may not make this change.") from None
                except ValidationError as exc:
                    _add_errors(self, exc)
                return cleaned

        return ServiceForm

    def _data(self, form: Any) -> dict[str, Any]:
        return {n: form.cleaned_data[n] for n in self.service_fields if n in form.cleaned_data}

    def _write(self, request: Any, form: Any, obj: Any) -> Any:
        data = self._data(form)
        if obj.pk is None:
            return self.service_create(request.user, data, form)
        current = type(obj)._default_manager.get(pk=obj.pk)
        return self.service_update(request.user, current, data, form)

    # -- the writes ---------------------------------------------------------------------------

    def save_model(self, request: Any, obj: Any, form: Any, change: bool) -> None:
        obj.pk = self._write(request, form, obj).pk

    def save_related(self, request: Any, form: Any, formsets: Any, change: bool) -> None:
        """Nothing: the service wrote what belongs to the record."""
        unsaved(formsets)

    def delete_model(self, request: Any, obj: Any) -> None:
        try:
            self.service_delete(request.user, obj)
        except PermissionDeniedError as exc:  # the role refuses: 403, as the API answers
            raise PermissionDenied(str(exc)) from None

    def delete_queryset(self, request: Any, queryset: Any) -> None:
        with transaction.atomic():  # all of the selection, or none of it
            for obj in queryset:
                self.delete_model(request, obj)


def unsaved(formsets: Any) -> None:
    """Inline formsets the service wrote for: what the admin's history message reads from
    a formset it saved itself (nothing of its own)."""
    for formset in formsets:
        formset.new_objects, formset.changed_objects, formset.deleted_objects = [], [], []


def _add_errors(form: forms.BaseForm, exc: ValidationError) -> None:
    """The service's errors on the fields they name, the rest above the form."""
    if not hasattr(exc, "error_dict"):
        form.add_error(None, exc.messages)
        return
    for name, errors in exc.message_dict.items():
        form.add_error(name if name in form.fields else None, errors)
