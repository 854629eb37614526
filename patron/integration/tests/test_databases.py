"""Database sources against real databases: a scratch PostgreSQL database and a table in
MariaDB's `test` database, with messy rows, synced incrementally by a high-water column.

PostgreSQL is found through PATRON_TEST_POSTGRES_URL (as in scripts/test.sh), MariaDB through
PATRON_TEST_MYSQL_URL (default mysql://root@127.0.0.1:3306/test). An unreachable MariaDB skips
its tests; an unreachable PostgreSQL skips too, except under CI=true, where it fails.
"""

from __future__ import annotations

import datetime
import decimal
import gc
import os
import uuid
from collections.abc import Iterator
from io import StringIO
from typing import Any

import psycopg
import pymysql
import pytest
from django.core.exceptions import ValidationError
from django.core.management import call_command

from patron.customers.models import Contact
from patron.integration import databases, services, tasks
from patron.integration.databases import (
    as_text,
    database_mapping_suggest,
    database_run_start,
    source_sync,
    source_test_connection,
    sources_due,
)
from patron.integration.models import ImportRun, QuarantinedRow, Source, SourceRecord

pytestmark = pytest.mark.django_db

ENV = "BILLING_TEST_DB_URL"  # not PATRON_…: those are Patron's own settings
POSTGRES_URL = os.environ.get(
    "PATRON_TEST_POSTGRES_URL", "postgres://postgres@127.0.0.1:5432/patron"
)
MYSQL_URL = os.environ.get("PATRON_TEST_MYSQL_URL", "mysql://root@127.0.0.1:3306/test")

T = datetime.datetime
ROWS = [
    # customer_no, full_name, email, phone, birthday, balance, updated_at
    ("C-001", "  Ada Lovelace ", " ADA@Example.COM ", "020 7946 0018", datetime.date(1815, 12, 10),
     decimal.Decimal("1250.50"), T(2024, 1, 1, 9, 0)),
    ("C-002", "Hopper, Grace", "grace@navy.example", None, None,
     decimal.Decimal("0"), T(2024, 1, 1, 9, 0)),
    ("C-003", "Alan Turing", "not-an-email", "", None,
     decimal.Decimal("-3.25"), T(2024, 1, 2, 10, 30, 0, 250000)),
    ("C-004", "", "nobody@example.com", None, None, None, T(2024, 1, 3, 8, 0)),
    ("C-005", "Katherine Johnson", None, "+1 415 555 2671", datetime.date(1918, 8, 26),
     decimal.Decimal("99.99"), T(2024, 1, 4, 9, 0)),
]  # fmt: skip
MAPPING: list[dict[str, Any]] = [
    {"column": "customer_no", "target": "source_key"},
    {"column": "full_name", "target": "contact.full_name", "transform": "full_name"},
    {"column": "email", "target": "email"},
    {"column": "phone", "target": "phone"},
    {"column": "birthday", "target": "contact.date_of_birth", "options": {"format": "auto"}},
    {"column": "balance", "target": ""},
    {"column": "updated_at", "target": ""},
]


# --- the external databases -------------------------------------------------------------------


def _unreachable(what: str, exc: Exception, *, required: bool) -> None:
    message = f"{what} is not reachable ({str(exc).strip().splitlines()[0]})"
    if required and os.environ.get("CI") == "true":
        pytest.fail(f"{message} and CI=true: the database-source tests need it.")
    pytest.skip(f"{message}: its database-source tests are skipped.")


@pytest.fixture(scope="session")
def postgres_scratch() -> Iterator[str]:
    """A scratch PostgreSQL database for the source tables, dropped at the end."""
    base = POSTGRES_URL.rsplit("/", 1)[0]
    name = f"patron_src_test_{os.getpid()}"
    try:
        admin = psycopg.connect(f"{base}/postgres", autocommit=True, connect_timeout=5)
    except psycopg.Error as exc:
        _unreachable(f"PostgreSQL at {base}", exc, required=True)
    admin.execute(f'DROP DATABASE IF EXISTS "{name}"')
    admin.execute(f'CREATE DATABASE "{name}"')
    try:
        yield f"{base}/{name}"
    finally:
        admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        admin.close()


