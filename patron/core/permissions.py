"""The permission chokepoint: every read of customer data goes through `restrict()`.

Two questions are answered here and nowhere else:

* may this user perform `action` on this kind of record at all (their role), and
* which records may they perform it on (ownership, team and the organisation's visibility).

Models opt in by using `RestrictedQuerySet` and declaring either ownership fields
(`owner`, `team`) or `restrict_via`, the foreign keys to the parent records whose
visibility they inherit (an email inherits the visibility of its contact).
"""

from __future__ import annotations

import functools
from typing import Any, cast

from django.db import connection, models
from django.db.models import Q

from . import context
from .db import PlainRead
from .exceptions import PermissionDeniedError
from .models import OrganisationSettings, RecordVisibility, User

ACTIONS = ("view", "add", "change", "delete", "export")


@functools.cache
def _settings_read() -> PlainRead:
    return PlainRead(OrganisationSettings, "s")


def _read_settings() -> OrganisationSettings:
    """The settings row, read with a plain SELECT (every request of a user whose role does
    not see every record reads it); created with its defaults if it is missing."""
    read = _settings_read()
    table = connection.ops.quote_name(OrganisationSettings._meta.db_table)
    with connection.cursor() as cursor:
        cursor.execute(f"SELECT {read.columns()} FROM {table} s WHERE s.id = 1")
        row = cursor.fetchone()
    if row is not None:
        return read.build(row)
    settings, _ = OrganisationSettings.objects.get_or_create(pk=1)
    return settings


def organisation_settings() -> OrganisationSettings:
    """The organisation settings, read once per request/command (never cached longer: other
    worker processes must see a change at once, see decision 0008)."""
    ctx = context.current()
    cached = ctx.cache.get("org_settings")
    if cached is None:
        cached = _read_settings()
        ctx.cache["org_settings"] = cached
    return cached


def can(user: Any, permission: str) -> bool:
    """Role check only ("contact.add"); record-level checks go through `restrict`."""
    return bool(
        user is not None
        and user.is_authenticated
        and user.is_active
        and user.has_patron_perm(permission)
    )


def require(actor: Any, permission: str) -> None:
    """For services: refuse when `actor`'s role lacks `permission` (no actor: the system)."""
    if actor is not None and not can(actor, permission):
        raise PermissionDeniedError(f"Your role does not allow {permission.replace('.', ' ')}.")


def require_record(actor: Any, obj: models.Model, action: str) -> None:
    """For services: refuse when `actor` may not perform `action` on this very record."""
    if actor is not None and not may(actor, obj, action):
        raise PermissionDeniedError(f"You may not {action} this {obj._meta.verbose_name}.")


def _ownership_q(user: User, action: str) -> Q | None:
    """Records of an owned model the user may act on; None means all of them."""
    visibility = organisation_settings().record_visibility
    reading = action in ("view", "export")
    if visibility == RecordVisibility.PUBLIC_READ_WRITE:
        return None
    if visibility == RecordVisibility.PUBLIC_READ and reading:
        return None
    q = Q(owner=user)
    shares_team = visibility == RecordVisibility.TEAM or user.manages_team
    if shares_team and user.team_id is not None:
        # "Owned by a member of the team" as `owner_id IN (the team's user ids)`, not
        # `owner__team_id`: the latter joins the user table, and PostgreSQL then looked up
        # the owner of every contact it walked in list order before filtering (3x the
        # buffers of the subquery, which it hashes once). Same rows.
        team_members = User.objects.filter(team_id=user.team_id).values("pk")
        q |= Q(team_id=user.team_id) | Q(owner_id__in=team_members)
    return q


def restrict(queryset: models.QuerySet, user: Any, action: str = "view") -> models.QuerySet:
    """Narrow `queryset` to the records `user` may perform `action` on."""
    if action not in ACTIONS:
        raise ValueError(f"Unknown action {action!r}")
    model = queryset.model
    if user is None or not user.is_authenticated or not user.is_active:
        return queryset.none()

    via: tuple[str, ...] = getattr(model, "restrict_via", ())
    if via:
        # A child record: its own permission (if any) plus the visibility of its parent.
        own_permission = getattr(model, "permission_name", None)
        if own_permission and not can(user, f"{own_permission}.{action}"):
            return queryset.none()
        parent_action = getattr(model, "parent_actions", {}).get(action, action)
        q = Q()
        for field_name in via:
            parent_model = model._meta.get_field(field_name).related_model
            parent_qs = restrict(parent_model._default_manager.all(), user, parent_action)
            if parent_qs.query.is_empty():
                continue
            if _is_unrestricted(parent_model, user, parent_action):
                q |= Q(**{f"{field_name}__isnull": False})
            else:
                q |= Q(**{f"{field_name}__in": parent_qs.values("pk")})
        if not q:
            return queryset.none()
        return queryset.filter(q)

    if not can(user, f"{model.permission_name}.{action}"):
        return queryset.none()
    if not getattr(model, "record_ownership", True):
        # Configuration records (sources, webhook endpoints): the role alone decides.
        return queryset
    if user.sees_all_records:
        return queryset
    own_q = _ownership_q(user, action)
    return queryset if own_q is None else queryset.filter(own_q)


