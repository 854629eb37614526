"""Saving a record that must not take unique values another record holds."""

from __future__ import annotations

from typing import Any

from django.core.exceptions import ValidationError
from django.db import IntegrityError, models, transaction


def save_unique(obj: models.Model, *, taken: models.QuerySet[Any], error: Any) -> None:
    """Save `obj`, or raise ValidationError(`error`) when a record of `taken` (the rows with
    its unique values; `obj` itself is left out) already holds them. The check gives a form
    its message; an insert by someone else between the check and the save hits the
    database's constraint and gets the same message."""
    if taken.exclude(pk=obj.pk).exists():
        raise ValidationError(error)
    try:
        with transaction.atomic():
            obj.save()
    except IntegrityError:
        raise ValidationError(error) from None