@pytest.fixture(scope="session")
def mariadb_test() -> str:
    try:
        pymysql.connect(**databases._mysql_arguments(MYSQL_URL), connect_timeout=5).close()
    except pymysql.MySQLError as exc:
        _unreachable(f"MariaDB at {MYSQL_URL}", exc, required=False)
    return MYSQL_URL


class External:
    """A customers table in another database, which the tests change between syncs."""

    def __init__(self, dialect: str, url: str) -> None:
        self.dialect = dialect
        self.url = url
        self.table = f"patron_customers_{os.getpid()}_{uuid.uuid4().hex[:6]}"

    def execute(self, sql: str, params: Any = ()) -> list[tuple[Any, ...]]:
        if self.dialect == "postgresql":
            with psycopg.connect(self.url, autocommit=True) as pg:
                cursor = pg.execute(sql, params)
                return cursor.fetchall() if cursor.description else []
        my = pymysql.connect(**databases._mysql_arguments(self.url), autocommit=True)
        try:
            with my.cursor() as cursor:
                cursor.execute("SET SESSION lock_wait_timeout = 20")
                cursor.execute(sql, params or None)
                return list(cursor.fetchall())
        finally:
            my.close()

    def create(self, rows: list[tuple[Any, ...]]) -> None:
        stamp = "TIMESTAMP" if self.dialect == "postgresql" else "DATETIME(6)"
        self.execute(
            f"CREATE TABLE {self.table} (customer_no VARCHAR(20) PRIMARY KEY, "
            "full_name VARCHAR(100), email VARCHAR(200), phone VARCHAR(50), birthday DATE, "
            f"balance NUMERIC(10, 2), updated_at {stamp} NOT NULL)"
        )
        self.insert(rows)

    def insert(self, rows: list[tuple[Any, ...]]) -> None:
        for row in rows:
            self.execute(f"INSERT INTO {self.table} VALUES (%s, %s, %s, %s, %s, %s, %s)", row)

    def drop(self) -> None:
        self.execute(f"DROP TABLE IF EXISTS {self.table}")


@pytest.fixture(params=["postgresql", "mysql"])
def external(request, monkeypatch) -> Iterator[External]:
    url = request.getfixturevalue(
        "postgres_scratch" if request.param == "postgresql" else "mariadb_test"
    )
    table = External(request.param, url)
    table.create(ROWS)
    monkeypatch.setenv(ENV, url)
    try:
        yield table
    finally:
        gc.collect()  # a reader left suspended by a test closes its connection
        table.drop()


@pytest.fixture
def postgres_table(postgres_scratch, monkeypatch) -> Iterator[External]:
    table = External("postgresql", postgres_scratch)
    table.create(ROWS)
    monkeypatch.setenv(ENV, postgres_scratch)
    try:
        yield table
    finally:
        gc.collect()
        table.drop()


def make_source(actor, table: External, **data: Any) -> Source:
    return services.source_create(
        actor=actor,
        data={
            "name": data.pop("name", "Billing DB"),
            "kind": Source.Kind.DATABASE,
            "connection_env": ENV,
            "query": table.table,
            "high_water_column": "updated_at",
            "default_region": "GB",
            **data,
        },
    )


def mapped_source(actor, table: External, **data: Any) -> Source:
    source = make_source(actor, table, **data)
    services.mapping_save(actor=actor, source=source, columns=MAPPING, options={})
    return source


def names() -> set[tuple[str, str]]:
    return set(Contact.objects.values_list("first_name", "last_name"))


def emails_of(contact: Contact) -> list[str]:
    return list(contact.emailaddresss.order_by("id").values_list("email", flat=True))


# --- syncing ----------------------------------------------------------------------------------


