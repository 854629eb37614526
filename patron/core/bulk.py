"""Set-based writes for code that loads many rows at once (file imports, demo data).

The ORM's `bulk_create` instantiates a model per row, runs every field's conversion and
compiles one INSERT per few hundred rows; at hundreds of thousands of rows that is most of
the time spent. Writers that already hold plain values use these helpers instead:

* `allocate_ids` reserves primary keys up front, so a writer can link children (emails,
  relationships, audit events) to parents in memory before anything is written;
* `insert_rows` appends tuples to a table: COPY on PostgreSQL, one `executemany` on SQLite.

Rows must already hold database-ready values: `db_datetime` gives the datetime form each
backend stores, JSON columns take `json.dumps` text. Both helpers run in the caller's
transaction and return nothing beyond the ids; they skip model validation, defaults and
signals, so the caller keeps the invariants its services would keep.
"""

from __future__ import annotations

import datetime
from collections.abc import Iterable, Sequence
from typing import Any

from django.db import connection, models


def _table(model: type[models.Model] | str) -> str:
    return model if isinstance(model, str) else model._meta.db_table


def allocate_ids(model: type[models.Model], count: int) -> list[int]:
    """`count` fresh primary keys of `model`'s table, ascending.

    PostgreSQL draws them from the table's sequence (`nextval` over `generate_series`), so
    concurrent writers never collide. SQLite has no sequences: the next ids after the
    highest one ever used (the table's maximum, or what AUTOINCREMENT remembers of deleted
    rows), which is safe because Patron opens SQLite write transactions IMMEDIATE: no other
    writer can insert until this transaction ends. Call it inside `transaction.atomic()`.
    """
    if count <= 0:
        return []
    table = _table(model)
    pk = model._meta.pk
    assert pk is not None
    column = pk.column or "id"
    with connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            # The sequence is looked up once (a MATERIALIZED CTE): as an argument of
            # nextval it was looked up again for every id, 7× slower.
            cursor.execute(
                "WITH seq AS MATERIALIZED (SELECT pg_get_serial_sequence(%s, %s)::regclass AS s) "
                "SELECT nextval(seq.s) FROM seq, generate_series(1, %s)",
                [connection.ops.quote_name(table), column, count],
            )
            return sorted(row[0] for row in cursor.fetchall())
        if not connection.in_atomic_block:
            raise RuntimeError("allocate_ids needs the caller's write transaction on SQLite.")
        qn = connection.ops.quote_name
        cursor.execute(f"SELECT max({qn(column)}) FROM {qn(table)}")  # noqa: S608 - names only
        highest = cursor.fetchone()[0] or 0
        cursor.execute(
            "SELECT name FROM sqlite_master WHERE type = 'table' AND name = 'sqlite_sequence'"
        )
        if cursor.fetchone():
            cursor.execute("SELECT seq FROM sqlite_sequence WHERE name = %s", [table])
            found = cursor.fetchone()
            if found and found[0]:
                highest = max(highest, found[0])
    return list(range(highest + 1, highest + 1 + count))


def insert_rows(
    model: type[models.Model] | str, columns: Sequence[str], rows: Iterable[Sequence[Any]]
) -> int:
    """Append `rows` (tuples in `columns` order) to the table; the number of rows written.

    COPY on PostgreSQL (psycopg's C row formatting), `executemany` elsewhere."""
    if not isinstance(rows, list | tuple):
        rows = list(rows)
    if not rows:
        return 0
    table = _table(model)
    qn = connection.ops.quote_name
    names = ", ".join(qn(c) for c in columns)
    with connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            # COPY goes to the driver's cursor directly: its errors are made Django's own
            # (IntegrityError, DataError…) as `execute` makes them, so callers catch them.
            copy_sql = f"COPY {qn(table)} ({names}) FROM STDIN"
            with connection.wrap_database_errors, cursor.copy(copy_sql) as copy:
                for row in rows:
                    copy.write_row(row)
        else:
            marks = ", ".join(["%s"] * len(columns))
            cursor.executemany(f"INSERT INTO {qn(table)} ({names}) VALUES ({marks})", rows)  # noqa: S608
    return len(rows)


def db_datetime(value: datetime.datetime) -> Any:
    """`value` as the backend stores it: aware on PostgreSQL, naive UTC text on SQLite
    (what Django itself writes for a DateTimeField)."""
    return connection.ops.adapt_datetimefield_value(value)
