"""Validation and form/filter support for admin-defined custom fields.

Values live in a JSON column (`custom_fields`) on the record, keyed by the definition's
name, stored as JSON-native values: text and choice as strings, numbers as numbers,
dates as ISO strings, booleans as booleans. That works the same on SQLite and PostgreSQL.
"""

from __future__ import annotations

import datetime
import decimal
from typing import Any

from django.core.exceptions import ValidationError

from .models import CustomFieldDefinition

FieldType = CustomFieldDefinition.FieldType


def definitions_for(object_type: str) -> list[CustomFieldDefinition]:
    return list(CustomFieldDefinition.objects.filter(object_type=object_type))


def coerce_value(definition: CustomFieldDefinition, value: Any) -> Any:
    """Turn a submitted value into its stored form, or raise ValidationError."""
    if value is None or value == "":
        return None
    kind = definition.field_type
    if kind == FieldType.TEXT:
        if not isinstance(value, str | int | float):
            raise ValidationError("Enter text.")
        text = str(value).strip()
        if len(text) > 1000:
            raise ValidationError("Keep it under 1,000 characters.")
        return text
    if kind == FieldType.NUMBER:
        if isinstance(value, bool):
            raise ValidationError("Enter a number.")
        try:
            number = decimal.Decimal(str(value).strip())
        except (decimal.InvalidOperation, ValueError):
            raise ValidationError("Enter a number.") from None
        if not number.is_finite():
            raise ValidationError("Enter a number.")
        return int(number) if number == number.to_integral_value() else float(number)
    if kind == FieldType.DATE:
        if isinstance(value, datetime.date):
            return value.isoformat()
        try:
            return datetime.date.fromisoformat(str(value).strip()).isoformat()
        except ValueError:
            raise ValidationError("Enter a date as YYYY-MM-DD.") from None
    if kind == FieldType.CHOICE:
        if str(value) not in [str(c) for c in definition.choices]:
            raise ValidationError(
                "Choose one of: " + ", ".join(str(c) for c in definition.choices) + "."
            )
        return str(value)
    if kind == FieldType.BOOLEAN:
        if isinstance(value, bool):
            return value
        text = str(value).strip().lower()
        if text in {"true", "1", "yes", "y", "on"}:
            return True
        if text in {"false", "0", "no", "n", "off"}:
            return False
        raise ValidationError("Enter yes or no.")
    raise ValidationError(f"Unknown field type {kind}.")


def clean_custom_fields(
    object_type: str, values: dict[str, Any] | None, *, existing: dict[str, Any] | None = None
) -> dict[str, Any]:
    """Validate `values` against the definitions; merge them over `existing`.

    Raises a ValidationError keyed `custom_fields.<name>` for every bad value, so that forms and
    the API can show the message beside the right field.
    """
    definitions = {d.name: d for d in definitions_for(object_type)}
    result = dict(existing or {})
    errors: dict[str, list[str]] = {}
    for name, raw in (values or {}).items():
        definition = definitions.get(name)
        if definition is None:
            errors[f"custom_fields.{name}"] = [f"There is no custom field called {name!r}."]
            continue
        try:
            coerced = coerce_value(definition, raw)
        except ValidationError as exc:
            errors[f"custom_fields.{name}"] = exc.messages
            continue
        if coerced is None:
            result.pop(name, None)
        else:
            result[name] = coerced
    for name, definition in definitions.items():
        if definition.required and result.get(name) in (None, "") and name not in errors:
            errors[f"custom_fields.{name}"] = ["This field is required."]
    if errors:
        raise ValidationError(errors)
    return result


def filter_kwargs(definition: CustomFieldDefinition, raw: str) -> dict[str, Any]:
    """ORM filter for `?cf_<name>=value`; the same lookup serves the UI list and the API."""
    value = coerce_value(definition, raw)
    return {f"custom_fields__{definition.name}": value}
