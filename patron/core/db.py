"""Database helpers that keep PostgreSQL-only and SQLite-only features behind a vendor check."""

from __future__ import annotations

from django.db import connection
from django.db.migrations.operations.base import Operation


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