def test_sync_pulls_messy_rows_through_mapping_and_staging(admin_user, external):
    source = mapped_source(admin_user, external)

    run = source_sync(source_id=source.pk, actor=admin_user)

    assert run is not None
    assert (run.kind, run.status, run.error) == ("database", "completed", "")
    assert (run.rows_done, run.total_rows) == (5, 5)
    assert (run.created_count, run.updated_count, run.quarantined_count) == (4, 0, 1)
    assert run.flagged_count == 1  # C-003's email is not an address
    assert names() == {
        ("Ada", "Lovelace"),
        ("Grace", "Hopper"),
        ("Alan", "Turing"),
        ("Katherine", "Johnson"),
    }
    ada = SourceRecord.objects.get(source=source, source_key="C-001")
    assert ada.payload == {
        "customer_no": "C-001",
        "full_name": "Ada Lovelace",
        "email": "ADA@Example.COM",
        "phone": "020 7946 0018",
        "birthday": "1815-12-10",
        "balance": "1250.50",
        "updated_at": "2024-01-01T09:00:00",
    }
    assert ada.line == 1
    assert emails_of(ada.contact) == ["ada@example.com"]
    assert ada.contact.date_of_birth == datetime.date(1815, 12, 10)
    assert list(ada.contact.phonenumbers.values_list("e164", flat=True)) == ["+442079460018"]
    # Same mark as C-001: the tie-breaker (the source key) puts C-002 second, every time.
    assert SourceRecord.objects.get(source=source, source_key="C-002").line == 2
    turing = SourceRecord.objects.get(source=source, source_key="C-003")
    assert turing.payload["updated_at"] == "2024-01-02T10:30:00.250000"
    assert turing.payload["balance"] == "-3.25"
    assert turing.payload["phone"] == ""
    assert SourceRecord.objects.get(source=source, source_key="C-002").payload["birthday"] == ""
    bad = QuarantinedRow.objects.get(run=run)
    assert (bad.line, bad.reason) == (4, "no_name")
    assert bad.raw["customer_no"] == "C-004"
    source.refresh_from_db()
    assert source.high_water_mark == "2024-01-04T09:00:00"
    assert run.high_water_mark == "2024-01-04T09:00:00"
    assert run.options["database"] == {
        "connection_env": ENV,
        "query": external.table,
        "high_water_column": "updated_at",
        "start_mark": "",
    }


def test_second_sync_pulls_only_newer_rows_and_updates_changed_ones(admin_user, external):
    source = mapped_source(admin_user, external)
    source_sync(source_id=source.pk, actor=admin_user)
    turing = SourceRecord.objects.get(source=source, source_key="C-003").contact
    external.insert(
        [("C-006", "Mary Jackson", "mary@example.com", None, None, None, T(2024, 2, 1, 12))]
    )
    external.execute(
        f"UPDATE {external.table} SET email = %s, updated_at = %s WHERE customer_no = %s",
        ("alan@example.com", T(2024, 2, 2), "C-003"),
    )

    run = source_sync(source_id=source.pk, actor=admin_user)

    assert run is not None and run.status == "completed"
    assert run.options["database"]["start_mark"] == "2024-01-04T09:00:00"
    # C-005 has the very mark the first sync reached: read again, it changes nothing.
    assert (run.rows_done, run.total_rows) == (3, 3)
    assert (run.created_count, run.updated_count, run.unchanged_count) == (1, 1, 1)
    turing.refresh_from_db()
    assert emails_of(turing) == ["alan@example.com"]
    assert Contact.objects.count() == 5
    source.refresh_from_db()
    assert source.high_water_mark == "2024-02-02T00:00:00"
    assert run.high_water_mark == "2024-02-02T00:00:00"

    # Nothing changed since: the sync reads the row at the mark again and changes nothing.
    versions = dict(Contact.objects.values_list("pk", "version"))
    quiet = source_sync(source_id=source.pk, actor=admin_user)
    assert quiet is not None and quiet.status == "completed"
    assert (quiet.rows_done, quiet.unchanged_count) == (1, 1)
    assert (quiet.created_count, quiet.updated_count) == (0, 0)
    assert dict(Contact.objects.values_list("pk", "version")) == versions
    source.refresh_from_db()
    assert source.high_water_mark == "2024-02-02T00:00:00"
    assert quiet.high_water_mark == "2024-02-02T00:00:00"

    # A row whose mark moved but whose mapped values did not leaves its contact alone.
    external.execute(
        f"UPDATE {external.table} SET updated_at = %s WHERE customer_no = %s",
        (T(2024, 3, 1), "C-005"),
    )
    touched = source_sync(source_id=source.pk, actor=admin_user)
    assert touched is not None and touched.rows_done == 2  # C-003 at the mark, and C-005
    assert (touched.created_count, touched.updated_count, touched.unchanged_count) == (0, 1, 1)
    assert dict(Contact.objects.values_list("pk", "version")) == versions


