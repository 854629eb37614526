"""Small helpers shared by the htmx views of every app: domain errors to HTTP, service
validation errors onto forms, and whether a request wants only a partial."""

from __future__ import annotations

import functools
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from django import forms
from django.core.exceptions import ObjectDoesNotExist, PermissionDenied, ValidationError
from django.http import Http404, HttpRequest

from .exceptions import PermissionDeniedError

if TYPE_CHECKING:
    from .models import User


def domain_errors(view: Callable[..., Any]) -> Callable[..., Any]:
    """A record the user may not see is a 404; a refused action is a friendly 403 page."""

    @functools.wraps(view)
    def wrapper(request: HttpRequest, *args: Any, **kwargs: Any) -> Any:
        try:
            return view(request, *args, **kwargs)
        except ObjectDoesNotExist:
            raise Http404("Not found") from None
        except PermissionDeniedError as exc:
            raise PermissionDenied(str(exc)) from None

    return wrapper


def request_user(request: HttpRequest) -> User:
    """The signed-in user of a view behind @login_required (typed as our User)."""
    user = request.user
    assert user.is_authenticated, "request_user() is for views behind @login_required"
    return user


def wants_partial(request: HttpRequest) -> bool:
    """An htmx request that will swap part of the page (not a history restore)."""
    htmx: Any = getattr(request, "htmx", None)
    return bool(htmx) and not htmx.history_restore_request and not htmx.boosted


def apply_validation_error(
    form: forms.Form, exc: ValidationError, field_map: dict[str, str] | None = None
) -> None:
    """Show a service's ValidationError beside the right inputs of `form`.

    Keys like "custom_fields.tier" land on the form field "cf_tier"; `field_map` renames
    other keys (a phone's "number" -> the phones section); unknown keys become form errors.
    """
    field_map = field_map or {}
    if not hasattr(exc, "error_dict"):
        form.add_error(None, exc.messages)
        return
    for key, messages in exc.message_dict.items():
        name = field_map.get(key, key)
        if name.startswith("custom_fields."):
            name = "cf_" + name.split(".", 1)[1]
        if name == "__all__" or name not in form.fields:
            extra = form.extra_errors if hasattr(form, "extra_errors") else None
            if extra is not None and name in extra:
                extra[name].extend(messages)
            else:
                form.add_error(None, messages)
        else:
            # add_error() removes the field from cleaned_data; errors are shown either way.
            form.add_error(name, messages)
