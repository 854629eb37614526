"""Search indexes over `search_document`: trigram GIN on PostgreSQL, FTS5 trigram on SQLite.

On SQLite the FTS5 tables are external-content tables over the customer tables, kept in
step by triggers (the standard FTS5 pattern); see docs/decisions/0003-search.md.
"""

from django.db import migrations

from patron.core.db import VendorSQL


def _sqlite_fts(table: str) -> list[str]:
    fts = f"{table}_fts"
    return [
        f"CREATE VIRTUAL TABLE {fts} USING fts5(search_document, content='{table}', "
        f"content_rowid='id', tokenize='trigram')",
        f"CREATE TRIGGER {fts}_ai AFTER INSERT ON {table} BEGIN "
        f"INSERT INTO {fts}(rowid, search_document) VALUES (new.id, new.search_document); END",
        f"CREATE TRIGGER {fts}_ad AFTER DELETE ON {table} BEGIN "
        f"INSERT INTO {fts}({fts}, rowid, search_document) "
        f"VALUES ('delete', old.id, old.search_document); END",
        f"CREATE TRIGGER {fts}_au AFTER UPDATE OF search_document ON {table} BEGIN "
        f"INSERT INTO {fts}({fts}, rowid, search_document) "
        f"VALUES ('delete', old.id, old.search_document); "
        f"INSERT INTO {fts}(rowid, search_document) VALUES (new.id, new.search_document); END",
        f"INSERT INTO {fts}({fts}) VALUES ('rebuild')",
    ]


def _sqlite_drop(table: str) -> list[str]:
    fts = f"{table}_fts"
    return [f"DROP TRIGGER IF EXISTS {fts}_{suffix}" for suffix in ("ai", "ad", "au")] + [
        f"DROP TABLE IF EXISTS {fts}"
    ]


class Migration(migrations.Migration):
    dependencies = [("customers", "0001_initial")]

    operations = [
        VendorSQL(
            vendor="postgresql",
            sql=[
                "CREATE EXTENSION IF NOT EXISTS pg_trgm",
                "CREATE INDEX contact_search_trgm ON customers_contact "
                "USING gin (search_document gin_trgm_ops)",
                "CREATE INDEX account_search_trgm ON customers_account "
                "USING gin (search_document gin_trgm_ops)",
            ],
            reverse_sql=[
                "DROP INDEX IF EXISTS contact_search_trgm",
                "DROP INDEX IF EXISTS account_search_trgm",
            ],
        ),
        VendorSQL(
            vendor="sqlite",
            sql=_sqlite_fts("customers_contact") + _sqlite_fts("customers_account"),
            reverse_sql=_sqlite_drop("customers_contact") + _sqlite_drop("customers_account"),
        ),
    ]