def test_resumed_run_reads_the_same_rows_and_duplicates_nothing(admin_user, external):
    source = mapped_source(admin_user, external)
    external.insert(
        [
            (f"D-{i:03}", f"Person Number{i}", f"p{i}@example.com", None, None, None,
             T(2024, 1, 10, 9, i))
            for i in range(1, 6)
        ]
    )  # fmt: skip

    class Killed(BaseException):
        """The process dies after the first committed batch."""

    def die(run: ImportRun) -> None:
        raise Killed

    with pytest.raises(Killed):
        source_sync(source_id=source.pk, actor=admin_user, progress=die, batch_size=3)
    gc.collect()
    run = ImportRun.objects.get(source=source)
    assert (run.status, run.rows_done, run.total_rows) == ("running", 3, 10)
    assert SourceRecord.objects.filter(source=source).count() == 3
    # Meanwhile the source changes its mark setting and gains a row; the run keeps its own.
    Source.objects.filter(pk=source.pk).update(high_water_mark="2024-01-05T00:00:00")
    external.insert([("E-001", "Late Comer", None, None, None, None, T(2024, 5, 1))])

    run = services.import_process(run.pk, force=True, batch_size=3)

    # Eleven rows, and the last one written before the crash once more (unchanged).
    assert (run.status, run.rows_done) == ("completed", 12)
    assert (run.created_count, run.quarantined_count) == (10, 1)
    assert SourceRecord.objects.filter(source=source).count() == 10
    assert Contact.objects.count() == 10
    keys = list(SourceRecord.objects.filter(source=source).values_list("source_key", flat=True))
    assert len(keys) == len(set(keys))
    assert run.high_water_mark == "2024-05-01T00:00:00"
    # Another run moved the source's mark meanwhile: this one leaves it where it is.
    source.refresh_from_db()
    assert source.high_water_mark == "2024-01-05T00:00:00"


def test_sync_without_high_water_column_reads_everything_again(admin_user, postgres_table):
    source = mapped_source(admin_user, postgres_table, high_water_column="")
    first = source_sync(source_id=source.pk, actor=admin_user)
    second = source_sync(source_id=source.pk, actor=admin_user)
    assert first is not None and second is not None
    assert (first.rows_done, first.created_count) == (5, 4)
    assert (second.rows_done, second.created_count, second.unchanged_count) == (5, 0, 4)
    source.refresh_from_db()
    assert source.high_water_mark == ""


def test_select_query_with_percent_sign_and_trailing_comment(admin_user, external):
    source = mapped_source(
        admin_user,
        external,
        query=(
            f"SELECT customer_no, full_name, email, phone, birthday, balance, updated_at\n"
            f"FROM {external.table} WHERE email LIKE '%@%'; -- people with an email"
        ),
    )
    run = source_sync(source_id=source.pk, actor=admin_user)
    assert run is not None and run.status == "completed"
    assert run.rows_done == 3  # C-003's email has no @, C-005 has none
    assert run.created_count == 2  # C-004 has no name


def test_sync_is_skipped_while_a_run_of_the_source_is_active(admin_user, postgres_table):
    source = mapped_source(admin_user, postgres_table)
    ImportRun.objects.create(source=source, kind="database", status="running")
    assert source_sync(source_id=source.pk, actor=admin_user) is None
    assert source.runs.count() == 1


def test_sync_needs_a_mapping_first(admin_user, postgres_table):
    source = make_source(admin_user, postgres_table)
    with pytest.raises(ValidationError, match="Map the columns of Billing DB"):
        source_sync(source_id=source.pk, actor=admin_user)
    assert source.runs.count() == 0


