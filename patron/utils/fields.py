"""Input checks shared by the services of every app."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

from django.core.exceptions import ValidationError


def only_known(data: Mapping[str, Any], allowed: Iterable[str]) -> dict[str, Any]:
    """`data` as a dict, refused field by field when it names a field a service does not set."""
    unknown = sorted(set(data) - set(allowed))
    if unknown:
        raise ValidationError({name: ["Unknown field."] for name in unknown})
    return dict(data)