def _is_unrestricted(model: type[models.Model], user: Any, action: str) -> bool:
    if not can(user, f"{cast(Any, model).permission_name}.{action}"):
        return False
    if not getattr(model, "record_ownership", True):
        return True
    return user.sees_all_records or _ownership_q(user, action) is None


def may(user: Any, obj: models.Model, action: str) -> bool:
    """Whether `user` may perform `action` on this very record (one query through restrict)."""
    model: Any = type(obj)
    return model.objects.restrict(user, action).filter(pk=obj.pk).exists()


def may_each(user: Any, obj: models.Model, actions: tuple[str, ...]) -> dict[str, bool]:
    """`may(user, obj, action)` for several actions, with the queries they share run once.

    For a record that has an owner, `restrict` is the role's permission for the action and,
    unless the user sees every record, the ownership filter, which depends only on whether
    the action reads. So: no query when the role denies the action or nothing filters the
    rows (the record was just read from the database), and one query for all the writing
    (or reading) actions that do filter. Other models fall back on `may` per action."""
    model: Any = type(obj)
    if getattr(model, "restrict_via", ()) or not getattr(model, "record_ownership", True):
        return {action: may(user, obj, action) for action in actions}
    answers: dict[str, bool] = {}
    by_reading: dict[bool, bool] = {}
    for action in actions:
        if action not in ACTIONS:
            raise ValueError(f"Unknown action {action!r}")
        if not can(user, f"{model.permission_name}.{action}"):
            answers[action] = False
        elif user.sees_all_records or _ownership_q(user, action) is None:
            answers[action] = True
        else:
            reading = action in ("view", "export")
            if reading not in by_reading:
                held = _ownership_holds(user, obj, action)
                by_reading[reading] = may(user, obj, action) if held is None else held
            answers[action] = by_reading[reading]
    return answers


def permits(user: Any, obj: models.Model, action: str) -> bool | None:
    """Whether `restrict(user, action)` keeps this record, answered on the record itself (read
    in this request with its owner) without a query; None when only the database can tell
    (a child record, or the owner was not read with it)."""
    if action not in ACTIONS:
        raise ValueError(f"Unknown action {action!r}")
    model: Any = type(obj)
    if getattr(model, "restrict_via", ()) or not getattr(model, "record_ownership", True):
        return None
    if user is None or not user.is_authenticated or not user.is_active:
        return False
    if not can(user, f"{model.permission_name}.{action}"):
        return False
    if user.sees_all_records:
        return True
    return _ownership_holds(user, obj, action)


def _ownership_holds(user: User, obj: Any, action: str) -> bool | None:
    """`_ownership_q(user, action)` evaluated on a record read in this request, without a
    query: its owner, its team, or its owner's team (when the owner was read with it). None
    when the answer needs the database (the owner was not loaded)."""
    visibility = organisation_settings().record_visibility
    reading = action in ("view", "export")
    if visibility == RecordVisibility.PUBLIC_READ_WRITE or (
        visibility == RecordVisibility.PUBLIC_READ and reading
    ):
        return True
    if obj.owner_id is not None and obj.owner_id == user.pk:
        return True
    shares_team = visibility == RecordVisibility.TEAM or user.manages_team
    if not shares_team or user.team_id is None:
        return False
    if obj.team_id == user.team_id:
        return True
    if obj.owner_id is None:
        return False
    owner = obj._state.fields_cache.get("owner")
    if owner is None:
        return None
    return owner.team_id == user.team_id


class RestrictedQuerySet(models.QuerySet):
    """A queryset with `.restrict(user, action)`: the only way views and APIs read records."""

    def restrict(self, user: Any, action: str = "view") -> RestrictedQuerySet:
        return cast(RestrictedQuerySet, restrict(self, user, action))