def test_scheduled_sync_acts_for_the_person_who_set_the_source_up(admin_user, postgres_table):
    source = mapped_source(admin_user, postgres_table, sync_every_minutes=30)
    tasks.periodic()
    run = ImportRun.objects.get(source=source)
    assert (run.status, run.rows_done, run.created_by) == ("completed", 5, admin_user)
    source.refresh_from_db()
    assert source.next_sync_at is not None
    tasks.periodic()  # not due again yet
    assert ImportRun.objects.filter(source=source).count() == 1


# --- the mapping step -------------------------------------------------------------------------


def test_test_connection_previews_columns_and_rows(admin_user, external):
    source = make_source(admin_user, external, high_water_column="UPDATED_AT")
    result = source_test_connection(actor=admin_user, source=source)
    assert result["columns"] == [
        "customer_no",
        "full_name",
        "email",
        "phone",
        "birthday",
        "balance",
        "updated_at",
    ]
    assert len(result["rows"]) == 5
    assert {r["customer_no"] for r in result["rows"]} == {f"C-00{i}" for i in range(1, 6)}
    assert result["high_water_column"] == "updated_at"
    assert result["dialect"] == external.dialect
    assert result["database"] == external.url  # the URL has no password to hide here


def test_test_connection_of_an_unsaved_source_needs_add_permission(rep_north, postgres_table):
    source = Source(kind="database", connection_env=ENV, query=postgres_table.table)
    with pytest.raises(Exception, match="may not"):
        source_test_connection(actor=rep_north, source=source)


def test_draft_run_reuses_the_file_mapping_screen(admin_user, postgres_table):
    source = make_source(admin_user, postgres_table)
    suggested = database_mapping_suggest(source)
    assert {c["column"]: c["target"] for c in suggested}["email"] == "email"
    assert {c["column"]: c["target"] for c in suggested}["full_name"] == "contact.full_name"

    run = database_run_start(actor=admin_user, source=source)
    assert (run.status, run.kind) == ("draft", "database")
    assert run.columns == suggested
    preview = services.import_preview(run, rows=3)
    assert preview.columns[:3] == ["customer_no", "full_name", "email"]
    assert [line for line, _ in preview.rows] == [1, 2, 3]
    assert run.options == {}  # the draft reads the source's current settings

    run = services.import_configure(actor=admin_user, run=run, columns=MAPPING)
    services.import_enqueue(actor=admin_user, run=run, background=False)
    done = services.import_process(run.pk)
    assert (done.status, done.rows_done, done.created_count) == ("completed", 5, 4)
    source.refresh_from_db()
    assert source.high_water_mark == "2024-01-04T09:00:00"


# --- failures ---------------------------------------------------------------------------------


def test_unset_variable_fails_the_run_with_a_clear_message_and_it_resumes(
    admin_user, postgres_table, monkeypatch
):
    source = mapped_source(admin_user, postgres_table)
    monkeypatch.delenv(ENV)
    with pytest.raises(ValidationError, match=f"environment variable {ENV} is not set"):
        source_sync(source_id=source.pk, actor=admin_user)
    run = ImportRun.objects.get(source=source)
    assert run.status == "failed"
    assert f"{ENV} is not set" in run.error
    assert Contact.objects.count() == 0

    monkeypatch.setenv(ENV, postgres_table.url)
    run = services.import_resume(actor=admin_user, run=run, now=True)
    assert (run.status, run.rows_done, run.created_count) == ("completed", 5, 4)


@pytest.mark.parametrize(
    ("url", "message"),
    [
        ("sqlite:///tmp/billing.db", f"{ENV} does not hold a PostgreSQL"),
        ("postgresql://postgres@127.0.0.1:1/nothing", "Patron cannot connect to postgresql://"),
        ("mysql://root@127.0.0.1:1/nothing", "Patron cannot connect to mysql://root@127.0.0.1:1"),
    ],
)
def test_unusable_url_fails_the_run_with_a_clear_message(
    admin_user, postgres_table, monkeypatch, url, message
):
    source = mapped_source(admin_user, postgres_table)
    monkeypatch.setenv(ENV, url)
    with pytest.raises(ValidationError, match=message):
        source_sync(source_id=source.pk, actor=admin_user)
    run = ImportRun.objects.get(source=source)
    assert run.status == "failed"
    assert message in run.error


