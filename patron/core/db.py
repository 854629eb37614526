"""Database helpers that keep PostgreSQL-only and SQLite-only features behind a vendor check."""

from __future__ import annotations

import weakref
from collections.abc import Sequence
from typing import Any

from django.db import DEFAULT_DB_ALIAS, connection, connections
from django.db.migrations.operations.base import Operation
from django.db.models import Model
from django.db.models.expressions import Col


class VendorSQL(Operation):
    """Run raw SQL in a migration only on one database vendor ("postgresql" or "sqlite").

    Used for the search indexes: a trigram GIN index on PostgreSQL, an FTS5 table on SQLite.
    """

    reduces_to_sql = True
    reversible = True

    def __init__(self, vendor: str, sql: list[str], reverse_sql: list[str]):
        self.vendor = vendor
        self.sql = sql
        self.reverse_sql = reverse_sql

    def deconstruct(self):
        return (
            self.__class__.__qualname__,
            [],
            {
                "vendor": self.vendor,
                "sql": self.sql,
                "reverse_sql": self.reverse_sql,
            },
        )

    def state_forwards(self, app_label, state):
        pass

    def database_forwards(self, app_label, schema_editor, from_state, to_state):
        if schema_editor.connection.vendor == self.vendor:
            for statement in self.sql:
                schema_editor.execute(statement, params=None)

    def database_backwards(self, app_label, schema_editor, from_state, to_state):
        if schema_editor.connection.vendor == self.vendor:
            for statement in self.reverse_sql:
                schema_editor.execute(statement, params=None)

    def describe(self):
        return f"Raw SQL for {self.vendor}"


def is_postgresql() -> bool:
    return connection.vendor == "postgresql"


def is_sqlite() -> bool:
    return connection.vendor == "sqlite"


class PlainRead:
    """One model's columns in a hand-written SELECT, and the instance the ORM would have
    built from them (the same backend and field converters, `Model.from_db`).

    For the few reads made on every request (session, user with role and team, organisation
    settings): their statements never change, and building and compiling them through the
    ORM cost more than running them. `alias` is the table's alias in the statement. Reads
    the default database (Patron has one).
    """

    def __init__(self, model: type[Model], alias: str):
        self.model = model
        self.alias = alias
        self.fields = list(model._meta.concrete_fields)
        self.attnames = [f.attname for f in self.fields]
        self.width = len(self.fields)
        self.pk_index = self.fields.index(model._meta.pk)
        self._columns: dict[str, str] = {}
        # Per connection: (position, converters, column) of the fields that have converters.
        self._converters: weakref.WeakKeyDictionary[Any, list[tuple[int, list, Col]]] = (
            weakref.WeakKeyDictionary()
        )

    def columns(self) -> str:
        """`alias."column", ...` in field order, for the SELECT list."""
        db = connections[DEFAULT_DB_ALIAS]
        if (columns := self._columns.get(db.vendor)) is None:
            quote = db.ops.quote_name
            columns = ", ".join(f"{self.alias}.{quote(str(f.column))}" for f in self.fields)
            self._columns[db.vendor] = columns
        return columns

    def _converters_for(self, db: Any) -> list[tuple[int, list, Col]]:
        if (found := self._converters.get(db)) is None:
            found = []
            for i, field in enumerate(self.fields):
                col = field.get_col(self.alias)
                converters = db.ops.get_db_converters(col) + col.get_db_converters(db)
                if converters:
                    found.append((i, converters, col))
            self._converters[db] = found
        return found

    def build(self, values: Sequence[Any]) -> Any:
        """The instance from this model's `width` values (None when its primary key is
        NULL: a LEFT JOIN that found nothing)."""
        if values[self.pk_index] is None:
            return None
        db = connections[DEFAULT_DB_ALIAS]
        converted = list(values)
        for i, converters, col in self._converters_for(db):
            for converter in converters:
                converted[i] = converter(converted[i], col, db)
        return self.model.from_db(db.alias, self.attnames, converted)
