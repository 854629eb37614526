"""Browser sessions: Django's database sessions, read with one plain SELECT."""

from __future__ import annotations

from typing import Any

from django.contrib.sessions.backends import db
from django.db import connections, router
from django.utils import timezone


class SessionStore(db.SessionStore):
    """The same table, rows and expiry as Django's database backend; only the read on every
    request is a hand-written statement instead of an ORM `get()` (whose building and
    compiling took longer than the query itself)."""

    def load(self) -> dict[str, Any]:
        using = router.db_for_read(self.model, instance=None)
        connection = connections[using]
        table = connection.ops.quote_name(self.model._meta.db_table)
        now = connection.ops.adapt_datetimefield_value(timezone.now())
        with connection.cursor() as cursor:
            cursor.execute(
                f"SELECT session_data FROM {table} WHERE session_key = %s AND expire_date > %s",
                [self.session_key, now],
            )
            row = cursor.fetchone()
        if row is None:
            self._session_key = None
            return {}
        return self.decode(row[0])