def test_password_is_not_shown_in_messages(admin_user, postgres_table, monkeypatch):
    source = mapped_source(admin_user, postgres_table)
    monkeypatch.setenv(ENV, "postgresql://patron:s3cret-pw@127.0.0.1:1/billing")
    with pytest.raises(ValidationError) as caught:
        source_sync(source_id=source.pk, actor=admin_user)
    assert "s3cret-pw" not in str(caught.value)
    assert "s3cret-pw" not in ImportRun.objects.get(source=source).error


def test_bad_query_fails_the_run_with_the_database_message(admin_user, external):
    source = mapped_source(
        admin_user, external, query=f"SELECT nope, customer_no FROM {external.table}"
    )
    with pytest.raises(ValidationError, match="query failed on"):
        source_sync(source_id=source.pk, actor=admin_user)
    run = ImportRun.objects.get(source=source)
    assert run.status == "failed"
    assert "nope" in run.error
    assert Contact.objects.count() == 0


def test_missing_high_water_column_is_named(admin_user, postgres_table):
    source = mapped_source(admin_user, postgres_table, high_water_column="changed_at")
    with pytest.raises(ValidationError, match="no column 'changed_at'"):
        source_sync(source_id=source.pk, actor=admin_user)
    assert ImportRun.objects.get(source=source).status == "failed"


@pytest.mark.parametrize(
    ("field", "value", "message"),
    [
        ("high_water_column", "updated_at; DROP TABLE x", "is not a column name"),
        ("high_water_column", 'updated_at" > 0 OR "1', "is not a column name"),
        ("query", "SELECT * FROM t; DROP TABLE t", "single statement"),
        ("query", "SELECT 'a\\', '; DROP TABLE t; -- '", "single statement"),
        ("query", "DELETE FROM t", "starting with SELECT"),
        ("query", "WITH gone AS (DELETE FROM t RETURNING *) SELECT * FROM gone", "'DELETE'"),
        ("query", "SELECT * INTO copy_of_t FROM t", "'INTO'"),
        ("connection_env", "BILLING URL", "not an environment variable name"),
    ],
)
def test_injection_attempts_are_rejected_before_anything_runs(
    admin_user, postgres_table, field, value, message
):
    source = mapped_source(admin_user, postgres_table)
    Source.objects.filter(pk=source.pk).update(**{field: value})
    with pytest.raises(ValidationError, match=message):
        source_sync(source_id=source.pk, actor=admin_user)
    assert source.runs.count() == 0
    assert postgres_table.execute(f"SELECT count(*) FROM {postgres_table.table}") == [(5,)]


def test_validate_database_source_reports_each_field():
    source = Source(kind="database", connection_env="", query="", high_water_column="a b")
    with pytest.raises(ValidationError) as caught:
        databases.validate_database_source(source)
    assert set(caught.value.message_dict) == {"connection_env", "query", "high_water_column"}


# --- scheduling -------------------------------------------------------------------------------


