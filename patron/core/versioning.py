"""Optimistic concurrency: a record carries `version`; a stale update is refused."""

from __future__ import annotations

from typing import Any

from django.db import models
from django.db.models import F
from django.utils import timezone

from .exceptions import ConflictError


def save_versioned(obj: models.Model, *, expected_version: int | None, fields: list[str]) -> None:
    """Write `fields` of `obj` only if its stored version is still `expected_version`.

    The check and the write are one UPDATE ... WHERE version = expected, so two concurrent
    editors cannot both succeed. `expected_version=None` means "whatever is stored" and is
    used by jobs that have just read the row under a lock.
    """
    model = type(obj)
    manager: Any = model._base_manager
    version = expected_version if expected_version is not None else obj.version  # type: ignore[attr-defined]
    values = {name: getattr(obj, name) for name in fields}
    if "updated_at" in {f.name for f in model._meta.fields}:
        values["updated_at"] = timezone.now()
        obj.updated_at = values["updated_at"]  # type: ignore[attr-defined]
    updated = manager.filter(pk=obj.pk, version=version).update(version=F("version") + 1, **values)
    if updated != 1:
        current = manager.filter(pk=obj.pk).values_list("version", flat=True).first()
        raise ConflictError(current_version=current or 0)
    obj.version = version + 1  # type: ignore[attr-defined]
