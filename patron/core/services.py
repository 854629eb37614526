"""Writes to core objects: users, API tokens, custom-field definitions, organisation settings."""

from __future__ import annotations

import hashlib
import secrets
from typing import Any

from django.contrib.auth.password_validation import validate_password
from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils import timezone

from . import audit, context
from .exceptions import PermissionDeniedError
from .models import ApiToken, CustomFieldDefinition, OrganisationSettings, Role, Team, User

TOKEN_PREFIX = "ptn_"  # noqa: S105  (a public marker, not a secret)
USER_FIELDS = ["username", "email", "first_name", "last_name", "role", "team", "is_active"]
CUSTOM_FIELD_FIELDS = [
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


def _require_admin(actor: Any) -> None:
    if actor is not None and not actor.has_patron_perm("settings.change"):
        raise PermissionDeniedError("Only administrators may change this.")


@transaction.atomic
def user_create(
    *,
    actor: Any,
    username: str,
    password: str,
    email: str = "",
    first_name: str = "",
    last_name: str = "",
    role: Role | None = None,
    team: Team | None = None,
) -> User:
    _require_admin(actor)
    user = User(
        username=username,
        email=email,
        first_name=first_name,
        last_name=last_name,
        role=role,
        team=team,
    )
    # Administrators configure Patron in the Django admin, which needs these flags.
    user.is_staff = user.is_superuser = bool(role and role.sees_all_records)
    try:
        validate_password(password, user)
    except ValidationError as exc:
        raise ValidationError({"password": exc.messages}) from None
    user.set_password(password)
    user.full_clean()
    user.save()
    audit.record_create(actor=actor, obj=user, fields=USER_FIELDS)
    return user


def _hash(key: str) -> str:
    return hashlib.sha256(key.encode()).hexdigest()


@transaction.atomic
def api_token_create(*, actor: User, name: str, expires_at=None) -> tuple[ApiToken, str]:
    """Create a personal token; the plain key is returned once and never stored."""
    if not name.strip():
        raise ValidationError({"name": ["Name the token after what will use it."]})
    key = TOKEN_PREFIX + secrets.token_urlsafe(32)
    token = ApiToken(
        user=actor, name=name.strip(), prefix=key[:12], key_hash=_hash(key), expires_at=expires_at
    )
    token.full_clean()
    token.save()
    audit.record_create(actor=actor, obj=token, fields=["name", "prefix", "expires_at"])
    return token, key


@transaction.atomic
def api_token_revoke(*, actor: User, token: ApiToken) -> ApiToken:
    if token.user_id != actor.pk and not actor.sees_all_records:
        raise PermissionDeniedError("You may only revoke your own tokens.")
    if token.revoked_at is None:
        token.revoked_at = timezone.now()
        token.save(update_fields=["revoked_at"])
        audit.record(
            actor=actor,
            action="update",
            obj=token,
            changes={"revoked_at": [None, token.revoked_at.isoformat()]},
        )
    return token


def api_token_authenticate(key: str) -> User | None:
    """The active user behind `key`, or None. Records when the token was last used."""
    if not key or not key.startswith(TOKEN_PREFIX):
        return None
    token = (
        ApiToken.objects.select_related("user", "user__role").filter(key_hash=_hash(key)).first()
    )
    if token is None or not token.is_active or not token.user.is_active:
        return None
    now = timezone.now()
    if token.last_used_at is None or (now - token.last_used_at).total_seconds() > 60:
        ApiToken.objects.filter(pk=token.pk).update(last_used_at=now)
    return token.user


@transaction.atomic
def custom_field_create(*, actor: Any, data: dict[str, Any]) -> CustomFieldDefinition:
    _require_admin(actor)
    definition = CustomFieldDefinition(**data)
    custom_field_validate(definition)
    definition.full_clean()
    definition.save()
    audit.record_create(actor=actor, obj=definition, fields=CUSTOM_FIELD_FIELDS)
    return definition


@transaction.atomic
def custom_field_update(
    *,
    actor: Any,
    definition: CustomFieldDefinition,
    expected_version: int | None,
    data: dict[str, Any],
) -> CustomFieldDefinition:
    from .versioning import save_versioned

    _require_admin(actor)
    if "name" in data and data["name"] != definition.name:
        raise ValidationError(
            {
                "name": [
                    "A field's name cannot change: values are stored "
                    "under it. Create a new field instead."
                ]
            }
        )
    if "object_type" in data and data["object_type"] != definition.object_type:
        raise ValidationError({"object_type": ["A field cannot move to another record type."]})
    before = audit.snapshot(definition, CUSTOM_FIELD_FIELDS)
    for name, value in data.items():
        setattr(definition, name, value)
    custom_field_validate(definition)
    definition.full_clean()
    save_versioned(definition, expected_version=expected_version, fields=list(data))
    audit.record(
        actor=actor,
        action="update",
        obj=definition,
        changes=audit.diff(before, audit.snapshot(definition, CUSTOM_FIELD_FIELDS)),
    )
    return definition


@transaction.atomic
def custom_field_delete(*, actor: Any, definition: CustomFieldDefinition) -> None:
    """Delete the definition. Stored values stay in each record's JSON (nothing is lost)."""
    _require_admin(actor)
    audit.record_delete(actor=actor, obj=definition, fields=CUSTOM_FIELD_FIELDS)
    definition.delete()


def custom_field_validate(definition: CustomFieldDefinition) -> None:
    """Rules a definition must follow beyond its columns' own validation."""
    if definition.field_type == CustomFieldDefinition.FieldType.CHOICE:
        if not isinstance(definition.choices, list) or not definition.choices:
            raise ValidationError({"choices": ["A choice field needs at least one choice."]})
        if len({str(c) for c in definition.choices}) != len(definition.choices):
            raise ValidationError({"choices": ["Choices must be different from each other."]})
    elif definition.choices:
        raise ValidationError({"choices": ["Only choice fields have choices."]})


@transaction.atomic
def organisation_settings_update(*, actor: Any, data: dict[str, Any]) -> OrganisationSettings:
    _require_admin(actor)
    settings_obj, _ = OrganisationSettings.objects.get_or_create(pk=1)
    fields = ["name", "record_visibility", "default_phone_region"]
    before = audit.snapshot(settings_obj, fields)
    for name, value in data.items():
        if name not in fields:
            raise ValidationError({name: ["Unknown setting."]})
        setattr(settings_obj, name, value)
    settings_obj.full_clean()
    settings_obj.save()
    audit.record(
        actor=actor,
        action="update",
        obj=settings_obj,
        changes=audit.diff(before, audit.snapshot(settings_obj, fields)),
    )
    context.current().cache.pop("org_settings", None)
    return settings_obj
