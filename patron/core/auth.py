"""The authentication backend: Django's ModelBackend, loading the user with its role."""

from __future__ import annotations

import functools
from typing import Any

from django.contrib.auth.backends import ModelBackend
from django.db import connection

from .db import PlainRead
from .models import Role, Team, User


@functools.cache
def _user_read() -> tuple[PlainRead, PlainRead, PlainRead]:
    return PlainRead(User, "u"), PlainRead(Role, "r"), PlainRead(Team, "t")


def user_with_role_and_team(user_id: Any) -> User | None:
    """The user with its role and team, as `select_related("role", "team").get(pk=...)`
    reads it (the same instances, caches filled), None if there is no such user.

    One hand-written SELECT: this runs on every signed-in request, and the ORM spent longer
    building and compiling the statement than the database spent answering it."""
    user_read, role_read, team_read = _user_read()
    quote = connection.ops.quote_name
    sql = (
        f"SELECT {user_read.columns()}, {role_read.columns()}, {team_read.columns()}"
        f" FROM {quote(User._meta.db_table)} u"
        f" LEFT OUTER JOIN {quote(Role._meta.db_table)} r ON r.id = u.role_id"
        f" LEFT OUTER JOIN {quote(Team._meta.db_table)} t ON t.id = u.team_id"
        " WHERE u.id = %s"
    )
    with connection.cursor() as cursor:
        cursor.execute(sql, [user_id])
        row = cursor.fetchone()
    if row is None:
        return None
    user = user_read.build(row[: user_read.width])
    role = role_read.build(row[user_read.width : user_read.width + role_read.width])
    team = team_read.build(row[user_read.width + role_read.width :])
    User._meta.get_field("role").set_cached_value(user, role)  # type: ignore[union-attr]
    User._meta.get_field("team").set_cached_value(user, team)  # type: ignore[union-attr]
    return user


class PatronBackend(ModelBackend):
    """Every permission check reads `user.role`, so the session's user is loaded with its
    role and team in one query instead of two on every request."""

    def get_user(self, user_id: Any) -> Any:
        user = user_with_role_and_team(user_id)
        return user if user is not None and self.user_can_authenticate(user) else None