def test_sources_due_moves_each_due_source_forward(admin_user):
    now = datetime.datetime(2024, 6, 1, 12, 0, tzinfo=datetime.UTC)

    def source(name: str, **data: Any) -> Source:
        created = services.source_create(
            actor=admin_user,
            data={"name": name, "kind": "database", "connection_env": ENV, "query": "t", **data},
        )
        services.mapping_save(actor=admin_user, source=created, columns=MAPPING, options={})
        Source.objects.filter(pk=created.pk).update(next_sync_at=data.get("next_sync_at"))
        return created

    never_run = source("Never run", sync_every_minutes=15)
    overdue = source(
        "Overdue", sync_every_minutes=60, next_sync_at=now - datetime.timedelta(minutes=1)
    )
    later = source("Later", sync_every_minutes=5, next_sync_at=now + datetime.timedelta(hours=1))
    source("Manual only")
    unmapped = services.source_create(
        actor=admin_user,
        data={"name": "Unmapped", "kind": "database", "sync_every_minutes": 5},
    )
    files = services.source_create(actor=admin_user, data={"name": "Files"})
    Source.objects.filter(pk=files.pk).update(sync_every_minutes=5)

    assert sorted(sources_due(now)) == sorted([never_run.pk, overdue.pk])
    assert Source.objects.get(pk=never_run.pk).next_sync_at == now + datetime.timedelta(minutes=15)
    assert Source.objects.get(pk=overdue.pk).next_sync_at == now + datetime.timedelta(hours=1)
    assert sources_due(now) == []
    assert sources_due(now + datetime.timedelta(minutes=16)) == [never_run.pk]
    assert sorted(sources_due(now + datetime.timedelta(hours=2))) == sorted(
        [never_run.pk, overdue.pk, later.pk]
    )
    assert Source.objects.get(pk=unmapped.pk).next_sync_at is None


# --- values and CLI ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("value", "text"),
    [
        (None, ""),
        ("  Ada\x00 ", "Ada"),
        (True, "true"),
        (datetime.date(2024, 1, 2), "2024-01-02"),
        (datetime.datetime(2024, 1, 2, 3, 4, 5), "2024-01-02T03:04:05"),
        (datetime.datetime(2024, 1, 2, 3, 4, tzinfo=datetime.UTC), "2024-01-02T03:04:00+00:00"),
        (decimal.Decimal("1E+3"), "1000"),
        (decimal.Decimal("12.50"), "12.50"),
        (3.0, "3"),
        (2.5, "2.5"),
        (b"caf\xc3\xa9", "café"),
        (b"\xff\x00", "ff00"),
        ({"tier": "gold"}, '{"tier": "gold"}'),
        (uuid.UUID(int=1), "00000000-0000-0000-0000-000000000001"),
    ],
)
def test_values_become_text_as_a_file_would_hold_them(value, text):
    assert as_text(value) == text


def test_cli_sync_now_with_progress_and_queued(admin_user, postgres_table):
    source = mapped_source(admin_user, postgres_table)
    out = StringIO()
    call_command("sync", source.name, "--now", "--no-progress", stdout=out)
    assert "Sync of Billing DB" in out.getvalue()
    assert "5 rows · 4 created" in out.getvalue()

    postgres_table.insert([("C-009", "New Person", None, None, None, None, T(2025, 1, 1))])
    out = StringIO()
    call_command("sync", source.name, stdout=out)  # queued; the test backend runs it at once
    assert "queued" in out.getvalue()
    queued = ImportRun.objects.filter(source=source).latest("pk")
    # C-009, and C-005 again (it has the mark the first sync reached): nothing else is read.
    assert (queued.status, queued.rows_done, queued.created_count) == ("completed", 2, 1)


def test_cli_sync_reports_errors_without_a_traceback(admin_user, postgres_table, monkeypatch):
    from django.core.management.base import CommandError

    source = mapped_source(admin_user, postgres_table)
    monkeypatch.delenv(ENV)
    with pytest.raises(CommandError, match=f"{ENV} is not set"):
        call_command("sync", source.name, "--now", "--no-progress", stdout=StringIO())
    with pytest.raises(CommandError, match="No source named 'Nope'"):
        call_command("sync", "Nope", "--now", stdout=StringIO())


def test_mapping_page_says_when_the_database_cannot_be_reached(
    admin_user, postgres_table, monkeypatch, client
):
    from django.urls import reverse

    source = make_source(admin_user, postgres_table)
    run = database_run_start(actor=admin_user, source=source)
    monkeypatch.setenv(ENV, "postgresql://postgres@127.0.0.1:1/nothing")
    client.force_login(admin_user)
    page = client.get(reverse("import_map", args=[run.pk]))
    assert page.status_code == 200
    assert "Patron cannot connect to postgresql://" in page.content.decode()
